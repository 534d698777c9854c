// Compiled (not run) by the installed-package test: the package's public names, as an app's
// strict TypeScript sees them from the shipped declarations.
import {
  BTree,
  Database,
  openDatabase,
  Persistent,
  WriteConflictError,
  type ChangeEvent,
  type Connection,
} from 'shelfdb';
import { MemoryStorage, ShelfStorage, MemoryBlockDirectory, serveStorage } from 'shelfdb/storage';

export class Note extends Persistent {
  static _p_name = 'app.Note';
  text = '';
  tags: string[] = [];
}

export async function typed(): Promise<number> {
  const db = await openDatabase('typed', {
    classes: [Note],
    cacheSize: 100,
    durability: 'relaxed',
  });
  const conn: Connection = db.open();
  conn.addEventListener('change', (event) => {
    const oids: readonly number[] = (event as ChangeEvent).oids;
    void oids;
  });
  const byTitle = new BTree<string, Note>();
  (await conn.root()).set('notes', byTitle);
  await byTitle.set('a', new Note());
  for await (const [key, note] of byTitle.entries({ min: 'a' })) void [key.length, note.text];
  try {
    return await conn.commit({ note: 'typed' });
  } catch (error) {
    if (error instanceof WriteConflictError) return error.oids.length;
    throw error;
  }
}

export async function storages(): Promise<Database[]> {
  const shelf = await ShelfStorage.open(new MemoryBlockDirectory());
  void serveStorage;
  return [new Database(new MemoryStorage()), new Database(shelf)];
}

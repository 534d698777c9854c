/**
 * The storage kinds the backup and restore tests run on in Node — memory, 'file' (a temporary
 * directory) and IndexedDB (fake-indexeddb) — and what a database looks like to a reader, so a
 * restored database can be compared whole with its source.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { Database, openDatabase } from '../src/index.js';
import { archiveBytes } from '../src/archive/snarf.js';
import { restoreDatabase, restoreInto } from '../src/archive/restore.js';
import type {
  LoadedRecord,
  RevisionInfo,
  Storage,
  TransactionInfo,
} from '../src/shared/storage.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { CLASSES, todo, type Todo } from './fixtures.js';

/** A storage kind: how to make a fresh database of it and restore a backup into a new one. */
export interface Kind {
  name: 'memory' | 'file' | 'indexeddb';
  /** A new, empty database. */
  fresh(): Promise<Database>;
  /** A new database restored from `backup`. */
  restore(backup: Uint8Array | ReadableStream<Uint8Array>): Promise<Database>;
}

/** The three kinds; 'file' databases live under `scratch`, removed by `cleanup`. */
export function kinds(): { kinds: Kind[]; scratch: string; cleanup: () => void } {
  const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-backup-'));
  let n = 0;
  const idb = (): Promise<Storage> =>
    IndexedDBStorage.open(`backup-${n++}`, { indexedDB: new IDBFactory(), IDBKeyRange });
  const list: Kind[] = [
    {
      name: 'memory',
      fresh: () => openDatabase(`m${n++}`, { storage: 'memory', classes: CLASSES }),
      restore: (backup) =>
        restoreDatabase(`m${n++}`, backup, { storage: 'memory', classes: CLASSES }),
    },
    {
      name: 'file',
      fresh: () =>
        openDatabase('f', { storage: 'file', path: join(scratch, `f${n++}`), classes: CLASSES }),
      restore: (backup) =>
        restoreDatabase('f', backup, {
          storage: 'file',
          path: join(scratch, `f${n++}`),
          classes: CLASSES,
        }),
    },
    {
      name: 'indexeddb',
      fresh: async () => new Database(await idb(), { classes: CLASSES }),
      // openDatabase reaches IndexedDB in browsers only: here the storage is made by hand.
      restore: async (backup) => {
        const storage = await idb();
        await restoreInto(storage, backup);
        return new Database(storage, { classes: CLASSES });
      },
    },
  ];
  return { kinds: list, scratch, cleanup: () => rmSync(scratch, { recursive: true, force: true }) };
}

/** The whole backup of `db`, as bytes. */
export function backupBytes(db: Database, gzip = false): Promise<Uint8Array> {
  return archiveBytes(db.backup({ gzip }));
}

/** Everything a reader can see of a database: transactions, every object's history, its state. */
export interface Dump {
  transactions: TransactionInfo[];
  history: Record<number, RevisionInfo[]>;
  current: LoadedRecord[];
}

/**
 * The dump of `db` up to `upTo` (default: all). `listedOids` false leaves the oids and bytes of
 * each transaction out: what a storage lists of revisions pack removed differs by kind.
 */
export async function dump(db: Database, upTo = Infinity, listedOids = true): Promise<Dump> {
  const transactions: TransactionInfo[] = [];
  for await (const info of db.transactions(upTo === Infinity ? {} : { before: upTo + 1 }))
    transactions.unshift(info);
  const oids = [...new Set(transactions.flatMap((t) => t.oids))].sort((a, b) => a - b);
  const history: Record<number, RevisionInfo[]> = {};
  for (const oid of oids) {
    const revisions = (await db.storage.history(oid)).filter((r) => r.tid <= upTo);
    if (revisions.length > 0) history[oid] = revisions;
  }
  const at = transactions.at(-1)?.tid ?? 0;
  const current = at === 0 ? [] : await db.storage.load(oids, at);
  if (!listedOids) {
    for (const t of transactions) {
      t.oids = [];
      t.bytes = 0;
    }
  }
  return { transactions, history, current };
}

/**
 * A small history: the root, two todos, changes with notes, users and meta, a todo removed from
 * the root, and an undo. Resolves to the connection used.
 */
export async function writeHistory(db: Database): Promise<void> {
  const conn = db.open();
  const root = await conn.root();
  const a = todo('a', { tags: ['x'] });
  const b = todo('b');
  root.set('a', a);
  root.set('b', b);
  await conn.commit({ note: 'two todos', user: 'ann', meta: { n: 1, nested: { ok: true } } });
  a.title = 'a2';
  a.done = true;
  await conn.commit({ note: 'a done' });
  root.set('big', todo('x'.repeat(3000)));
  await conn.commit({ user: 'bob' });
  b.title = 'b2';
  const changed = await conn.commit({ note: 'b renamed' });
  await db.undo(changed, { note: 'undo rename', meta: { why: 'test' } });
  await conn.sync();
  root.delete('big');
  const a2 = root.get('a') as Todo;
  a2.tags = [...a2.tags, 'y'];
  await conn.commit({ note: 'drop big' });
  conn.close();
}

/** The peers' small commits, one object each, at either durability: IndexedDB (idb) and Dexie. */
import { openDB } from 'idb';
import Dexie from 'dexie';
import { fields } from './records.js';

/** `n` IndexedDB transactions of one put each; the time in ms. */
export async function idbSmall(
  name: string,
  n: number,
  durability: 'strict' | 'relaxed',
): Promise<number> {
  const db = await openDB(name, 1, { upgrade: (d) => void d.createObjectStore('t') });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const tx = db.transaction('t', 'readwrite', { durability });
    void tx.store.put({ ...fields(1), priority: i }, 1);
    await tx.done;
  }
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

/** `n` Dexie puts of one row each; the time in ms. */
export async function dexieSmall(
  name: string,
  n: number,
  durability: 'strict' | 'relaxed',
): Promise<number> {
  const db = new Dexie(name, { chromeTransactionDurability: durability });
  db.version(1).stores({ t: 'id' });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await db.table('t').put({ ...fields(1), priority: i });
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

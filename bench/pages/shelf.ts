/**
 * shelfdb's side of the benchmark workloads, shared by the cases of every page module: the record
 * class, a bulk commit into a BTree, cold batched reads and a run of small commits.
 */
import {
  BTree,
  openDatabase,
  Persistent,
  registerClass,
  type Database,
  type OpenOptions,
} from 'shelfdb';
import { fields } from './records.js';

/** The benchmark's record (records.ts `fields`) as a persistent object. */
export class Rec extends Persistent {
  id = 0;
  title = '';
  done = false;
  priority = 0;
  tags: string[] = [];
  created = 0;
  note = '';
}
registerClass(Rec, 'bench.Rec');

/** Keys per read transaction in every system's batched reads. */
export const BATCH = 100;

/** A new record with the fields of key `id`. */
export const rec = (id: number): Rec => Object.assign(new Rec(), fields(id));

/**
 * Commits `n` records into a new BTree under root 'recs', in one transaction; the time is from
 * the first insert to the commit's answer.
 */
export async function shelfBulk(
  name: string,
  n: number,
  options: OpenOptions = { storage: 'opfs' },
): Promise<{ ms: number; db: Database }> {
  const db = await openDatabase(name, options);
  const conn = db.open();
  const t0 = performance.now();
  const tree = new BTree<number, Rec>();
  (await conn.root()).set('recs', tree);
  for (let i = 1; i <= n; i++) await tree.set(i, rec(i));
  await conn.commit();
  return { ms: performance.now() - t0, db };
}

/** Reads `n` random records in batches of 100 through a cold connection, each batch a transaction. */
export async function shelfReads(db: Database, keys: number[]): Promise<number> {
  const conn = db.open();
  const tree = await conn.load((await conn.root()).get('recs') as BTree<number, Rec>);
  let sum = 0;
  const t0 = performance.now();
  for (let i = 0; i < keys.length; i += BATCH) {
    const batch = keys.slice(i, i + BATCH);
    await conn.transact(async () => {
      for (const r of await tree.getMany(batch)) sum += (r as Rec).priority;
    });
  }
  if (sum < 0) throw new Error('unreachable');
  return performance.now() - t0;
}

/**
 * `n` commits of one object (its `priority` changed each time) through a database opened with
 * `options`; the time excludes opening and the first commit, which stores the object.
 */
export async function shelfSmall(name: string, n: number, options: OpenOptions): Promise<number> {
  const db = await openDatabase(name, options);
  const conn = db.open();
  const root = await conn.root();
  const r = rec(1);
  root.set('rec', r);
  await conn.commit();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    r.priority = i;
    await conn.commit();
  }
  const ms = performance.now() - t0;
  await db.close();
  return ms;
}

/** The JS heap in bytes after a full gc (the page runs with --expose-gc); NaN without the API. */
export function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return (
    (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ??
    NaN
  );
}

/**
 * What the IndexedDBStorage pack tests share (indexeddb-pack.test.ts, indexeddb-pack-serving.test.ts):
 * fresh storages on fake-indexeddb, a second connection to their database, exact stats recounted
 * from the stores, records and a half-garbage database.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { expect } from 'vitest';
import { ROOT_OID, type Storage, type StoredRecord } from '../src/shared/storage.js';
import type { PackDatabase } from '../worker/indexeddb-pack.js';
import { requested } from '../worker/indexeddb-newest.js';
import { IndexedDBStorage, type IndexedDBPlatform } from '../worker/indexeddb-storage.js';

/** Time for a long test (a big database, many runs) on a machine shared by others. */
export const BIG = 60_000;

export const platformOf = (): IndexedDBPlatform => ({ indexedDB: new IDBFactory(), IDBKeyRange });
let names = 0;

/** A fresh storage, with what reopening it and a second connection to its database need. */
export async function fresh(): Promise<{
  s: IndexedDBStorage;
  platform: IndexedDBPlatform;
  name: string;
}> {
  const platform = platformOf();
  const name = `pack-${names++}`;
  return { s: await IndexedDBStorage.open(name, platform), platform, name };
}

/** A second, raw connection to the storage's database (as another tab's would be). */
export async function connect(platform: IndexedDBPlatform, name: string): Promise<IDBDatabase> {
  const request = platform.indexedDB.open(`shelfdb:${name}`);
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('open failed'));
  });
}

/** The raw connection as the pack module's database. */
export const packDatabase = (db: IDBDatabase): PackDatabase => ({
  begin: (mode) => db.transaction(['records', 'txns', 'meta'], mode),
  keys: IDBKeyRange,
});

/** What the records store holds, counted: bytes, garbage (all but each newest), objects. */
export async function recount(
  db: IDBDatabase,
): Promise<{ bytes: number; garbageBytes: number; objects: number; tids: Map<number, number[]> }> {
  const store = db.transaction('records').objectStore('records');
  const [keys, values] = await Promise.all([
    requested(store.getAllKeys()) as Promise<[number, number][]>,
    requested(store.getAll()) as Promise<{ state: Uint8Array }[]>,
  ]);
  const tids = new Map<number, number[]>();
  let bytes = 0;
  let garbageBytes = 0;
  keys.forEach(([oid, tid], i) => {
    const size = (values[i] as { state: Uint8Array }).state.byteLength;
    bytes += size;
    if ((keys[i + 1] as [number, number] | undefined)?.[0] === oid) garbageBytes += size;
    tids.set(oid, [...(tids.get(oid) ?? []), tid]);
  });
  return { bytes, garbageBytes, objects: tids.size, tids };
}

/** The stats of `s` match what its records store holds. */
export async function expectExactStats(s: IndexedDBStorage, db: IDBDatabase): Promise<void> {
  const stats = await s.stats();
  const counted = await recount(db);
  expect({ bytes: stats.bytes, garbageBytes: stats.garbageBytes, objects: stats.objects }).toEqual({
    bytes: counted.bytes,
    garbageBytes: counted.garbageBytes,
    objects: counted.objects,
  });
}

/** A record of `oid` whose state is `size` bytes of `byte`. */
export const rec = (oid: number, refs: number[], byte = 1, size = 1): StoredRecord => ({
  oid,
  className: 'test.Node',
  state: new Uint8Array(size).fill(byte),
  refs,
});

/** Commits `records` blindly on the newest snapshot. */
export async function put(s: Storage, ...records: StoredRecord[]): Promise<number> {
  const { tid } = await s.sync(0);
  return s.commit({ baseTid: tid, records });
}

/**
 * A database of `n` objects (and the root): the even ones reachable from the root, the odd ones
 * garbage since the second commit (interleaved: every sweep chunk finds some). Returns the tids.
 */
export async function halfGarbage(
  s: Storage,
  n: number,
): Promise<{ all: number; half: number; live: number[] }> {
  const oids = await s.newOids(n);
  const bytes = (oid: number): StoredRecord => rec(oid, [], oid % 250, 16);
  const all = await put(s, rec(ROOT_OID, oids), ...oids.map(bytes));
  const live = oids.filter((oid) => oid % 2 === 0);
  const half = await put(s, rec(ROOT_OID, live, 2));
  return { all, half, live };
}

/**
 * The blob benchmark's cases (bench/blobs.mjs runs them through blobs-page.ts): one Blob of
 * `bytes` bytes made in the page (blob-data.ts), written or read by shelfdb (its OPFS storage in
 * its worker, and its IndexedDB storage), by raw OPFS (a writable stream from the page; a sync
 * access handle in a worker: the platform limit) and by IndexedDB storing the Blob natively. Each
 * result has `ms` (the timed part only: making the Blob, opening databases and checking what was
 * stored or read are not in it) and `bytes`.
 *
 * A read case stores its Blob in a setup phase; the runner reloads the page before the timed
 * phase, so nothing of the write is still in the page.
 */
import { openDB } from 'idb';
import { openDatabase, type OpenOptions } from 'shelfdb';
import { checkRead, makeBlob, readStream } from './blob-data.js';

/** What a case returns: numbers only. */
export type BlobResult = Record<string, number>;
/** A case: a Blob of `bytes` bytes, the run's number (each run its own names and bytes). */
export type BlobCase = (
  bytes: number,
  run: number,
  phase: 'setup' | 'timed',
) => Promise<BlobResult>;
/** A call to the blob worker (blob-worker.ts): its op, the Blob, a file name. */
export type AskWorker = (
  op: string,
  blob: Blob,
  name?: string,
) => Promise<{ ms: number; bytes: number; hash?: string }>;

/** What `db.blobs.get` gives back (a StoredBlob): its platform file, read lazily. */
type Stored = Blob & { file(): Promise<Blob>; readonly hash: string };

/** The key every case names its Blob by. */
const KEY = 'bench';
const OPFS: OpenOptions = { storage: 'opfs' };
const IDB: OpenOptions = { storage: 'indexeddb' };

/** The seed of a run's bytes: a setup and its timed phase share it, no two runs do. */
const seedOf = (run: number): number => run + 1;

/** shelfdb: `db.blobs.put` + `commit()`, timed from the put to the commit's answer. */
async function shelfWrite(
  name: string,
  options: OpenOptions,
  bytes: number,
  run: number,
): Promise<BlobResult> {
  const blob = makeBlob(bytes, seedOf(run));
  const db = await openDatabase(name, options);
  const conn = db.open();
  await conn.root();
  const t0 = performance.now();
  await db.blobs.put(conn, KEY, blob);
  await conn.commit();
  const ms = performance.now() - t0;
  const { blobBytes } = await db.stats();
  const stored = await db.blobs.get(db.open(), KEY);
  await db.close();
  if (stored?.size !== bytes || blobBytes < bytes)
    throw new Error(`${name}: stored ${stored?.size} bytes (blobBytes ${blobBytes}), put ${bytes}`);
  return { ms, bytes };
}

/** The read cases' setup: the run's Blob under KEY, committed; the database closed. */
async function shelfStore(
  name: string,
  options: OpenOptions,
  bytes: number,
  run: number,
): Promise<BlobResult> {
  const db = await openDatabase(name, options);
  const conn = db.open();
  await db.blobs.put(conn, KEY, makeBlob(bytes, seedOf(run)));
  await conn.commit();
  await db.close();
  return { ms: 0, bytes };
}

/**
 * shelfdb: `get`, then its bytes through `stream()`: of `await stored.file()` (the platform's
 * file) or, `direct`, of the StoredBlob itself; timed from the get.
 */
async function shelfReadStream(
  name: string,
  options: OpenOptions,
  bytes: number,
  run: number,
  direct = false,
): Promise<BlobResult> {
  const db = await openDatabase(name, options);
  const conn = db.open();
  await conn.root();
  const t0 = performance.now();
  const stored = (await db.blobs.get(conn, KEY)) as Stored;
  const { size, head } = await readStream(direct ? stored : await stored.file());
  const ms = performance.now() - t0;
  await db.close();
  checkRead(name, head, size, bytes, seedOf(run));
  return { ms, bytes };
}

/** shelfdb: `get`, then the StoredBlob's own `arrayBuffer()` (read through the storage). */
async function shelfReadBuffer(
  name: string,
  options: OpenOptions,
  bytes: number,
  run: number,
): Promise<BlobResult> {
  const db = await openDatabase(name, options);
  const conn = db.open();
  await conn.root();
  const t0 = performance.now();
  const stored = (await db.blobs.get(conn, KEY)) as Stored;
  const all = new Uint8Array(await stored.arrayBuffer());
  const ms = performance.now() - t0;
  await db.close();
  checkRead(name, all, all.byteLength, bytes, seedOf(run));
  return { ms, bytes };
}

/** The OPFS folder the raw cases write their files into. */
async function rawFolder(): Promise<FileSystemDirectoryHandle> {
  const root = await navigator.storage.getDirectory();
  return await root.getDirectoryHandle('raw-blobs', { create: true });
}

/** raw OPFS from the page: the Blob's stream piped into `createWritable()` (closed: in place). */
async function rawWritable(bytes: number, run: number): Promise<BlobResult> {
  const blob = makeBlob(bytes, seedOf(run));
  const t0 = performance.now();
  const file = await (await rawFolder()).getFileHandle(`blob-${run}`, { create: true });
  await blob.stream().pipeTo(await file.createWritable());
  const ms = performance.now() - t0;
  const size = (await file.getFile()).size;
  if (size !== bytes) throw new Error(`rawWritable: wrote ${size} bytes, not ${bytes}`);
  return { ms, bytes };
}

/** raw OPFS: `getFile()` then its `arrayBuffer()` or its `stream()` read to the end. */
async function rawRead(bytes: number, run: number, how: 'buffer' | 'stream'): Promise<BlobResult> {
  const folder = await rawFolder();
  const t0 = performance.now();
  const file = await (await folder.getFileHandle(`blob-${run}`)).getFile();
  const read =
    how === 'buffer'
      ? await file.arrayBuffer().then((b) => ({ size: b.byteLength, head: new Uint8Array(b) }))
      : await readStream(file);
  const ms = performance.now() - t0;
  checkRead(`raw OPFS ${how}`, read.head, read.size, bytes, seedOf(run));
  return { ms, bytes };
}

/** IndexedDB holding Blobs natively: one object store, the Blob as the value. */
const idbOpen = (run: number) =>
  openDB(`idb-blobs-${run}`, 1, { upgrade: (d) => void d.createObjectStore('blobs') });

/** IndexedDB: the Blob in one put, strict durability; timed to the transaction's completion. */
async function idbWrite(bytes: number, run: number): Promise<BlobResult> {
  const blob = makeBlob(bytes, seedOf(run));
  const db = await idbOpen(run);
  const t0 = performance.now();
  const tx = db.transaction('blobs', 'readwrite', { durability: 'strict' });
  void tx.store.put(blob, KEY);
  await tx.done;
  const ms = performance.now() - t0;
  const size = ((await db.get('blobs', KEY)) as Blob | undefined)?.size;
  db.close();
  if (size !== bytes) throw new Error(`idb: stored ${size} bytes, not ${bytes}`);
  return { ms, bytes };
}

/** IndexedDB: get (a disk-backed Blob), then its `arrayBuffer()`. */
async function idbRead(bytes: number, run: number): Promise<BlobResult> {
  const db = await idbOpen(run);
  const t0 = performance.now();
  const blob = (await db.get('blobs', KEY)) as Blob;
  const all = new Uint8Array(await blob.arrayBuffer());
  const ms = performance.now() - t0;
  db.close();
  checkRead('idb', all, all.byteLength, bytes, seedOf(run));
  return { ms, bytes };
}

/** A read case: its setup stores, its timed phase reads. */
const reading =
  (
    store: (bytes: number, run: number) => Promise<BlobResult>,
    read: (bytes: number, run: number) => Promise<BlobResult>,
  ): BlobCase =>
  (bytes, run, phase) =>
    phase === 'setup' ? store(bytes, run) : read(bytes, run);

/** A case the worker runs on a Blob made here; `ms` is the worker's own time. */
const inWorker =
  (ask: AskWorker, op: string): BlobCase =>
  async (bytes, run) => {
    const result = await ask(op, makeBlob(bytes, seedOf(run)), `blob-${run}`);
    if (result.bytes !== bytes) throw new Error(`${op}: ${result.bytes} bytes, not ${bytes}`);
    return { ms: result.ms, bytes };
  };

/** Every case, by name: `<system>.<workload>`. */
export function blobCases(ask: AskWorker): Record<string, BlobCase> {
  const shelfStoreOpfs = (bytes: number, run: number) =>
    shelfStore(`blobs-${run}`, OPFS, bytes, run);
  const shelfStoreIdb = (bytes: number, run: number) =>
    shelfStore(`blobs-idb-${run}`, IDB, bytes, run);
  return {
    'shelfdb.write': (bytes, run) => shelfWrite(`blob-write-${run}`, OPFS, bytes, run),
    'shelfdbIdb.write': (bytes, run) => shelfWrite(`blob-write-idb-${run}`, IDB, bytes, run),
    'rawWritable.write': (bytes, run) => rawWritable(bytes, run),
    // The limit, timed in the page: the Blob posted to the worker (a handle, no bytes copied), the
    // worker's write and flush, the answer.
    async 'rawSync.write'(bytes, run) {
      const blob = makeBlob(bytes, seedOf(run));
      const t0 = performance.now();
      const result = await ask('syncWrite', blob, `blob-${run}`);
      const ms = performance.now() - t0;
      if (result.bytes !== bytes) throw new Error(`syncWrite: ${result.bytes} bytes, not ${bytes}`);
      return { ms, inWorkerMs: result.ms, bytes };
    },
    'idb.write': (bytes, run) => idbWrite(bytes, run),

    'shelfdb.readStream': reading(shelfStoreOpfs, (b, r) =>
      shelfReadStream(`blobs-${r}`, OPFS, b, r),
    ),
    'shelfdb.readStoredStream': reading(shelfStoreOpfs, (b, r) =>
      shelfReadStream(`blobs-${r}`, OPFS, b, r, true),
    ),
    'shelfdb.readBuffer': reading(shelfStoreOpfs, (b, r) =>
      shelfReadBuffer(`blobs-${r}`, OPFS, b, r),
    ),
    'shelfdbIdb.readStream': reading(shelfStoreIdb, (b, r) =>
      shelfReadStream(`blobs-idb-${r}`, IDB, b, r),
    ),
    'shelfdbIdb.readStoredStream': reading(shelfStoreIdb, (b, r) =>
      shelfReadStream(`blobs-idb-${r}`, IDB, b, r, true),
    ),
    'shelfdbIdb.readBuffer': reading(shelfStoreIdb, (b, r) =>
      shelfReadBuffer(`blobs-idb-${r}`, IDB, b, r),
    ),
    'raw.readStream': reading(rawWritable, (b, r) => rawRead(b, r, 'stream')),
    'raw.readBuffer': reading(rawWritable, (b, r) => rawRead(b, r, 'buffer')),
    'idb.readBuffer': reading(idbWrite, idbRead),

    'worker.streamRead': inWorker(ask, 'streamRead'),
    'worker.nobleStream': inWorker(ask, 'nobleStream'),
    'worker.nobleMemory': inWorker(ask, 'nobleMemory'),
    'worker.subtleMemory': inWorker(ask, 'subtleMemory'),
  };
}

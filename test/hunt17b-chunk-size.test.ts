/**
 * Hunt 17b: an entry's `chunk` (the size of its chunks) is trusted by `read` when it is a positive
 * whole number. The store writes it only for a blob put whole (one chunk: `chunk` is the blob's
 * size); an entry whose `chunk` says some other size over chunks of 1 MiB places the chunk a
 * range lands in at the wrong offset, and when that chunk's length happens to match, `read`
 * answers bytes from elsewhere in the blob instead of failing as damaged.
 */
import 'fake-indexeddb/auto'; // idb checks requests against the global IDB classes
import { IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { BLOB_FILES, IndexedDBBlobStore } from '../worker/indexeddb-blob-store.js';
import { chunkedBlob, hashOf, patterned } from './blob-store-contract.js';
import { blobDatabase, done, entriesOf } from './indexeddb-blob-fixture.js';

const MIB = 1 << 20;

/** Sets `chunk` in the entry of `hash` (damage done on disk). */
async function setChunk(db: IDBDatabase, hash: string, chunk: number): Promise<void> {
  const [[, entry]] = (await entriesOf(db, BLOB_FILES)) as [[string, object]];
  const tx = db.transaction(BLOB_FILES, 'readwrite');
  tx.objectStore(BLOB_FILES).put({ ...entry, chunk }, hash);
  await done(tx);
}

/** What `read` answers: its bytes' hash, or the error's name and message. */
async function readOutcome(blobs: IndexedDBBlobStore, hash: string, start: number, end: number) {
  try {
    return { bytes: hashOf(await blobs.read(hash, start, end)) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe('an entry whose chunk size is not its chunks’ never reads as other bytes', () => {
  it('a blob in 1 MiB chunks whose entry says 2 MiB chunks reads its bytes or fails as damaged, never bytes from another offset', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(5 * MIB, 41);
    const { hash } = await blobs.put(chunkedBlob(bytes, MIB)); // streamed: 1 MiB chunks
    await setChunk(db, hash, 2 * MIB);
    const outcome = await readOutcome(blobs, hash, 4 * MIB, 5 * MIB);
    if ('bytes' in outcome) expect(outcome.bytes).toBe(hashOf(bytes.subarray(4 * MIB)));
    else expect(outcome.error).toMatch(/damaged/);
  });

  it('a blob in 1 MiB chunks whose entry says chunks of its last chunk’s length reads its bytes or fails as damaged', async () => {
    const db = await blobDatabase();
    const blobs = new IndexedDBBlobStore(db, IDBKeyRange);
    const bytes = patterned(MIB + 10, 42);
    const { hash } = await blobs.put(chunkedBlob(bytes, MIB));
    await setChunk(db, hash, 10);
    const outcome = await readOutcome(blobs, hash, 10, 20);
    if ('bytes' in outcome) expect(outcome.bytes).toBe(hashOf(bytes.subarray(10, 20)));
    else expect(outcome.error).toMatch(/damaged/);
  });
});

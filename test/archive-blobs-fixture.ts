/**
 * Blob records committed at the storage level (as the page's commit writes them: a blob file put
 * first, then a blob record and an owner whose refs name it), for the archive-blobs tests, and the
 * ways to read them back: by oid at any tid, as the page would.
 */
import { BLOB_CLASS, decodeBlobRecord, encodeBlobRecord } from '../src/shared/blob-record.js';
import type { Storage, Tid } from '../src/shared/storage.js';

/** The class of the owners the tests commit (their state is opaque bytes to the storage). */
export const OWNER_CLASS = 'test.BlobOwner';

/** What `commitBlobs` committed. */
export interface Committed {
  tid: Tid;
  owner: number;
  /** The blob records' oids, in the order given. */
  blobs: number[];
}

/**
 * Puts each of `contents` as a blob file and commits, in one transaction, a blob record for each
 * and an owner (oid `owner`, or a new one) referencing them all.
 */
export async function commitBlobs(
  storage: Storage,
  contents: (Uint8Array | string)[],
  owner?: number,
  note = '',
): Promise<Committed> {
  const { tid: baseTid } = await storage.sync(0);
  const oids = await storage.newOids(contents.length + (owner === undefined ? 1 : 0));
  const ownerOid = owner ?? (oids.pop() as number);
  const records = [];
  for (const [i, content] of contents.entries()) {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    const { hash, size } = await storage.putBlob(new Blob([bytes as Uint8Array<ArrayBuffer>]));
    // Blobs and Files, alternately.
    const name = i % 2 === 0 ? null : `file-${i}.bin`;
    const state = encodeBlobRecord({ hash, size, type: 'application/octet-stream', name });
    records.push({ oid: oids[i] as number, className: BLOB_CLASS, state, refs: [] });
  }
  records.push({
    oid: ownerOid,
    className: OWNER_CLASS,
    state: new TextEncoder().encode(`owner of ${oids.join(',')}`),
    refs: oids,
  });
  const tid = await storage.commit({ baseTid, records, note });
  return { tid, owner: ownerOid, blobs: oids };
}

/** The bytes of the blob the owner `owner` referenced at `tid` (its `index`th ref), whole. */
export async function ownedBlobAt(
  storage: Storage,
  owner: number,
  tid: Tid,
  index = 0,
): Promise<Uint8Array> {
  const [ownerRecord] = await storage.load([owner], tid);
  const oid = ownerRecord?.refs[index];
  if (oid === undefined) throw new Error(`owner ${owner} has no ref ${index} at ${tid}`);
  const [record] = await storage.load([oid], tid);
  const { hash, size } = decodeBlobRecord((record as { state: Uint8Array }).state);
  return storage.readBlob(hash, 0, size);
}

/** `size` bytes of a pattern that differs with `seed` (no two blobs of the tests alike). */
export function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 10)) & 0xff;
  return bytes;
}

/** `bytes` as a stream of chunks of `size` bytes (a download as it arrives). */
export function streamOf(bytes: Uint8Array, size = 65_537): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, (at += size)));
    },
  });
}

/**
 * True when `a` and `b` hold the same bytes (vitest's toEqual walks a megabyte element by element,
 * for tens of seconds).
 */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );

/**
 * What every storage checks about blobs, beside the records that reference them: the arguments of
 * putBlob/readBlob/blobFile, the blob records a commit carries (each must decode, and name a blob
 * file stored with that size, else the commit is refused and writes nothing), the blob records a
 * commit references without carrying them (`blobRefs`: each must still have a revision), the
 * hashes a pack keeps, and verify's check of every live blob record's file.
 *
 * A blob record (BLOB_CLASS, src/shared/blob-record.ts) is the one state the storage side reads:
 * a fixed CBOR map naming the blob file's SHA-256. Everything else stays opaque.
 */
import {
  BLOB_CLASS,
  decodeBlobRecord,
  isBlobHash,
  type BlobRecordState,
} from '../src/shared/blob-record.js';
import { CorruptStorageError, ShelfError, StorageError } from '../src/shared/errors.js';
import type {
  CommitRequest,
  LoadedRecord,
  StoredRecord,
  VerifyProblem,
} from '../src/shared/storage.js';
import type { BlobStore } from './blob-store.js';

/** A blob record of a commit, decoded. */
export interface BlobRecordFound {
  /** The blob record's oid. */
  oid: number;
  /** What it says: the blob file's hash and size. */
  blob: BlobRecordState;
}

/** @throws ShelfError unless `blob` is a Blob (a File is one): nothing is stored. */
export function checkBlobArgument(blob: unknown): asserts blob is Blob {
  if (typeof Blob === 'undefined' || !(blob instanceof Blob)) {
    const what = blob === null ? 'null' : typeof blob;
    throw new ShelfError(
      `putBlob: expected a Blob or File, got ${what}; nothing was stored. Pass the Blob itself (new Blob([bytes]) for bytes).`,
    );
  }
}

/** @throws ShelfError unless `hash` is a SHA-256 as blob files are named. */
export function checkBlobHash(method: string, hash: unknown): asserts hash is string {
  if (!isBlobHash(hash)) {
    throw new ShelfError(
      `${method}: ${JSON.stringify(String(hash)).slice(0, 80)} is not a blob hash (64 lowercase hexadecimal digits, as putBlob answers it).`,
    );
  }
}

/** @throws ShelfError unless `[start, end)` is a range of non-negative integers, start ≤ end. */
export function checkBlobRange(start: unknown, end: unknown): void {
  const isOffset = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  if (!isOffset(start) || !isOffset(end) || start > end) {
    throw new ShelfError(
      `readBlob: the range [${String(start)}, ${String(end)}) is not a range of byte offsets (integers, 0 ≤ start ≤ end).`,
    );
  }
}

/**
 * The blob records among `records` (a commit's), decoded.
 * @throws ShelfError naming the record whose state is not a blob record: nothing is stored.
 */
export function blobRecordsOf(records: readonly StoredRecord[]): BlobRecordFound[] {
  const found: BlobRecordFound[] = [];
  for (const record of records) {
    // A malformed record is validateCommit's to refuse, saying what is wrong with it.
    if (typeof record !== 'object' || record === null || record.className !== BLOB_CLASS) continue;
    if (!(record.state instanceof Uint8Array)) continue;
    try {
      found.push({ oid: record.oid, blob: decodeBlobRecord(record.state) });
    } catch (error) {
      throw new ShelfError(
        `commit: record ${record.oid} of class ${BLOB_CLASS} is not a blob record (${(error as Error).message}); nothing was stored. Blob records are written by the page (encodeBlobRecord).`,
        { cause: error },
      );
    }
  }
  return found;
}

/**
 * Checks that each blob record's file is stored, with the size the record gives.
 * @throws StorageError naming the first hash that is not: nothing is stored; store it again.
 */
export async function checkBlobsStored(
  found: readonly BlobRecordFound[],
  blobs: BlobStore,
): Promise<void> {
  const sizes = await Promise.all(found.map(({ blob }) => blobs.size(blob.hash)));
  found.forEach(({ oid, blob }, i) => {
    const size = sizes[i];
    if (size === blob.size) return;
    const why = size === undefined ? 'no blob file has this hash' : `its file holds ${size} bytes`;
    throw new StorageError(
      `commit: blob ${blob.hash} is not stored: store it again (putBlob), then commit. Blob record ${oid} names it with ${blob.size} bytes, but ${why} (pack removed it, or it was never stored). Nothing was stored.`,
    );
  });
}

/**
 * The hash a kept revision names if it is a blob record (pack keeps its file), else undefined.
 * @throws CorruptStorageError naming the oid when a stored blob record does not decode: pack
 *   stops before it removes anything it would then not know to keep.
 */
export function keptBlobHash(
  oid: number,
  record: Pick<StoredRecord, 'className' | 'state'>,
): string | undefined {
  if (record.className !== BLOB_CLASS) return undefined;
  try {
    return decodeBlobRecord(record.state).hash;
  } catch (error) {
    throw new CorruptStorageError(
      `Object ${oid}, a blob record, is damaged (${(error as Error).message}): the pack stopped before removing any blob file. Run db.verify().`,
      { cause: error },
    );
  }
}

/**
 * A `load` that also notes every blob record it answers (oid → state bytes), for verify: its walk
 * loads the newest revision of every reachable object, so it sees every live blob record.
 */
export function notingBlobRecords(
  load: (oids: number[]) => Promise<LoadedRecord[]>,
  seen: Map<number, Uint8Array>,
): (oids: number[]) => Promise<LoadedRecord[]> {
  return async (oids) => {
    const records = await load(oids);
    for (const r of records) if (r.className === BLOB_CLASS) seen.set(r.oid, r.state);
    return records;
  };
}

/**
 * Adds a 'blob' problem, with the blob record's oid, for each of `seen` whose state does not
 * decode or whose file is missing or does not hash to its name. One read of each distinct file.
 */
export async function verifyBlobs(
  blobs: BlobStore,
  seen: ReadonlyMap<number, Uint8Array>,
  problems: VerifyProblem[],
): Promise<void> {
  const checked = new Map<string, Awaited<ReturnType<BlobStore['check']>>>();
  for (const [oid, state] of seen) {
    let blob: BlobRecordState;
    try {
      blob = decodeBlobRecord(state);
    } catch (error) {
      problems.push({ kind: 'blob', oid, message: `Blob record ${oid}: ${String(error)}` });
      continue;
    }
    if (!checked.has(blob.hash)) checked.set(blob.hash, await blobs.check(blob.hash));
    const problem = checked.get(blob.hash);
    if (problem === 'missing') {
      problems.push({
        kind: 'blob',
        oid,
        message: `Blob record ${oid} names blob ${blob.hash}, whose file is missing: its bytes are lost. Store them again and commit the object that holds the Blob again, or delete it.`,
      });
    } else if (problem === 'damaged') {
      problems.push({
        kind: 'blob',
        oid,
        message: `Blob record ${oid} names blob ${blob.hash}, whose file is damaged (its bytes do not hash to its name). Store the bytes again and commit the object that holds the Blob again, or delete it.`,
      });
    }
  }
}

/**
 * The `blobGraceMs` option of a storage, checked.
 * @throws ShelfError unless it is a non-negative number of milliseconds.
 */
export function checkGrace(ms: unknown): number {
  if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
    throw new ShelfError(
      `blobGraceMs ${String(ms)} is not a number of milliseconds (0 or more); the storage was not opened.`,
    );
  }
  return ms;
}

/**
 * The `blobRefs` of a commit, checked (none: an empty list).
 * @throws ShelfError naming the bad value unless it is an array of at most `max` oids: nothing is
 *   stored.
 */
export function blobRefsOf(txn: Pick<CommitRequest, 'blobRefs'>, max: number): number[] {
  const refs: unknown = txn.blobRefs;
  if (refs === undefined) return [];
  if (!Array.isArray(refs) || refs.length > max) {
    throw new ShelfError(
      `commit: blobRefs must be an array of at most ${max} blob record oids; nothing was stored.`,
    );
  }
  for (const oid of refs as unknown[]) {
    if (!Number.isSafeInteger(oid) || (oid as number) < 0) {
      throw new ShelfError(
        `commit: blobRefs names ${JSON.stringify(oid) ?? String(oid)}, which is not an oid (a non-negative integer); nothing was stored.`,
      );
    }
  }
  return refs as number[];
}

/**
 * The error for blob records a commit references (`blobRefs`) that have no current revision, or
 * undefined when each has one.
 */
export function missingBlobRefs(
  refs: readonly number[],
  hasRevision: (oid: number) => boolean,
): StorageError | undefined {
  const missing = refs.filter((oid) => !hasRevision(oid));
  if (missing.length === 0) return undefined;
  const which =
    missing.length === 1 ? `blob record ${missing[0]}` : `blob records ${missing.join(', ')}`;
  return new StorageError(
    `commit: ${which} referenced by this commit (blobRefs) ${missing.length === 1 ? 'is' : 'are'} not stored: pack removed ${missing.length === 1 ? 'it' : 'them'} (nothing reachable referenced ${missing.length === 1 ? 'it' : 'them'}). Store the Blob again (commit again: the page stores its bytes anew), then commit. Nothing was stored.`,
  );
}

/**
 * How a StoredBlob's bytes are read (stored-blob.ts holds the classes): through the storage's
 * `readBlob` for small ranges, through the platform's own file (`blobFile`) for the rest.
 *
 * The platform file is the fast way for anything large: an OPFS File in browsers, `fs.openAsBlob`
 * in Node, read natively (bench/blobs.mjs `shelfdb.readStoredStream`, 50 MiB in Chromium: 38–41
 * MB/s through 1 MiB `readBlob` calls, each a round trip over the worker link and on OPFS a new
 * file lookup; 172 MB/s through the file). A range of at most one chunk is still one `readBlob`
 * call, as measured: in Chromium the two are level up to 1 MiB (the handle costs a round trip
 * too), in Node `readBlob` is 3–6× faster there, and where the storage keeps bytes in memory the
 * platform Blob is a copy of the whole blob (MemoryStorage: 1.2 s for 64 KiB of a 50 MiB blob).
 */
import { StorageError } from './shared/errors.js';
import type { BlobTagFields } from './blob-tag.js';

/** Where a stored blob's bytes are read from: the database's storage. */
export interface BlobReader {
  /** Bytes `[start, end)` of the blob file `hash`. */
  readBlob(hash: string, start: number, end: number): Promise<Uint8Array>;
  /** The blob file `hash` as a platform Blob (type ''). */
  blobFile(hash: string): Promise<Blob>;
}

/** @internal What a StoredBlob is: the blob file it reads and the range of it. */
export interface StoredBlobState {
  /** The database it was loaded from (its identity tells the commit it is stored there). */
  readonly reader: BlobReader;
  /** Its tag's fields: the whole file's size, the record's oid. */
  readonly fields: Readonly<BlobTagFields>;
  /** Where its bytes start in the blob file. */
  readonly start: number;
  /** Where they end (exclusive). */
  readonly end: number;
}

/**
 * @internal The most bytes read through one `readBlob` call; ranges up to this size are read
 * (and streamed) that way, larger ones from the platform file.
 */
export const READ_CHUNK = 1 << 20;

/** Reads `[start, end)` of the blob file through the storage, saying what to do when it is gone. */
async function read(state: StoredBlobState, start: number, end: number): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await state.reader.readBlob(state.fields.hash, start, end);
  } catch (error) {
    throw explain(error, state);
  }
  if (bytes.length !== end - start) {
    throw damaged(state);
  }
  return bytes;
}

/** The error for a blob file shorter than its record says. */
function damaged(state: StoredBlobState): StorageError {
  return new StorageError(
    `The blob file ${state.fields.hash} holds fewer bytes than its record says (${state.fields.size}): it is damaged. Run db.verify(), and store the Blob again.`,
  );
}

/** The storage's "not stored" StorageError, told in terms of the blob that was read. */
function explain(error: unknown, state: StoredBlobState): unknown {
  if (!(error instanceof StorageError) || error.name !== 'StorageError') return error;
  const { hash, name, oid } = state.fields;
  const what = name === null ? `a Blob` : `the File ${JSON.stringify(name)}`;
  return new StorageError(
    `Cannot read ${what} (blob record ${oid}, bytes ${hash}): ${error.message} Its blob file was removed (pack removes blob files no kept revision references) or never stored; store the Blob again.`,
    { cause: error },
  );
}

/** @internal The bytes of the StoredBlob's range, read whole. */
export async function readAll(state: StoredBlobState): Promise<Uint8Array<ArrayBuffer>> {
  if (state.end - state.start > READ_CHUNK) {
    // Whole anyway: the platform reads its file at once (a third of the time of chunked calls
    // through the storage on OPFS, BENCHMARKS.md "Blobs").
    const bytes = new Uint8Array(await (await platformBlob(state, '')).arrayBuffer());
    if (bytes.length === state.end - state.start) return bytes;
    throw damaged(state);
  }
  const out = new Uint8Array(state.end - state.start);
  for (let at = state.start; at < state.end; at += READ_CHUNK) {
    out.set(await read(state, at, Math.min(at + READ_CHUNK, state.end)), at - state.start);
  }
  return out;
}

/**
 * @internal The StoredBlob's range as a stream. Nothing is read before the first pull; then a
 * range of at most READ_CHUNK bytes is one `readBlob` call, a larger one the platform file's own
 * stream (asked for once, at that first pull). Should the platform stream fail part way (its file
 * changed or went: a File of OPFS or of `fs.openAsBlob` says only NotReadableError), the rest is
 * read through the storage, which either still has the bytes or says with its StorageError that
 * the blob file is gone.
 */
export function streamOf(state: StoredBlobState): ReadableStream<Uint8Array<ArrayBuffer>> {
  let at = state.start;
  // The platform file's stream: undefined until the first pull; null when the range is read
  // through the storage (a small range, or the platform stream failed).
  let source: ReadableStreamDefaultReader<Uint8Array> | null | undefined =
    state.end - state.start > READ_CHUNK ? undefined : null;
  let cancelled = false;
  return new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      async pull(controller) {
        if (at >= state.end) {
          controller.close();
          return;
        }
        let next: ReadableStreamReadResult<Uint8Array> | undefined;
        if (source !== null) {
          if (source === undefined) {
            const file = await platformBlob(state, '');
            if (cancelled) return; // cancelled while the file was asked for: open nothing
            source = file.stream().getReader();
          }
          try {
            next = await source.read();
          } catch {
            // Read the rest through the storage: the bytes, or its StorageError saying why not.
            source = null;
          }
          if (cancelled) return;
        }
        let bytes: Uint8Array;
        if (next === undefined) {
          // Copied: the reader may keep it, and MemoryStorage answers a view of what it keeps.
          bytes = new Uint8Array(await read(state, at, Math.min(at + READ_CHUNK, state.end)));
        } else if (next.done) {
          throw damaged(state); // the platform file ended before the range did
        } else {
          bytes = next.value;
        }
        at += bytes.length;
        // A platform Blob's stream gives each chunk a buffer of its own (never shared memory).
        controller.enqueue(bytes as Uint8Array<ArrayBuffer>);
      },
      async cancel(reason) {
        cancelled = true;
        await source?.cancel(reason);
      },
    },
    // No chunk is read ahead of a pull: creating the stream reads nothing, and memory stays
    // bounded by the platform stream's own queue however large the blob.
    { highWaterMark: 0 },
  );
}

/** @internal The platform's Blob of the StoredBlob's range, with `type`; nothing read now. */
export async function platformBlob(state: StoredBlobState, type: string): Promise<Blob> {
  let whole: Blob;
  try {
    whole = await state.reader.blobFile(state.fields.hash);
  } catch (error) {
    throw explain(error, state);
  }
  return whole.slice(state.start, state.end, type);
}

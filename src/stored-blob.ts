/**
 * StoredBlob and StoredFile: a Blob (File) loaded from an object's state.
 *
 * Its size, type (and a File's name and lastModified) come with the state, so they are there at
 * once; its bytes stay in the storage's blob file and are read when asked for, a range at a time:
 * `stream()` reads 1 MiB chunks as they are pulled (memory stays bounded whatever the size),
 * `arrayBuffer()`, `bytes()` and `text()` read the range whole, `slice()` makes a StoredBlob over a
 * part without reading anything.
 *
 * They are JavaScript subclasses of the platform's Blob and File: code that reads a Blob through
 * its methods reads them as any other, but what the platform reads natively (URL.createObjectURL,
 * a fetch body, FormData, structured clone) sees the empty Blob underneath. For those, `await
 * blob.file()` gives the platform Blob itself (a disk-backed File where the storage keeps files:
 * OPFS in browsers, `fs.openAsBlob` in Node), and `db.blobs.url(conn, blob)` an object URL of it.
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

/** How much `stream()` and `arrayBuffer()` read per call to the storage. */
const READ_CHUNK = 1 << 20;

const STATE: unique symbol = Symbol('shelfdb.storedBlob');

/** @internal A StoredBlob's or StoredFile's state; undefined for any other value. */
export function storedBlobState(value: unknown): StoredBlobState | undefined {
  return typeof value === 'object' && value !== null
    ? (value as { [STATE]?: StoredBlobState })[STATE]
    : undefined;
}

/** @internal True when the StoredBlob is a whole blob file as its record stored it (no slice). */
export function isWhole(state: StoredBlobState): boolean {
  return state.start === 0 && state.end === state.fields.size;
}

/**
 * @internal The Blob for a tag read from a state: a StoredFile when it has a name, else a
 * StoredBlob, reading through `reader`.
 */
export function makeStoredBlob(reader: BlobReader, fields: BlobTagFields): StoredBlob | StoredFile {
  const state: StoredBlobState = { reader, fields, start: 0, end: fields.size };
  return fields.name === null ? new StoredBlob(state, fields.type) : new StoredFile(state);
}

/**
 * A Blob loaded from an object's state: `size` and `type` at once, bytes read lazily from the
 * storage. `instanceof Blob` holds. Give `await blob.file()` (or `db.blobs.url`) to what reads
 * Blobs natively (`<img>`, fetch, FormData).
 * @example
 * const photo = doc.photo as StoredBlob; // loaded with doc
 * const head = await photo.slice(0, 16).bytes(); // reads 16 bytes
 * img.src = URL.createObjectURL(await photo.file());
 */
export class StoredBlob extends Blob {
  /** @internal */
  declare readonly [STATE]: StoredBlobState;

  /** @internal Made by shelfdb when it decodes a state. */
  constructor(state: StoredBlobState, type: string) {
    super([], { type });
    Object.defineProperty(this, STATE, { value: state });
  }

  /** The SHA-256 of the stored blob file's bytes (of the whole file, for a slice). */
  get hash(): string {
    return this[STATE].fields.hash;
  }

  /** Reads `[start, end)` as Blob.slice does (negative from the end); nothing is read now. */
  override slice(start?: number, end?: number, contentType?: string): StoredBlob {
    return sliceOf(this[STATE], start, end, contentType);
  }

  /** The bytes, read 1 MiB at a time as the stream is pulled. */
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return streamOf(this[STATE]);
  }

  /** The bytes, read whole. */
  override arrayBuffer(): Promise<ArrayBuffer> {
    return readAll(this[STATE]).then((b) => b.buffer);
  }

  /** The bytes, read whole. */
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return readAll(this[STATE]);
  }

  /** The bytes, read whole, as UTF-8 text. */
  override text(): Promise<string> {
    return readAll(this[STATE]).then((b) => new TextDecoder().decode(b));
  }

  /**
   * The platform's own Blob of these bytes, with this type: disk-backed where the storage keeps
   * files (nothing read now), for what reads Blobs natively.
   * @throws StorageError when the storage has no such blob file any more.
   */
  file(): Promise<Blob> {
    return platformBlob(this[STATE], this.type);
  }
}

/**
 * A File loaded from an object's state: a StoredBlob (see there) that keeps the File's `name` and
 * `lastModified`. `instanceof File` holds.
 */
export class StoredFile extends File {
  /** @internal */
  declare readonly [STATE]: StoredBlobState;

  /** @internal Made by shelfdb when it decodes a state. */
  constructor(state: StoredBlobState) {
    const { name, type, lastModified } = state.fields;
    super([], name ?? '', { type, ...(lastModified === null ? {} : { lastModified }) });
    Object.defineProperty(this, STATE, { value: state });
  }

  /** The SHA-256 of the stored blob file's bytes. */
  get hash(): string {
    return this[STATE].fields.hash;
  }

  /** Reads `[start, end)` as Blob.slice does; a StoredBlob (not a File), nothing read now. */
  override slice(start?: number, end?: number, contentType?: string): StoredBlob {
    return sliceOf(this[STATE], start, end, contentType);
  }

  /** The bytes, read 1 MiB at a time as the stream is pulled. */
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return streamOf(this[STATE]);
  }

  /** The bytes, read whole. */
  override arrayBuffer(): Promise<ArrayBuffer> {
    return readAll(this[STATE]).then((b) => b.buffer);
  }

  /** The bytes, read whole. */
  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return readAll(this[STATE]);
  }

  /** The bytes, read whole, as UTF-8 text. */
  override text(): Promise<string> {
    return readAll(this[STATE]).then((b) => new TextDecoder().decode(b));
  }

  /**
   * The platform's own File of these bytes, with this name, type and lastModified: disk-backed
   * where the storage keeps files (nothing read now), for what reads Files natively.
   * @throws StorageError when the storage has no such blob file any more.
   */
  async file(): Promise<File> {
    const bytes = await platformBlob(this[STATE], this.type);
    return new File([bytes], this.name, { type: this.type, lastModified: this.lastModified });
  }
}

// The size a Blob reports is its native one (0: no bytes were given to the platform), so both
// classes report their range's instead. Defined on the prototypes: TypeScript declares `size` as
// a field of Blob, which a class cannot override with an accessor.
for (const cls of [StoredBlob, StoredFile]) {
  Object.defineProperty(cls.prototype, 'size', {
    get(this: { [STATE]: StoredBlobState }): number {
      return this[STATE].end - this[STATE].start;
    },
    configurable: true,
  });
}

function sliceOf(
  state: StoredBlobState,
  start: number | undefined,
  end: number | undefined,
  contentType: string | undefined,
): StoredBlob {
  const size = state.end - state.start;
  const from = clamp(start ?? 0, size);
  const to = Math.max(from, clamp(end ?? size, size));
  return new StoredBlob(
    { ...state, start: state.start + from, end: state.start + to },
    contentType ?? '',
  );
}

/** A Blob.slice position: negative counts from the end; clamped to [0, size]. */
function clamp(at: number, size: number): number {
  const n = Math.trunc(Number(at)) || 0;
  return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
}

/** Reads `[start, end)` of the blob file, saying what to do when it is gone. */
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

async function readAll(state: StoredBlobState): Promise<Uint8Array<ArrayBuffer>> {
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

function streamOf(state: StoredBlobState): ReadableStream<Uint8Array<ArrayBuffer>> {
  let at = state.start;
  return new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      async pull(controller) {
        if (at >= state.end) {
          controller.close();
          return;
        }
        const end = Math.min(at + READ_CHUNK, state.end);
        const bytes = await read(state, at, end);
        at = end;
        controller.enqueue(new Uint8Array(bytes)); // its own buffer: the reader may keep it
      },
    },
    // Reads one chunk ahead at most: memory stays bounded however large the blob.
    { highWaterMark: 1 },
  );
}

async function platformBlob(state: StoredBlobState, type: string): Promise<Blob> {
  let whole: Blob;
  try {
    whole = await state.reader.blobFile(state.fields.hash);
  } catch (error) {
    throw explain(error, state);
  }
  return whole.slice(state.start, state.end, type);
}

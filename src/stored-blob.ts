/**
 * StoredBlob and StoredFile: a Blob (File) loaded from an object's state.
 *
 * Its size, type (and a File's name and lastModified) come with the state, so they are there at
 * once; its bytes stay in the storage's blob file and are read when asked for (stored-blob-read.ts):
 * `stream()` reads as it is pulled (memory stays bounded whatever the size), `arrayBuffer()`,
 * `bytes()` and `text()` read the range whole, `slice()` makes a StoredBlob over a part without
 * reading anything.
 *
 * They are JavaScript subclasses of the platform's Blob and File: code that reads a Blob through
 * its methods reads them as any other, but what the platform reads natively (URL.createObjectURL,
 * a fetch body, FormData, structured clone) sees the empty Blob underneath. For those, `await
 * blob.file()` gives the platform Blob itself (a disk-backed File where the storage keeps files:
 * OPFS in browsers, `fs.openAsBlob` in Node), and `db.blobs.url(conn, blob)` an object URL of it.
 */
import type { BlobTagFields } from './blob-tag.js';
import {
  platformBlob,
  readAll,
  streamOf,
  type BlobReader,
  type StoredBlobState,
} from './stored-blob-read.js';

export type { BlobReader, StoredBlobState } from './stored-blob-read.js';

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
 * What StoredBlob and StoredFile share, over the platform class each extends (Blob, File): the
 * hash, the range's size, and the reads. A class of its own per base, so `instanceof Blob` and
 * `instanceof File` hold as the platform's classes say.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- TS2545: a mixin's base must be constructible with any[]
function storedReads<Base extends new (...args: any[]) => Blob>(base: Base) {
  abstract class StoredReads extends base {
    /** @internal */
    declare readonly [STATE]: StoredBlobState;

    /** The SHA-256 of the stored blob file's bytes (of the whole file, for a slice). */
    get hash(): string {
      return this[STATE].fields.hash;
    }

    /**
     * Reads `[start, end)` as Blob.slice does (negative from the end): a StoredBlob (not a File)
     * of that range, the type `contentType`; nothing is read now.
     */
    override slice(start?: number, end?: number, contentType?: string): StoredBlob {
      return sliceOf(this[STATE], start, end, contentType);
    }

    /**
     * The bytes as they are pulled: nothing is read before the first pull; then a range of up
     * to 1 MiB is one read from the storage, a larger one the platform file's own stream.
     * @throws (as the stream's error) StorageError when the storage has no such blob file.
     */
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
  }
  // The size a Blob reports is its native one (0: no bytes were given to the platform), so the
  // range's is reported instead. Defined on the prototype: TypeScript declares `size` as a field
  // of Blob, which a class cannot override with an accessor.
  Object.defineProperty(StoredReads.prototype, 'size', {
    get(this: StoredReads): number {
      return this[STATE].end - this[STATE].start;
    },
    configurable: true,
  });
  return StoredReads;
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
export class StoredBlob extends storedReads(Blob) {
  /** @internal Made by shelfdb when it decodes a state. */
  constructor(state: StoredBlobState, type: string) {
    super([], { type });
    Object.defineProperty(this, STATE, { value: state });
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
export class StoredFile extends storedReads(File) {
  /** @internal Made by shelfdb when it decodes a state. */
  constructor(state: StoredBlobState) {
    const { name, type, lastModified } = state.fields;
    super([], name ?? '', { type, ...(lastModified === null ? {} : { lastModified }) });
    Object.defineProperty(this, STATE, { value: state });
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

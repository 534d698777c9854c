/**
 * Reading a `blobs/<hash>` entry back (backups and tree archives): its bytes pass through SHA-256
 * as they are read, and the entry is refused, naming it, when they do not hash to its name — before
 * anything is stored, so a damaged blob entry never becomes a blob file.
 *
 * Storing it: `storage.putBlob` takes a Blob, so the pieces become one with
 * `new Response(stream).blob()`. Browsers spill a large Blob built that way to disk; Node keeps it
 * in memory (its Blob has no disk backing), so in Node a restore or import holds one blob's bytes
 * at a time, the largest blob of the archive at most.
 */
import { sha256 } from '@noble/hashes/sha2';
import { CorruptStorageError } from '../shared/errors.js';
import type { BlobInfo, Storage } from '../shared/storage.js';

/** A blob entry as it is read: its bytes checked against its hash as they pass. */
export class HashedBlob implements AsyncIterable<Uint8Array> {
  private readonly hasher = sha256.create();
  private readonly pieces: AsyncIterator<Uint8Array>;
  private read = 0;
  private checked = false;

  constructor(
    /** The entry's path (`blobs/<hash>`), named by every error. */
    readonly path: string,
    /** The hash its path names. */
    readonly hash: string,
    /** Its size, as the archive's header line gives it. */
    readonly size: number,
    pieces: AsyncIterable<Uint8Array>,
    /** Makes the error of a refused entry (the reader's wording: backup or tree archive). */
    private readonly refuse: (path: string, why: string) => Error,
  ) {
    this.pieces = pieces[Symbol.asyncIterator]();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const piece = await this.next();
      if (piece === undefined) return;
      yield piece;
    }
  }

  /** Reads what the consumer left, checking it all the same (the archive reader goes on after). */
  async skipRest(): Promise<void> {
    while ((await this.next()) !== undefined);
  }

  private async next(): Promise<Uint8Array | undefined> {
    if (this.checked) return undefined;
    const next = await this.pieces.next();
    if (next.done !== true) {
      this.hasher.update(next.value);
      this.read += next.value.byteLength;
      return next.value;
    }
    const hex = Array.from(this.hasher.digest(), (b) => b.toString(16).padStart(2, '0')).join('');
    if (this.read !== this.size || hex !== this.hash) {
      throw this.refuse(
        this.path,
        `its ${this.read} bytes hash to ${hex}, not to the name of the entry (a changed or lost byte)`,
      );
    }
    this.checked = true;
    return undefined;
  }
}

/**
 * Stores the blob entry `blob` through `storage.putBlob` (its bytes checked on the way, see
 * HashedBlob) and checks the storage's answer.
 * @throws what HashedBlob throws when the bytes do not hash to the entry's name: nothing stored.
 */
export async function putBlobEntry(storage: Storage, blob: HashedBlob): Promise<BlobInfo> {
  const bytes = await new Response(streamOf(blob)).blob();
  const stored = await storage.putBlob(bytes);
  if (stored.hash !== blob.hash || stored.size !== blob.size) {
    throw new CorruptStorageError(
      `${blob.path}: the storage stored it as ${stored.hash} (${stored.size} bytes), not as the entry names it. The storage is damaged: run db.verify().`,
    );
  }
  return stored;
}

/** `pieces` as a stream read as it is asked for. */
function streamOf(pieces: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = pieces[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await iterator.next();
        if (next.done === true) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await iterator.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

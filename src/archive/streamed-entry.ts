/**
 * Streamed entries of an archive (snarf.ts): a blob file of any size goes in and out of an archive
 * in pieces, never whole in memory, its CRC-32 kept running beside the pieces.
 */
import { crc32 } from '../shared/crc32.js';
import { CorruptStorageError } from '../shared/errors.js';
import type { ByteQueue } from './byte-queue.js';

/**
 * An entry whose bytes come in pieces (a blob file of any size): the writer writes `size` first,
 * then the chunks as the consumer reads, never the whole in memory; the reader hands them on as
 * they arrive (see readArchive's `streamed`).
 */
export interface StreamedEntry {
  /** A relative path, as ArchiveEntry's. */
  path: string;
  /** Its length in bytes: the chunks must add up to exactly this. */
  size: number;
  /**
   * Its bytes, in order. Read from an archive, they must be consumed before the next entry is
   * asked for; those left unread are skipped then (still checked against the checksum).
   */
  chunks: AsyncIterable<Uint8Array>;
}

/** The largest piece of a streamed entry handed on at once. */
const STREAMED_PIECE = 1024 * 1024;

/** A CorruptStorageError saying nothing was written. */
export const corrupt = (message: string): CorruptStorageError =>
  new CorruptStorageError(`${message} Nothing was written.`);

/** `error` as the archive's damage: DecompressionStream rejects damaged gzip with a TypeError. */
export function damaged(error: unknown, queue: ByteQueue): CorruptStorageError {
  if (error instanceof CorruptStorageError) return error;
  return new CorruptStorageError(
    `The archive's compressed data is damaged or cut short (after byte ${queue.offset} of the uncompressed archive): ${error instanceof Error ? error.message : String(error)}. Nothing was written.`,
    { cause: error },
  );
}

/** A streamed entry being written: its chunks' iterator, bytes so far and running CRC. */
export interface Streaming {
  entry: StreamedEntry;
  chunks: AsyncIterator<Uint8Array>;
  written: number;
  crc: number;
}

/**
 * The next chunk of a streamed entry, or undefined once it is whole (its checksum noted).
 * @throws RangeError when its chunks add up to more or less than its announced size: the header
 *   line is out already, so the archive cannot be finished right.
 */
export async function nextChunk(
  s: Streaming,
  checksums: number[],
): Promise<Uint8Array | undefined> {
  const next = await s.chunks.next();
  const { path, size } = s.entry;
  if (next.done === true) {
    if (s.written !== size) {
      throw new RangeError(
        `writeArchive: the entry ${path} announced ${size} bytes and its source gave ${s.written}.`,
      );
    }
    checksums.push(s.crc);
    return undefined;
  }
  const chunk = next.value;
  s.written += chunk.byteLength;
  if (s.written > size) {
    throw new RangeError(
      `writeArchive: the entry ${path} announced ${size} bytes and its source gave more.`,
    );
  }
  s.crc = crc32(chunk, 0, chunk.byteLength, s.crc);
  return chunk;
}

/** The bytes of a streamed entry being read: pieces as they arrive, the checksum kept running. */
export class EntryPieces implements AsyncIterable<Uint8Array> {
  private left: number;

  constructor(
    private readonly queue: ByteQueue,
    size: number,
    /** The running CRC-32 of the header line and the bytes read so far. */
    public crc: number,
    private readonly name: string,
  ) {
    this.left = size;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const piece = await this.next();
      if (piece === undefined) return;
      yield piece;
    }
  }

  /** Skips what the consumer left unread (checked all the same). */
  async skipRest(): Promise<void> {
    while ((await this.next()) !== undefined);
  }

  private async next(): Promise<Uint8Array | undefined> {
    if (this.left === 0) return undefined;
    let piece: Uint8Array | undefined;
    try {
      piece = await this.queue.takeSome(Math.min(this.left, STREAMED_PIECE));
    } catch (error) {
      throw damaged(error, this.queue);
    }
    if (piece === undefined) throw corrupt(`The archive is cut short inside ${this.name}.`);
    this.left -= piece.byteLength;
    this.crc = crc32(piece, 0, piece.byteLength, this.crc);
    return piece;
  }
}

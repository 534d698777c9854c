/**
 * The archive container: SNARF (zope.fssync's "Simple Nested Archive Read Format"), streamed.
 *
 * An archive is a sequence of entries, each `<size> <path>\n` followed by exactly `size` bytes,
 * optionally gzip-compressed as a whole. shelfdb adds one thing: a last entry, `shelfdb-end.json`,
 * holding the number of entries and a CRC-32 of each (its header line and bytes). SNARF alone
 * cannot tell a flipped digit in a JSON entry from an edit, nor a cut after a whole entry from the
 * end; with the trailer every damaged byte and every truncation is refused, naming the entry.
 *
 * The trailer comes last so that writing stays one pass with bounded memory (4 bytes per entry).
 * The price is on the reading side: damage inside an entry is known only at the end, so a reader
 * must consume the whole archive before it writes anything (check/commit/import read everything
 * first; restore verifies or removes what it wrote).
 *
 * Both sides are streams: `writeArchive` asks its source for the next entry only when the consumer
 * reads (backpressure, one entry in memory), `readArchive` parses chunks as they come.
 */
import { crc32 } from '../shared/crc32.js';
import { CorruptStorageError } from '../shared/errors.js';
import { ByteQueue } from './byte-queue.js';
import {
  EntryPieces,
  corrupt,
  damaged,
  nextChunk,
  type StreamedEntry,
  type Streaming,
} from './streamed-entry.js';

export type { StreamedEntry } from './streamed-entry.js';

/** One file of an archive. */
export interface ArchiveEntry {
  /** A relative path: segments of `[A-Za-z0-9._@+-]`, separated by `/`, no `.` or `..` segment. */
  path: string;
  /** The entry's content. */
  bytes: Uint8Array;
}

/** What an archive can be read from. */
export type ArchiveSource = ReadableStream<Uint8Array> | Blob | Uint8Array | ArrayBuffer;

/** The name of the last entry, which the writer adds and the reader checks and does not yield. */
export const END_ENTRY = 'shelfdb-end.json';

/** The largest entry read: a bound against a damaged size field asking for gigabytes. */
export const MAX_ENTRY_BYTES = 512 * 1024 * 1024;

/** The longest header line (`<size> <path>\n`): 16 digits, a space, a 1,024-character path. */
const MAX_HEADER_BYTES = 1_042;
const MAX_PATH_LENGTH = 1_024;
const SEGMENT = /^[A-Za-z0-9._@+-]+$/;
const GZIP_MAGIC = [0x1f, 0x8b] as const;
/**
 * Entries up to this size go out as one chunk with their header line (a copy); larger ones as two,
 * their bytes as given (copying a large entry would hold it twice).
 */
const COPY_ENTRIES_UP_TO = 1024 * 1024;

const encoder = new TextEncoder();
const strictText = new TextDecoder('utf-8', { fatal: true });

/** Why `path` cannot name an entry, or undefined when it can. */
export function badPath(path: string): string | undefined {
  if (path === '' || path.length > MAX_PATH_LENGTH) {
    return `a path must have 1 to ${MAX_PATH_LENGTH} characters`;
  }
  for (const segment of path.split('/')) {
    if (segment === '.' || segment === '..' || !SEGMENT.test(segment)) {
      return 'a path is relative, made of segments of letters, digits and . _ @ + - separated by /, without . or .. segments';
    }
  }
  return undefined;
}

/** The header line of an entry of `size` bytes. */
function headerOf(path: string, size: number): Uint8Array {
  return encoder.encode(`${size} ${path}\n`);
}

/**
 * An archive of `entries`, as a stream of bytes. Pull-based: the next entry is taken from
 * `entries` only when the consumer reads, so a large export holds one entry at a time. The end
 * entry (`shelfdb-end.json`) is appended. Cancelling the stream ends the source's iteration.
 * @param options.gzip compress the whole archive (CompressionStream, in browsers and Node).
 * @example
 * const stream = writeArchive([{ path: 'a.json', bytes: new TextEncoder().encode('{}') }]);
 */
export function writeArchive(
  entries: AsyncIterable<ArchiveEntry | StreamedEntry> | Iterable<ArchiveEntry | StreamedEntry>,
  options: { gzip?: boolean } = {},
): ReadableStream<Uint8Array> {
  const iterator =
    Symbol.asyncIterator in entries
      ? entries[Symbol.asyncIterator]()
      : (entries as Iterable<ArchiveEntry | StreamedEntry>)[Symbol.iterator]();
  const checksums: number[] = [];
  const seen = new Set<string>();
  let ended = false;
  let streaming: Streaming | undefined;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Loops until it enqueues: a pull that enqueues nothing is not called again.
        while (!ended) {
          if (streaming !== undefined) {
            const chunk = await nextChunk(streaming, checksums);
            if (chunk === undefined) streaming = undefined;
            else if (chunk.byteLength > 0) return controller.enqueue(chunk);
            continue;
          }
          const next = await iterator.next();
          if (next.done === true) {
            ended = true;
            const end = encoder.encode(
              JSON.stringify({ entries: checksums.length, crc32: checksums }),
            );
            controller.enqueue(headerOf(END_ENTRY, end.byteLength));
            controller.enqueue(end);
            controller.close();
            return;
          }
          const entry = next.value;
          checkPath(entry.path, seen);
          if (!('bytes' in entry)) {
            const header = headerOf(entry.path, entry.size);
            const chunks = entry.chunks[Symbol.asyncIterator]();
            streaming = { entry, chunks, written: 0, crc: crc32(header) };
            return controller.enqueue(header);
          }
          for (const chunk of entryChunks(entry, checksums)) controller.enqueue(chunk);
          return;
        }
      },
      async cancel() {
        await streaming?.chunks.return?.();
        await iterator.return?.();
      },
    },
    // One entry at a time: the queue never asks for a second before the first is read.
    { highWaterMark: 0 },
  );
  return options.gzip === true
    ? stream.pipeThrough(
        new CompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>,
      )
    : stream;
}

/** @throws TypeError when `path` cannot name an entry, or names one written already. */
function checkPath(path: string, seen: Set<string>): void {
  const problem = badPath(path) ?? (path === END_ENTRY ? 'it is reserved' : undefined);
  if (problem !== undefined) {
    throw new TypeError(`writeArchive: cannot name an entry ${JSON.stringify(path)}: ${problem}.`);
  }
  if (seen.has(path)) {
    throw new TypeError(`writeArchive: two entries named ${JSON.stringify(path)}.`);
  }
  seen.add(path);
}

/** The chunks to enqueue for a whole entry (its checksum noted). */
function entryChunks(entry: ArchiveEntry, checksums: number[]): Uint8Array[] {
  const { bytes } = entry;
  if (bytes.byteLength > COPY_ENTRIES_UP_TO) {
    // Copying a large entry would hold it twice: its header goes out alone, a chunk before it.
    const header = headerOf(entry.path, bytes.byteLength);
    checksums.push(crc32(bytes, 0, bytes.byteLength, crc32(header)));
    return [header, bytes];
  }
  // The header line and the bytes as one chunk: each chunk costs the reader a read (a
  // promise and a turn of the stream's queue), and most entries are a few hundred bytes.
  // The line is ASCII (badPath allows ASCII only): one byte per character.
  const line = `${bytes.byteLength} ${entry.path}\n`;
  const chunk = new Uint8Array(line.length + bytes.byteLength);
  encoder.encodeInto(line, chunk);
  chunk.set(bytes, line.length);
  checksums.push(crc32(chunk));
  return [chunk];
}

/** True when `source` is an archive's bytes or stream, not entries. */
export function isArchiveSource(source: unknown): source is ArchiveSource {
  return (
    source instanceof Uint8Array ||
    source instanceof ArrayBuffer ||
    (typeof Blob !== 'undefined' && source instanceof Blob) ||
    (typeof ReadableStream !== 'undefined' && source instanceof ReadableStream)
  );
}

/** The bytes of a whole stream in one array (tests, downloads, the command line). */
export async function archiveBytes(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.byteLength;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** `source` as a stream of byte chunks. */
function streamOf(source: ArchiveSource): ReadableStream<Uint8Array> {
  if (source instanceof ReadableStream) return source;
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return source.stream() as ReadableStream<Uint8Array>;
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes =
      source instanceof ArrayBuffer
        ? new Uint8Array(source)
        : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return new ReadableStream<Uint8Array>({
      start(controller) {
        if (bytes.byteLength > 0) controller.enqueue(bytes);
        controller.close();
      },
    });
  }
  throw new TypeError(
    'An archive source is a ReadableStream of bytes, a Blob (a File), a Uint8Array or an ArrayBuffer.',
  );
}

/** How to name the entry at `index` (0-based) in a message. */
const entryName = (index: number, path?: string): string =>
  path === undefined ? `entry ${index + 1}` : `entry ${index + 1} (${path})`;

/**
 * The entries of an archive, in order; gzip is detected by its magic bytes. The end entry is
 * checked, not yielded: a CRC mismatch, a missing end (a truncated archive) or bytes after it throw
 * only when the iteration reaches the end, so read the whole archive before acting on it.
 *
 * With `options.streamed`, the entries whose path it accepts come as StreamedEntry (their bytes in
 * pieces as they arrive, any size): consume `chunks` before asking for the next entry.
 * @throws CorruptStorageError naming the entry: a header that is not `<size> <path>\n`, a bad
 *   path, a size beyond MAX_ENTRY_BYTES (of an entry read whole), a cut inside an entry, a damaged
 *   gzip stream, an entry whose checksum does not match, a missing or malformed end entry.
 */
export function readArchive(source: ArchiveSource): AsyncGenerator<ArchiveEntry>;
export function readArchive(
  source: ArchiveSource,
  options: { streamed: (path: string) => boolean },
): AsyncGenerator<ArchiveEntry | StreamedEntry>;
export async function* readArchive(
  source: ArchiveSource,
  options: { streamed?: (path: string) => boolean } = {},
): AsyncGenerator<ArchiveEntry | StreamedEntry> {
  let stream = streamOf(source);
  const first = new ByteQueue(stream.getReader());
  const magic = await first.peek(2);
  let queue = first;
  if (magic[0] === GZIP_MAGIC[0] && magic[1] === GZIP_MAGIC[1]) {
    // Re-read the peeked bytes through the decompressor: hand it the rest of the raw stream.
    stream = restOf(first).pipeThrough(
      new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
    queue = new ByteQueue(stream.getReader());
  }
  try {
    yield* entriesOf(queue, options.streamed ?? (() => false));
  } catch (error) {
    throw damaged(error, queue);
  }
}

/** The bytes a ByteQueue holds and the rest of its stream, as a new stream. */
function restOf(queue: ByteQueue): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (await queue.atEnd()) {
        controller.close();
        return;
      }
      const chunk = await queue.peek(64 * 1024);
      await queue.take(chunk.byteLength);
      controller.enqueue(chunk);
    },
  });
}

async function* entriesOf(
  queue: ByteQueue,
  streamed: (path: string) => boolean,
): AsyncGenerator<ArchiveEntry | StreamedEntry> {
  const seen: { path: string; crc: number }[] = [];
  const paths = new Set<string>();
  for (let index = 0; ; index++) {
    if (await queue.atEnd()) {
      throw corrupt(
        index === 0
          ? 'The archive is empty: it is not a shelfdb archive.'
          : `The archive is cut short: it ends after ${entryName(index - 1, seen[index - 1]?.path)} without its end entry (${END_ENTRY}).`,
      );
    }
    const at = queue.offset;
    const line = await queue.line(MAX_HEADER_BYTES);
    const header = line === undefined ? undefined : parseHeader(line);
    if (header === undefined) {
      throw corrupt(
        index === 0
          ? 'This is not a shelfdb archive (it does not start with a "<size> <path>" line).'
          : `The archive is damaged at byte ${at}: the header of ${entryName(index)} is not a "<size> <path>" line.`,
      );
    }
    const { size, path } = header;
    const problem = badPath(path);
    if (problem !== undefined) {
      throw corrupt(
        `The archive is damaged: ${entryName(index)} has the path ${JSON.stringify(path)} (${problem}).`,
      );
    }
    if (path !== END_ENTRY && streamed(path)) {
      if (paths.has(path)) throw repeated(index, path);
      paths.add(path);
      const piece = new EntryPieces(queue, size, crc32(line as Uint8Array), entryName(index, path));
      yield { path, size, chunks: piece };
      await piece.skipRest();
      seen.push({ path, crc: piece.crc });
      continue;
    }
    if (size > MAX_ENTRY_BYTES) {
      throw corrupt(
        `The archive is damaged: ${entryName(index, path)} claims ${size} bytes, more than the ${MAX_ENTRY_BYTES} an entry may have.`,
      );
    }
    const bytes = await queue.take(size);
    if (bytes === undefined) {
      throw corrupt(`The archive is cut short inside ${entryName(index, path)}.`);
    }
    const crc = crc32(bytes, 0, bytes.byteLength, crc32(line as Uint8Array));
    if (path === END_ENTRY) {
      checkEnd(bytes, seen);
      if (!(await queue.atEnd())) {
        throw corrupt(
          `The archive is damaged: there are bytes after its end entry (at byte ${queue.offset}).`,
        );
      }
      return;
    }
    if (paths.has(path)) throw repeated(index, path);
    paths.add(path);
    seen.push({ path, crc });
    yield { path, bytes };
  }
}

const repeated = (index: number, path: string): CorruptStorageError =>
  corrupt(
    `The archive is damaged: ${entryName(index, path)} repeats the path of an earlier entry.`,
  );

/** `<size> <path>\n`, or undefined when the line is not that. */
function parseHeader(line: Uint8Array): { size: number; path: string } | undefined {
  let text: string;
  try {
    text = strictText.decode(line);
  } catch {
    return undefined; // not UTF-8: damaged
  }
  const match = /^(0|[1-9]\d{0,15}) ([^\n]+)\n$/.exec(text);
  if (match === null) return undefined;
  return { size: Number(match[1]), path: match[2] as string };
}

/** Checks the end entry against the entries read. */
function checkEnd(bytes: Uint8Array, seen: readonly { path: string; crc: number }[]): void {
  let end: unknown;
  try {
    end = JSON.parse(strictText.decode(bytes));
  } catch {
    end = undefined;
  }
  const fields = end as { entries?: unknown; crc32?: unknown } | undefined;
  const sums = fields?.crc32;
  if (
    typeof fields !== 'object' ||
    fields === null ||
    fields.entries !== seen.length ||
    !Array.isArray(sums) ||
    sums.length !== seen.length
  ) {
    throw corrupt(
      `The archive is damaged: its end entry (${END_ENTRY}) does not list the ${seen.length} entries read.`,
    );
  }
  for (let i = 0; i < seen.length; i++) {
    const entry = seen[i] as { path: string; crc: number };
    if (sums[i] !== entry.crc) {
      throw corrupt(
        `The archive is damaged: ${entryName(i, entry.path)} does not match its checksum (a changed or lost byte).`,
      );
    }
  }
}

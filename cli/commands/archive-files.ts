/**
 * The files of the archive commands (export, checkout, check, commit, import, backup, restore):
 * reading an archive file or a checkout directory, and writing an archive file safely.
 *
 * Reading: before a command opens a database or writes anything, its input is looked at — it must
 * exist, and its first entry must be the header of the kind the command takes (a tree archive's
 * `shelfdb-archive.json`, a backup's `shelfdb-backup.json`) in a version this shelfdb reads. What
 * fails there is refused with exit 2 (bad usage, cannot open: a missing file, a foreign file, a
 * backup given to `check`). What fails later, reading the rest (a CRC mismatch, an entry cut
 * short, bad JSON in an edited file), is a problem of the data: exit 1, named by `dataProblem`.
 *
 * Writing: bytes go to a temp file beside the target (a dotfile), flushed, then renamed over the
 * target, so a crash or a failed export never leaves half an archive under the name asked for.
 */
import { constants, openAsBlob } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { directoryEntries } from '../../src/archive/directory.js';
import { readArchive, type ArchiveEntry, type StreamedEntry } from '../../src/archive/snarf.js';
import { TreeBlobs } from '../../src/archive/tree-blobs.js';
import type { TreeSource } from '../../src/archive/tree-archive.js';
import { BACKUP_VERSIONS } from '../../src/archive/backup.js';
import { TREE_FORMAT, TREE_HEADER, TREE_VERSIONS } from '../../src/archive/tree-format.js';
import type { Connection } from '../../src/connection.js';
import type { Persistent } from '../../src/persistent.js';
import { CorruptStorageError, ShelfError } from '../../src/shared/errors.js';
import { formatBytes } from '../format.js';
import { CommandFailure, EXIT } from '../io.js';
import type { Progress } from '../progress.js';

/** The two kinds of archive, by their header entry. */
const KINDS = {
  tree: {
    header: TREE_HEADER,
    format: TREE_FORMAT,
    what: 'an export of objects (shelfdb export or checkout)',
    use: 'check, commit or import it',
    versions: TREE_VERSIONS,
  },
  backup: {
    header: 'shelfdb-backup.json',
    format: 'shelfdb-backup',
    what: 'a backup of a whole database (shelfdb backup)',
    use: 'restore it: shelfdb restore <file> <path>',
    versions: BACKUP_VERSIONS,
  },
} as const;

/** The kind of archive a command takes. */
export type ArchiveKind = keyof typeof KINDS;

/** An archive file or checkout a command reads, looked at and found to be of the right kind. */
export interface ArchiveInput {
  /** The absolute path. */
  path: string;
  /** A file (an archive) or a directory (a checkout). */
  form: 'file' | 'directory';
  /** The parsed header entry. */
  header: Record<string, unknown>;
  /** The archive, read from the start, drawing `progress` as it is read. */
  open(progress?: Progress): TreeSource;
  /** The archive file as a Blob (a file only): a source that can be read twice. */
  blob?: Blob;
}

/** An error's Node code (`ENOENT`, …), or undefined. */
const codeOf = (error: unknown): unknown => (error as { code?: unknown } | null)?.code;

/**
 * Looks at the archive file or checkout at `path` (see the module comment).
 * @param allowDirectory whether a checkout directory may be given (check, commit, import).
 * @throws CommandFailure (exit 2) naming the path: missing, unreadable, foreign, the other kind,
 *   an unknown version.
 */
export async function openArchiveInput(
  path: string,
  kind: ArchiveKind,
  allowDirectory: boolean,
): Promise<ArchiveInput> {
  const full = resolve(path);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(full)).isDirectory();
  } catch (error) {
    if (codeOf(error) === 'ENOENT') {
      const give = allowDirectory ? 'an archive file or a checkout directory' : 'an archive file';
      throw new CommandFailure(`${full} does not exist. Give ${give}.`, EXIT.usage);
    }
    throw new CommandFailure(`Cannot read ${full}: ${(error as Error).message}`, EXIT.usage, {
      cause: error,
    });
  }
  if (isDirectory && !allowDirectory) {
    throw new CommandFailure(
      `${full} is a directory: give the ${kind === 'backup' ? 'backup' : 'archive'} file.`,
      EXIT.usage,
    );
  }
  if (isDirectory) {
    const first = await firstEntry(full, directoryEntries(full));
    const header = headerOf(full, first, kind);
    return {
      path: full,
      form: 'directory',
      header,
      open: (progress) =>
        counted(
          directoryEntries(full, { streamed: TreeBlobs.isBlobPath }),
          entryCount(header),
          progress,
        ),
    };
  }
  const blob = await openAsBlob(full);
  const first = await firstEntry(full, readArchive(blob));
  const header = headerOf(full, first, kind);
  return {
    path: full,
    form: 'file',
    header,
    blob,
    open: (progress) => countedBytes(blob, progress),
  };
}

/** The first entry of an archive or checkout. @throws CommandFailure (exit 2) when none reads. */
async function firstEntry(
  full: string,
  entries: AsyncGenerator<ArchiveEntry>,
): Promise<ArchiveEntry> {
  try {
    const first = await entries.next();
    if (first.done === true) throw new CorruptStorageError('It holds no entry.');
    return first.value;
  } catch (error) {
    if (!(error instanceof ShelfError)) throw error;
    // A directory's own message names it and says what to do.
    const message = error.message.startsWith(full)
      ? error.message
      : `${full} is not a shelfdb archive: ${error.message}`;
    throw new CommandFailure(message, EXIT.usage, { cause: error });
  } finally {
    await entries.return(undefined); // only the header was wanted
  }
}

/** The header entry's fields. @throws CommandFailure (exit 2) for another kind or version. */
function headerOf(full: string, first: ArchiveEntry, kind: ArchiveKind): Record<string, unknown> {
  const expected = KINDS[kind];
  const other = KINDS[kind === 'tree' ? 'backup' : 'tree'];
  if (first.path === other.header) {
    throw new CommandFailure(
      `${full} is ${other.what}, not ${expected.what}: ${other.use}.`,
      EXIT.usage,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(first.bytes));
  } catch {
    header = undefined;
  }
  const fields = header as Record<string, unknown> | undefined;
  if (
    first.path !== expected.header ||
    typeof fields !== 'object' ||
    fields === null ||
    fields.format !== expected.format
  ) {
    throw new CommandFailure(
      `${full} is not ${expected.what}: its first entry is ${first.path}, not a ${expected.header} of format "${expected.format}".`,
      EXIT.usage,
    );
  }
  if (!expected.versions.includes(fields.version as number)) {
    throw new CommandFailure(
      `${full} has format version ${JSON.stringify(fields.version)}, and this shelfdb reads version ${expected.versions.join(' or ')}: update shelfdb.`,
      EXIT.usage,
    );
  }
  return fields;
}

/** How many entries a checkout's header lists (for progress), 0 if it does not say. */
function entryCount(header: Record<string, unknown>): number {
  return Array.isArray(header.entries) ? header.entries.length : 0;
}

/** `entries`, drawing progress per entry of `total`. */
async function* counted(
  entries: AsyncIterable<ArchiveEntry | StreamedEntry>,
  total: number,
  progress: Progress | undefined,
): AsyncGenerator<ArchiveEntry | StreamedEntry> {
  let done = 0;
  for await (const entry of entries) {
    if (entry.path.startsWith('objects/') && !entry.path.includes('.page-')) done++;
    progress?.update(Math.min(done, total), total, 'reading');
    yield entry;
  }
}

/** The bytes of `blob` as a stream, drawing progress by bytes read. */
function countedBytes(blob: Blob, progress: Progress | undefined): ReadableStream<Uint8Array> {
  const stream = blob.stream() as ReadableStream<Uint8Array>;
  if (progress === undefined) return stream;
  let done = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        done += chunk.byteLength;
        progress.update(done, blob.size, 'reading');
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * A damaged archive found while reading it whole (after its header read): exit 1, naming the file
 * or checkout. Anything else is returned as it is.
 */
export function dataProblem(error: unknown, input: ArchiveInput): unknown {
  if (error instanceof CorruptStorageError) {
    return new CommandFailure(`${input.path}: ${error.message}`, EXIT.problems, { cause: error });
  }
  return error;
}

/**
 * Refuses (exit 2) an output path that cannot take a file: a directory, or in a folder that does
 * not exist. Called before any work, so a mistyped path costs nothing.
 * @returns the absolute path.
 */
export async function checkOutputFile(file: string): Promise<string> {
  const full = resolve(file);
  const folder = dirname(full);
  try {
    if (!(await stat(folder)).isDirectory()) {
      throw new CommandFailure(`Cannot write ${full}: ${folder} is not a folder.`, EXIT.usage);
    }
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
    throw new CommandFailure(
      `Cannot write ${full}: the folder ${folder} does not exist.`,
      EXIT.usage,
    );
  }
  try {
    if ((await stat(full)).isDirectory()) {
      throw new CommandFailure(
        `Cannot write ${full}: it is a directory. Give a file name.`,
        EXIT.usage,
      );
    }
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
  }
  return full;
}

/**
 * Writes `stream` to `full` through a flushed temp file renamed over it, drawing the bytes written
 * on `progress`; on any failure the temp file is removed and `full` is as it was.
 * @param check runs on the complete temp file before the rename (reads its header back).
 * @returns the bytes written, and what `check` returned.
 */
export async function writeArchiveFile<T>(
  stream: ReadableStream<Uint8Array>,
  full: string,
  progress: Progress,
  check: (written: Blob) => Promise<T>,
): Promise<{ bytes: number; checked: T }> {
  const temp = join(dirname(full), `.${basename(full)}.${crypto.randomUUID()}.tmp`);
  const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
  let bytes = 0;
  try {
    try {
      const reader = stream.getReader();
      try {
        for (let next = await reader.read(); next.done !== true; next = await reader.read()) {
          await handle.write(next.value);
          bytes += next.value.byteLength;
          progress.note(`${formatBytes(bytes)} written`);
        }
      } catch (error) {
        // Ends the export's reading (a failed write): the write's error is the one reported.
        await reader.cancel(error).catch(() => undefined); // the stream may have failed itself
        throw error;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    const checked = await check(await openAsBlob(temp));
    await rename(temp, full);
    return { bytes, checked };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    progress.clear();
  }
}

/** The header of an archive just written (its first entry), parsed. */
export async function writtenHeader(written: Blob): Promise<Record<string, unknown>> {
  const entries = readArchive(written);
  try {
    const first = await entries.next();
    if (first.done === true) return {};
    return JSON.parse(new TextDecoder().decode(first.value.bytes)) as Record<string, unknown>;
  } finally {
    await entries.return(undefined);
  }
}

/** A count from a header's `counts`, 0 when absent. */
export function countOf(header: Record<string, unknown>, name: string): number {
  const counts = header.counts as Record<string, unknown> | undefined;
  const value = counts?.[name];
  return typeof value === 'number' ? value : 0;
}

/** `n thing(s)`. */
export function plural(n: number, thing: string): string {
  return `${n} ${thing}${n === 1 ? '' : 's'}`;
}

/**
 * The object `oid` of `conn`, loaded.
 * @throws CommandFailure (exit 1) when there is none, naming `role` (the start, --into).
 */
export async function objectAt(
  conn: Connection,
  path: string,
  oid: number,
  role: string,
): Promise<Persistent> {
  const obj = await conn.get(oid);
  if (obj === undefined) {
    throw new CommandFailure(
      `${path} has no object ${oid} (${role}): it was never stored, or pack removed it as unreachable. \`shelfdb log ${path}\` lists the transactions and the oids they wrote.`,
      EXIT.problems,
    );
  }
  return obj;
}

/**
 * A checkout: a tree archive's entries as files of a directory (Node only), so a person edits
 * objects in an editor and keeps them under version control, then checks and commits them back.
 *
 * Layout: `<dir>/shelfdb-archive.json` (the header), `<dir>/objects/<id>.json` (with a BTree's
 * `<id>.page-<n>.json` beside it) and `<dir>/blobs/<hash>` (the blob files of the tree's Blobs,
 * checkout-blobs.ts) — the archive's own paths, byte for byte. The archive's end entry (its
 * checksums) is not written: files are meant to change, and check compares hashes instead.
 *
 * Writing (`writeCheckout`):
 * - Each file goes to a temp name (a dotfile beside it), is flushed, then renamed over the final
 *   name, so a crash leaves the old file or the new one, never half of one (checkout-node.ts). A
 *   blob file streamed from the archive is written a piece at a time: a blob of any size.
 * - The header is written last, and an existing checkout's header is removed first: a checkout cut
 *   short by a crash has no header, so it is never read as a whole one (reading it is refused,
 *   saying to check out again; checking out again into it is allowed).
 * - A directory holding anything but a checkout's names (and dotfiles: `.git`) is refused before
 *   anything is written. Checking out into an existing checkout replaces it: files of objects and
 *   blobs the new archive does not hold are removed.
 *
 * Reading (`directoryEntries`) yields the header first, then each object file, read only when the
 * consumer asks for it (memory: the list of names and one file), a blob record's blob file just
 * before it. Dotfiles and dot-folders are skipped at every level (`.git`, an editor's swap files,
 * a crashed write's temp file).
 *
 * Browser builds replace this module with directory.browser.ts (scripts/build.mjs,
 * demo/vite.config.ts): Node's modules are reached at run time only (checkout-node.ts).
 */
import { CorruptStorageError, ShelfError } from '../shared/errors.js';
import {
  BLOBS_FOLDER,
  blobFolder,
  blobNamedBy,
  isBlobEntry,
  readBlobFile,
  refuseForeign,
  removeStaleBlobs,
  writeBlobFile,
} from './checkout-blobs.js';
import {
  codeOf,
  nodeModules,
  writeFileSafely,
  writePiecesSafely,
  type NodeDirent,
  type NodeModules,
} from './checkout-node.js';
import { badPath, END_ENTRY, type ArchiveEntry, type StreamedEntry } from './snarf.js';
import { WritePool } from './write-pool.js';

import { OBJECTS_FOLDER as OBJECTS, TREE_HEADER as CHECKOUT_HEADER } from './tree-format.js';

/**
 * How many files are written at once. Each file is flushed (fsync) before its rename, and a flush
 * waits for the disk: one at a time, a checkout of 5,000 objects took 20 s on ext4; flushes in
 * flight together share the file system's journal commits.
 */
const WRITES_AT_ONCE = 32;

/** What `writeCheckout` did. */
export interface CheckoutResult {
  /** The directory, as an absolute path. */
  dir: string;
  /** Files written (the header and one per object, page or blob file). */
  files: number;
  /** Their bytes. */
  bytes: number;
  /**
   * Files of an earlier checkout removed because the new archive does not hold their objects (or
   * their blobs).
   */
  removed: number;
}

/**
 * Writes a tree archive's entries into directory `dir` as files (created if missing; an earlier
 * checkout there is replaced). The archive's end entry is not written. Streamed entries (blob
 * files, read with `readArchive`'s `streamed`) are written a piece at a time as they come, so a
 * blob of any size costs one piece of memory; every blob file is checked against its name.
 * @param entries a tree archive's entries, header first:
 *   `readArchive(exportTree(conn, start), { streamed: (p) => p.startsWith('blobs/') })`.
 * @throws ShelfError naming `dir` when it is a file, or a folder holding anything but a checkout
 *   (and dotfiles), or when the first entry is not a tree archive's header; nothing is written then.
 *   A ShelfError naming the entry for a path that a checkout cannot hold (one starting with `.`);
 *   a CorruptStorageError naming a blob entry whose bytes do not hash to its name (no file gets
 *   its name, and the checkout is left without a header: check out again).
 * @example
 * const streamed = (path: string): boolean => path.startsWith('blobs/');
 * await writeCheckout('./todos', readArchive(exportTree(conn, project), { streamed }));
 */
export async function writeCheckout(
  dir: string,
  entries: AsyncIterable<ArchiveEntry | StreamedEntry> | Iterable<ArchiveEntry | StreamedEntry>,
): Promise<CheckoutResult> {
  const node = await nodeModules();
  const root = node.path.resolve(dir);
  const iterator =
    Symbol.asyncIterator in entries
      ? entries[Symbol.asyncIterator]()
      : (entries as Iterable<ArchiveEntry | StreamedEntry>)[Symbol.iterator]();
  const writes = new WritePool(WRITES_AT_ONCE);
  try {
    const first = await iterator.next();
    if (first.done === true || first.value.path !== CHECKOUT_HEADER || !('bytes' in first.value)) {
      throw new ShelfError(
        `Cannot check out into ${root}: the archive does not start with ${CHECKOUT_HEADER}, so it is not an export of an object tree (a backup is restored, not checked out). Nothing was written.`,
      );
    }
    const header = first.value;
    await prepare(node, root);
    const result: CheckoutResult = { dir: root, files: 0, bytes: 0, removed: 0 };
    const written = new Set<string>([CHECKOUT_HEADER]);
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      const entry = next.value;
      if (entry.path === END_ENTRY) continue; // checksums of the archive, not a file of the checkout
      checkPath(root, entry.path);
      if (written.has(entry.path)) {
        throw new ShelfError(
          `Cannot check out ${entry.path} into ${root}: the archive holds two entries of that name.`,
        );
      }
      written.add(entry.path);
      result.files++;
      if (isBlobEntry(entry.path) || 'chunks' in entry) {
        // A streamed entry's pieces must all be read before the next entry is asked for: written
        // here, not in the pool (files in flight there go on meanwhile).
        result.bytes += await writeLarge(node, root, entry);
        continue;
      }
      const file = node.path.join(root, ...entry.path.split('/'));
      await writes.add(() => writeFileSafely(node, file, entry.bytes));
      result.bytes += entry.bytes.byteLength;
    }
    await writes.drain();
    result.removed = await removeStale(node, root, written);
    // Last: only a complete checkout has a header.
    await writeFileSafely(node, node.path.join(root, CHECKOUT_HEADER), header.bytes);
    result.files++;
    result.bytes += header.bytes.byteLength;
    return result;
  } catch (error) {
    await writes.settle(); // no write goes on after the call ends
    await iterator.return?.();
    throw error;
  }
}

/** Writes a blob entry (checked against its name) or another streamed entry; returns its bytes. */
function writeLarge(
  node: NodeModules,
  root: string,
  entry: ArchiveEntry | StreamedEntry,
): Promise<number> {
  if (isBlobEntry(entry.path)) return writeBlobFile(node, root, entry);
  const file = node.path.join(root, ...entry.path.split('/'));
  return writePiecesSafely(node, file, (entry as StreamedEntry).chunks);
}

/**
 * Refuses a directory a checkout may not be written into — a file, or a folder holding anything
 * but a checkout's names and dotfiles — without writing anything. `writeCheckout` checks this
 * itself; a tool calls it first to refuse before an export even starts.
 * @throws ShelfError naming `dir` (and up to three foreign names) and what to give instead.
 * @example
 * await checkCheckoutTarget('./todos'); // throws if ./todos holds other files
 */
export async function checkCheckoutTarget(dir: string): Promise<void> {
  const node = await nodeModules();
  await inspectTarget(node, node.path.resolve(dir));
}

/** Whether `root` exists (as a folder a checkout may go into). @throws as checkCheckoutTarget. */
async function inspectTarget(node: NodeModules, root: string): Promise<'missing' | 'ready'> {
  let names: NodeDirent[];
  try {
    names = await node.fs.readdir(root, { withFileTypes: true });
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return 'missing';
    if (codeOf(error) === 'ENOTDIR') {
      throw new ShelfError(
        `Cannot check out into ${root}: it is a file. Give a new or empty folder, or an earlier checkout. Nothing was written.`,
      );
    }
    throw error;
  }
  const foreign = names
    .filter((d) => !d.name.startsWith('.'))
    .filter((d) => !(d.name === CHECKOUT_HEADER && d.isFile()))
    .filter((d) => !((d.name === OBJECTS || d.name === BLOBS_FOLDER) && d.isDirectory()))
    .map((d) => d.name);
  // A blobs folder holding other files would make the checkout unreadable (directoryEntries
  // refuses them): refused now, before anything is written.
  if (names.some((d) => d.name === BLOBS_FOLDER && d.isDirectory())) {
    foreign.push(...(await blobFolder(node, root)).foreign);
  }
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ', …' : '');
    throw new ShelfError(
      `Cannot check out into ${root}: it holds files that are not a checkout's (${shown}). Give a new or empty folder, or an earlier checkout (${CHECKOUT_HEADER}, ${OBJECTS}/ and ${BLOBS_FOLDER}/ of files named by their SHA-256). Nothing was written.`,
    );
  }
  return 'ready';
}

/**
 * Makes `root` ready to receive a checkout: creates it, or takes an empty folder or an earlier
 * checkout, whose header it removes until the new one is complete.
 */
async function prepare(node: NodeModules, root: string): Promise<void> {
  if ((await inspectTarget(node, root)) === 'missing') {
    await node.fs.mkdir(root, { recursive: true });
    return;
  }
  await node.fs.rm(node.path.join(root, CHECKOUT_HEADER), { force: true });
}

/** Refuses an entry path a checkout cannot hold. */
function checkPath(root: string, entryPath: string): void {
  const problem =
    badPath(entryPath) ??
    (entryPath.split('/').some((segment) => segment.startsWith('.'))
      ? 'a name starting with "." is skipped when a checkout is read'
      : undefined) ??
    ((entryPath.startsWith(`${OBJECTS}/`) && entryPath.endsWith('.json')) || isBlobEntry(entryPath)
      ? undefined
      : `a checkout holds ${CHECKOUT_HEADER}, ${OBJECTS}/*.json and ${BLOBS_FOLDER}/<sha-256> only`);
  if (problem !== undefined) {
    throw new ShelfError(
      `Cannot check out the entry ${JSON.stringify(entryPath)} into ${root}: ${problem}.`,
    );
  }
}

/**
 * Removes `objects/**.json` and `blobs/<hash>` files not in `written` (and blob temp files a
 * crashed checkout left); returns how many.
 */
async function removeStale(
  node: NodeModules,
  root: string,
  written: ReadonlySet<string>,
): Promise<number> {
  let removed = 0;
  for (const relative of await objectFiles(node, root)) {
    if (written.has(relative)) continue;
    await node.fs.rm(node.path.join(root, ...relative.split('/')), { force: true });
    removed++;
  }
  return removed + (await removeStaleBlobs(node, root, await blobFolder(node, root), written));
}

/**
 * The `.json` files under `<root>/objects`, as entry paths (`objects/12.json`), dotfiles and
 * dot-folders skipped; none when there is no objects folder.
 */
async function objectFiles({ fs, path }: NodeModules, root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    let children: NodeDirent[];
    try {
      children = await fs.readdir(path.join(root, ...relative.split('/')), {
        withFileTypes: true,
      });
    } catch (error) {
      if (codeOf(error) === 'ENOENT' && relative === OBJECTS) return;
      throw error;
    }
    for (const child of children) {
      if (child.name.startsWith('.')) continue;
      const inner = `${relative}/${child.name}`;
      let isDirectory = child.isDirectory();
      if (child.isSymbolicLink()) {
        isDirectory = (await fs.stat(path.join(root, ...inner.split('/')))).isDirectory();
      }
      if (isDirectory) await walk(inner);
      else if (child.name.endsWith('.json')) found.push(inner);
    }
  };
  await walk(OBJECTS);
  return found;
}

/** What sorts files of one object together: its id's path, and pages (by number) before it. */
function sortKey(entryPath: string): { id: string; page: number } {
  const page = /^(.*)\.page-(\d+)\.json$/.exec(entryPath);
  if (page !== null) return { id: page[1] as string, page: Number(page[2]) };
  return { id: entryPath.slice(0, -'.json'.length), page: Number.POSITIVE_INFINITY };
}

/** Numeric ids in numeric order (2 before 10), then the others by their text. */
function compareIds(a: string, b: string): number {
  const numberOf = (id: string): number | undefined => {
    const last = id.slice(id.lastIndexOf('/') + 1);
    return /^\d{1,15}$/.test(last) ? Number(last) : undefined;
  };
  const [x, y] = [numberOf(a), numberOf(b)];
  if (x !== undefined && y !== undefined && x !== y) return x - y;
  if (x !== undefined && y === undefined) return -1;
  if (x === undefined && y !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The object files in the order an export writes one object's entries: for each id, a BTree's
 * pages by number, then `<id>.json`; ids with numbers first, by number.
 */
function inArchiveOrder(paths: string[]): string[] {
  const keyed = paths.map((p) => ({ p, key: sortKey(p) }));
  keyed.sort((a, b) => compareIds(a.key.id, b.key.id) || a.key.page - b.key.page);
  return keyed.map(({ p }) => p);
}

/**
 * The entries of the checkout in `dir`, as an archive's: `shelfdb-archive.json` first, then every
 * `objects/**.json` (a BTree's pages before its object file), each file read when asked for, and
 * before a blob record's entry (class shelfdb.Blob) the blob file it names, `blobs/<hash>`, once
 * per hash, where an export has it (a blob file no record names is not read; a record whose blob
 * file is not in the checkout is read alone: the database it goes into may store the blob). Blob
 * files are checked against their names as they are read. Dotfiles and dot-folders (`.git`) are
 * skipped.
 *
 * With `options.streamed`, the blob files whose path it accepts come as StreamedEntry, read from
 * their files a piece at a time (any size): consume `chunks` before asking for the next entry. The
 * others come whole (at most MAX_ENTRY_BYTES), as with readArchive's `streamed`.
 * @throws ShelfError when `dir` does not exist or is a file, or (read whole) a blob file is larger
 *   than MAX_ENTRY_BYTES; CorruptStorageError when it holds no `shelfdb-archive.json` (not a
 *   checkout, or one cut short: check out again), a file whose name cannot be an entry's (naming
 *   it: rename it), or a blob file whose bytes do not hash to its name (naming it and the record
 *   entry naming it: when its last piece is read).
 * @example
 * const report = await checkArchive(conn, directoryEntries('./todos'));
 */
export function directoryEntries(dir: string): AsyncGenerator<ArchiveEntry>;
export function directoryEntries(
  dir: string,
  options: { streamed: (path: string) => boolean },
): AsyncGenerator<ArchiveEntry | StreamedEntry>;
export async function* directoryEntries(
  dir: string,
  options?: { streamed: (path: string) => boolean },
): AsyncGenerator<ArchiveEntry | StreamedEntry> {
  const node = await nodeModules();
  const { fs, path } = node;
  const root = path.resolve(dir);
  let isDirectory: boolean;
  try {
    isDirectory = (await fs.stat(root)).isDirectory();
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
    throw new ShelfError(
      `${root} does not exist. Give the folder of a checkout (\`shelfdb checkout <path> <oid> <dir>\` or writeCheckout wrote it).`,
    );
  }
  if (!isDirectory) {
    throw new ShelfError(
      `${root} is a file, not a checkout: a checkout is a folder holding ${CHECKOUT_HEADER} and ${OBJECTS}/. An archive file is read from a Blob or stream instead.`,
    );
  }
  let header: Uint8Array;
  try {
    header = await fs.readFile(path.join(root, CHECKOUT_HEADER));
  } catch (error) {
    if (codeOf(error) !== 'ENOENT') throw error;
    throw new CorruptStorageError(
      `${root} holds no ${CHECKOUT_HEADER}: it is not a checkout, or its checkout was cut short. Check the object tree out again into it (\`shelfdb checkout <path> <oid> ${root}\`). Nothing was written.`,
    );
  }
  const files = await objectFiles(node, root);
  for (const file of files) {
    const problem = badPath(file);
    if (problem !== undefined) {
      throw new CorruptStorageError(
        `${path.join(root, ...file.split('/'))} cannot be an entry of the checkout: ${problem}. Rename it (an added object's file is objects/<id>.json, id of letters, digits, . _ -). Nothing was written.`,
      );
    }
  }
  const blobs = await blobFolder(node, root);
  refuseForeign(node, root, blobs);
  const streamed = options?.streamed ?? ((): boolean => false);
  yield { path: CHECKOUT_HEADER, bytes: header };
  for (const file of inArchiveOrder(files)) {
    const bytes = await fs.readFile(path.join(root, ...file.split('/')));
    const hash = blobNamedBy(bytes);
    if (hash !== undefined && blobs.hashes.delete(hash)) {
      // Deleted from the set: a blob shared by several records goes out once, before the first.
      yield await readBlobFile(node, root, hash, file, streamed(`${BLOBS_FOLDER}/${hash}`));
    }
    yield { path: file, bytes };
  }
}

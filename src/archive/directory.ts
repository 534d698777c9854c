/**
 * A checkout: a tree archive's entries as files of a directory (Node only), so a person edits
 * objects in an editor and keeps them under version control, then checks and commits them back.
 *
 * Layout: `<dir>/shelfdb-archive.json` (the header) and `<dir>/objects/<id>.json` (with a BTree's
 * `<id>.page-<n>.json` beside it) — the archive's own paths, byte for byte. The archive's end entry
 * (its checksums) is not written: files are meant to change, and check compares hashes instead.
 *
 * Writing (`writeCheckout`):
 * - Each file goes to a temp name (a dotfile beside it), is flushed, then renamed over the final
 *   name, so a crash leaves the old file or the new one, never half of one.
 * - The header is written last, and an existing checkout's header is removed first: a checkout cut
 *   short by a crash has no header, so it is never read as a whole one (reading it is refused,
 *   saying to check out again; checking out again into it is allowed).
 * - A directory holding anything but a checkout's names (and dotfiles: `.git`) is refused before
 *   anything is written. Checking out into an existing checkout replaces it: files of objects the
 *   new archive does not hold are removed.
 *
 * Reading (`directoryEntries`) yields the header first, then each object file, read only when the
 * consumer asks for it (memory: the list of names and one file). Dotfiles and dot-folders are
 * skipped at every level (`.git`, an editor's swap files, a crashed write's temp file).
 *
 * Node's modules are reached at run time and typed by hand (as worker/node-platform.ts does), so
 * the page side type-checks without Node's types; browser builds replace this module with
 * directory.browser.ts (scripts/build.mjs, demo/vite.config.ts).
 */
import { CorruptStorageError, ShelfError } from '../shared/errors.js';
import { badPath, END_ENTRY, type ArchiveEntry } from './snarf.js';
import { WritePool } from './write-pool.js';

import { OBJECTS_FOLDER as OBJECTS, TREE_HEADER as CHECKOUT_HEADER } from './tree-format.js';

/** A directory entry, as `readdir(…, { withFileTypes: true })` gives it. */
interface NodeDirent {
  name: string;
  isDirectory(): boolean;
  isFile(): boolean;
  isSymbolicLink(): boolean;
}

/** An open file, as `fs.promises.open` gives it. */
interface NodeFileHandle {
  writeFile(data: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The part of node:fs/promises a checkout uses. */
interface NodeFsPromises {
  mkdir(path: string, options: { recursive: true }): Promise<string | undefined>;
  readdir(path: string, options: { withFileTypes: true }): Promise<NodeDirent[]>;
  readFile(path: string): Promise<Uint8Array>;
  open(path: string, flags: string): Promise<NodeFileHandle>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
  stat(path: string): Promise<{ isDirectory(): boolean; isFile(): boolean }>;
}

/** The part of node:path a checkout uses. */
interface NodePath {
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
  resolve(path: string): string;
}

interface Node {
  fs: NodeFsPromises;
  path: NodePath;
}

/** Node's modules, loaded on first use (never at import: no import-time side effects). */
async function node(): Promise<Node> {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (proc === undefined) {
    throw new ShelfError(
      'A checkout is a directory on disk: it needs Node. In a browser, export to a Blob instead.',
    );
  }
  const load = async <T>(id: string): Promise<T> =>
    (proc.getBuiltinModule?.(id) as T | undefined) ?? ((await import(/* @vite-ignore */ id)) as T);
  const [fs, path] = await Promise.all([
    load<NodeFsPromises>('node:fs/promises'),
    load<NodePath>('node:path'),
  ]);
  return { fs, path };
}

/** An error's Node code (`ENOENT`, …), or undefined. */
function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

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
  /** Files written (the header and one per object or page). */
  files: number;
  /** Their bytes. */
  bytes: number;
  /** Files of an earlier checkout removed because the new archive does not hold their objects. */
  removed: number;
}

/**
 * Writes a tree archive's entries into directory `dir` as files (created if missing; an earlier
 * checkout there is replaced). The archive's end entry is not written.
 * @param entries a tree archive's entries, header first: `readArchive(exportTree(conn, start))`.
 * @throws ShelfError naming `dir` when it is a file, or a folder holding anything but a checkout
 *   (and dotfiles), or when the first entry is not a tree archive's header; nothing is written then.
 *   A ShelfError naming the entry for a path that a checkout cannot hold (one starting with `.`).
 * @example
 * await writeCheckout('./todos', readArchive(exportTree(conn, project)));
 */
export async function writeCheckout(
  dir: string,
  entries: AsyncIterable<ArchiveEntry> | Iterable<ArchiveEntry>,
): Promise<CheckoutResult> {
  const { fs, path } = await node();
  const root = path.resolve(dir);
  const iterator =
    Symbol.asyncIterator in entries
      ? entries[Symbol.asyncIterator]()
      : (entries as Iterable<ArchiveEntry>)[Symbol.iterator]();
  const writes = new WritePool(WRITES_AT_ONCE);
  try {
    const first = await iterator.next();
    if (first.done === true || first.value.path !== CHECKOUT_HEADER) {
      throw new ShelfError(
        `Cannot check out into ${root}: the archive does not start with ${CHECKOUT_HEADER}, so it is not an export of an object tree (a backup is restored, not checked out). Nothing was written.`,
      );
    }
    const header = first.value;
    await prepare(fs, path, root);
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
      const file = path.join(root, ...entry.path.split('/'));
      await writes.add(() => writeFileSafely(fs, path, file, entry.bytes));
      written.add(entry.path);
      result.files++;
      result.bytes += entry.bytes.byteLength;
    }
    await writes.drain();
    result.removed = await removeStale(fs, path, root, written);
    // Last: only a complete checkout has a header.
    await writeFileSafely(fs, path, path.join(root, CHECKOUT_HEADER), header.bytes);
    result.files++;
    result.bytes += header.bytes.byteLength;
    return result;
  } catch (error) {
    await writes.settle(); // no write goes on after the call ends
    await iterator.return?.();
    throw error;
  }
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
  const { fs, path } = await node();
  await inspectTarget(fs, path.resolve(dir));
}

/** Whether `root` exists (as a folder a checkout may go into). @throws as checkCheckoutTarget. */
async function inspectTarget(fs: NodeFsPromises, root: string): Promise<'missing' | 'ready'> {
  let names: NodeDirent[];
  try {
    names = await fs.readdir(root, { withFileTypes: true });
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
    .filter((d) => !(d.name === OBJECTS && d.isDirectory()))
    .map((d) => d.name);
  if (foreign.length > 0) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ', …' : '');
    throw new ShelfError(
      `Cannot check out into ${root}: it holds files that are not a checkout's (${shown}). Give a new or empty folder, or an earlier checkout (${CHECKOUT_HEADER} and ${OBJECTS}/). Nothing was written.`,
    );
  }
  return 'ready';
}

/**
 * Makes `root` ready to receive a checkout: creates it, or takes an empty folder or an earlier
 * checkout, whose header it removes until the new one is complete.
 */
async function prepare(fs: NodeFsPromises, path: NodePath, root: string): Promise<void> {
  if ((await inspectTarget(fs, root)) === 'missing') {
    await fs.mkdir(root, { recursive: true });
    return;
  }
  await fs.rm(path.join(root, CHECKOUT_HEADER), { force: true });
}

/** Refuses an entry path a checkout cannot hold. */
function checkPath(root: string, entryPath: string): void {
  const problem =
    badPath(entryPath) ??
    (entryPath.split('/').some((segment) => segment.startsWith('.'))
      ? 'a name starting with "." is skipped when a checkout is read'
      : undefined) ??
    (entryPath.startsWith(`${OBJECTS}/`) && entryPath.endsWith('.json')
      ? undefined
      : `a checkout holds ${CHECKOUT_HEADER} and ${OBJECTS}/*.json only`);
  if (problem !== undefined) {
    throw new ShelfError(
      `Cannot check out the entry ${JSON.stringify(entryPath)} into ${root}: ${problem}.`,
    );
  }
}

/** Writes `bytes` to `file` through a flushed temp file renamed over it (never a half file). */
async function writeFileSafely(
  fs: NodeFsPromises,
  path: NodePath,
  file: string,
  bytes: Uint8Array,
): Promise<void> {
  const folder = path.dirname(file);
  await fs.mkdir(folder, { recursive: true });
  // A dotfile: if a crash leaves it, readers skip it and the next checkout's cleanup ignores it.
  const temp = path.join(folder, `.${path.basename(file)}.${crypto.randomUUID()}.tmp`);
  const handle = await fs.open(temp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** Removes `objects/**.json` files not in `written`; returns how many. */
async function removeStale(
  fs: NodeFsPromises,
  path: NodePath,
  root: string,
  written: ReadonlySet<string>,
): Promise<number> {
  let removed = 0;
  for (const relative of await objectFiles(fs, path, root)) {
    if (written.has(relative)) continue;
    await fs.rm(path.join(root, ...relative.split('/')), { force: true });
    removed++;
  }
  return removed;
}

/**
 * The `.json` files under `<root>/objects`, as entry paths (`objects/12.json`), dotfiles and
 * dot-folders skipped; none when there is no objects folder.
 */
async function objectFiles(fs: NodeFsPromises, path: NodePath, root: string): Promise<string[]> {
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
 * `objects/**.json` (a BTree's pages before its object file), each file read when asked for.
 * Dotfiles and dot-folders (`.git`) are skipped.
 * @throws ShelfError when `dir` does not exist or is a file; CorruptStorageError when it holds no
 *   `shelfdb-archive.json` (not a checkout, or one cut short: check out again), or a file whose
 *   name cannot be an entry's (naming it: rename it).
 * @example
 * const report = await checkArchive(conn, directoryEntries('./todos'));
 */
export async function* directoryEntries(dir: string): AsyncGenerator<ArchiveEntry> {
  const { fs, path } = await node();
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
  const files = await objectFiles(fs, path, root);
  for (const file of files) {
    const problem = badPath(file);
    if (problem !== undefined) {
      throw new CorruptStorageError(
        `${path.join(root, ...file.split('/'))} cannot be an entry of the checkout: ${problem}. Rename it (an added object's file is objects/<id>.json, id of letters, digits, . _ -). Nothing was written.`,
      );
    }
  }
  yield { path: CHECKOUT_HEADER, bytes: header };
  for (const file of inArchiveOrder(files)) {
    yield { path: file, bytes: await fs.readFile(path.join(root, ...file.split('/'))) };
  }
}

/**
 * The Node file system as a checkout (directory.ts, checkout-blobs.ts) uses it, and its safe
 * writes: every file goes to a temp name (a dotfile beside it), is flushed, then renamed over the
 * final name, so a crash leaves the old file or the new one, never half of one.
 *
 * Node's modules are reached at run time and typed by hand (as worker/node-platform.ts does), so
 * the page side type-checks without Node's types; browser builds never reach this module (they
 * replace directory.ts, its only importer besides checkout-blobs.ts, with directory.browser.ts).
 */
import { ShelfError } from '../shared/errors.js';

/** A directory entry, as `readdir(…, { withFileTypes: true })` gives it. */
export interface NodeDirent {
  /** Its name in its folder. */
  name: string;
  /** True for a folder. */
  isDirectory(): boolean;
  /** True for a regular file. */
  isFile(): boolean;
  /** True for a symbolic link (stat it to know what it points at). */
  isSymbolicLink(): boolean;
}

/** An open file, as `fs.promises.open` gives it. */
export interface NodeFileHandle {
  /** Writes `data` whole at the current position. */
  writeFile(data: Uint8Array): Promise<void>;
  /** Writes up to `length` bytes of `data` from `offset` at the current position. */
  write(data: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  /** Reads up to `length` bytes at `position` into `data` from `offset`. */
  read(
    data: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
  /** Flushes the file to disk (fsync). */
  sync(): Promise<void>;
  /** Closes it. */
  close(): Promise<void>;
}

/** What `fs.promises.stat` tells a checkout. */
export interface NodeStats {
  /** True for a folder. */
  isDirectory(): boolean;
  /** True for a regular file. */
  isFile(): boolean;
  /** The file's length in bytes. */
  size: number;
}

/** The part of node:fs/promises a checkout uses. */
export interface NodeFsPromises {
  /** Creates a folder and its parents. */
  mkdir(path: string, options: { recursive: true }): Promise<string | undefined>;
  /** A folder's entries. */
  readdir(path: string, options: { withFileTypes: true }): Promise<NodeDirent[]>;
  /** A file's bytes. */
  readFile(path: string): Promise<Uint8Array>;
  /** Opens a file. */
  open(path: string, flags: string): Promise<NodeFileHandle>;
  /** Renames a file (over an existing one). */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file (nothing when it does not exist). */
  rm(path: string, options: { force: true }): Promise<void>;
  /** What a path is (links followed). */
  stat(path: string): Promise<NodeStats>;
}

/** The part of node:path a checkout uses. */
export interface NodePath {
  /** Joins path segments. */
  join(...parts: string[]): string;
  /** A path's folder. */
  dirname(path: string): string;
  /** A path's last segment. */
  basename(path: string): string;
  /** A path made absolute. */
  resolve(path: string): string;
}

/** A running SHA-256, as node:crypto's `createHash('sha256')` gives it. */
export interface NodeHash {
  /** Adds bytes. */
  update(data: Uint8Array): void;
  /** The hash of everything added, as lowercase hex. */
  digest(encoding: 'hex'): string;
}

/** The part of node:crypto a checkout uses. */
export interface NodeCrypto {
  /** A new running hash. */
  createHash(algorithm: 'sha256'): NodeHash;
}

/** Node's modules a checkout uses. */
export interface NodeModules {
  /** node:fs/promises. */
  fs: NodeFsPromises;
  /** node:path. */
  path: NodePath;
  /** node:crypto: blob files are checked against their names (native SHA-256, ~1 GB/s). */
  crypto: NodeCrypto;
}

/**
 * Node's modules, loaded on first use (never at import: no import-time side effects).
 * @throws ShelfError outside Node, saying what to do in a browser.
 */
export async function nodeModules(): Promise<NodeModules> {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (proc === undefined) {
    throw new ShelfError(
      'A checkout is a directory on disk: it needs Node. In a browser, export to a Blob instead.',
    );
  }
  const load = async <T>(id: string): Promise<T> =>
    (proc.getBuiltinModule?.(id) as T | undefined) ?? ((await import(/* @vite-ignore */ id)) as T);
  const [fs, path, crypto] = await Promise.all([
    load<NodeFsPromises>('node:fs/promises'),
    load<NodePath>('node:path'),
    load<NodeCrypto>('node:crypto'),
  ]);
  return { fs, path, crypto };
}

/** An error's Node code (`ENOENT`, …), or undefined. */
export function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** Writes `bytes` to `file` through a flushed temp file renamed over it (never a half file). */
export function writeFileSafely(node: NodeModules, file: string, bytes: Uint8Array): Promise<void> {
  return writeThroughTemp(node, file, (handle) => handle.writeFile(bytes));
}

/**
 * Writes `pieces` to `file` one at a time (a blob file of any size: one piece in memory), through
 * a flushed temp file renamed over it only once every piece was written. When `pieces` throws (a
 * blob whose bytes do not hash to its name), the temp file is removed and nothing has the name.
 * @returns the bytes written.
 */
export async function writePiecesSafely(
  node: NodeModules,
  file: string,
  pieces: AsyncIterable<Uint8Array>,
): Promise<number> {
  let written = 0;
  await writeThroughTemp(node, file, async (handle) => {
    for await (const piece of pieces) {
      // A write may take part of a piece: write the rest until it is all out.
      for (let at = 0; at < piece.byteLength;) {
        const { bytesWritten } = await handle.write(piece, at, piece.byteLength - at);
        at += bytesWritten;
      }
      written += piece.byteLength;
    }
  });
  return written;
}

/** The temp file's name: a dotfile, which readers skip and a crashed write leaves behind. */
export function tempName(name: string): string {
  return `.${name}.${crypto.randomUUID()}.tmp`;
}

/** Runs `write` on a temp file beside `file`, flushes it, renames it over `file`. */
async function writeThroughTemp(
  { fs, path }: NodeModules,
  file: string,
  write: (handle: NodeFileHandle) => Promise<void>,
): Promise<void> {
  const folder = path.dirname(file);
  await fs.mkdir(folder, { recursive: true });
  const temp = path.join(folder, tempName(path.basename(file)));
  try {
    const handle = await fs.open(temp, 'w');
    try {
      await write(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/**
 * The part of Node the 'file' storage uses (fs, path, the process), reached at run time and typed
 * by hand, so the storage side type-checks with WebWorker types and page bundlers never try to
 * bundle `node:fs`. Passed in as one object (`NodePlatform`) so tests can inject a recording or
 * failing file system.
 */
import { StorageError, StorageFullError } from '../src/shared/errors.js';
import { isFullDisk } from './storage-failures.js';

/** The part of node:fs used by the 'file' storage. */
export interface NodeFs {
  openSync(path: string, flags: string): number;
  closeSync(fd: number): void;
  readSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number;
  writeSync(
    fd: number,
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): number;
  fstatSync(fd: number): { size: number };
  ftruncateSync(fd: number, length: number): void;
  fsyncSync(fd: number): void;
  statSync(path: string): { isDirectory(): boolean };
  /** Returns the first directory it created, or undefined when all existed. */
  mkdirSync(path: string, options: { recursive: true }): string | undefined;
  readdirSync(path: string): string[];
  readFileSync(path: string): Uint8Array;
  unlinkSync(path: string): void;
  rmSync(path: string, options: { force: true }): void;
}

export interface NodePlatform {
  fs: NodeFs;
  join(dir: string, name: string): string;
  dirname(path: string): string;
  /** This process's id. */
  pid: number;
  hostname: string;
  /** process.kill(pid, 0): throws ESRCH when no process has that id. */
  probe(pid: number): void;
  /** process.uptime(), seconds. */
  uptime(): number;
}

interface NodeProcess {
  pid: number;
  kill(pid: number, signal: number): void;
  uptime(): number;
  getBuiltinModule?: (id: string) => unknown;
}

/** Node's modules and process, loaded on first use of the 'file' storage. */
export async function nodePlatform(): Promise<NodePlatform> {
  const proc = (globalThis as { process?: NodeProcess }).process;
  if (proc === undefined) {
    throw new StorageError("Storage 'file' needs Node: there is no `process` here.");
  }
  const load = async <T>(id: string): Promise<T> =>
    (proc.getBuiltinModule?.(id) as T | undefined) ?? ((await import(/* @vite-ignore */ id)) as T);
  const [fs, path, os] = await Promise.all([
    load<NodeFs>('node:fs'),
    load<{ join(a: string, b: string): string; dirname(p: string): string }>('node:path'),
    load<{ hostname(): string }>('node:os'),
  ]);
  return {
    fs,
    join: (dir, name) => path.join(dir, name),
    dirname: (p) => path.dirname(p),
    pid: proc.pid,
    hostname: os.hostname(),
    probe: (pid) => proc.kill(pid, 0),
    uptime: () => proc.uptime(),
  };
}

/** The `code` of a Node system error (ENOENT, EEXIST...), if it has one. */
export const errorCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/**
 * Makes the names in directory `path` durable: a file created or removed is only certain to be
 * there (or gone) after a crash once its directory is fsynced, not when the file itself is.
 */
export function syncDirectory(fs: NodeFs, path: string): void {
  // Windows cannot open a directory as a file (EISDIR) or flush one (EPERM), and some file
  // systems (network, FUSE) refuse fsync on directories (EINVAL): there the names are made
  // durable by the file system itself or not at all, and nothing more can be done from here.
  const unsupported = (error: unknown): boolean =>
    ['EISDIR', 'EPERM', 'EINVAL'].includes(errorCode(error) ?? '');
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (error) {
    if (unsupported(error)) return;
    throw error;
  }
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    if (!unsupported(error)) throw error;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A failure to create or write `what` while opening, as a shelfdb error: a full disk becomes
 * StorageFullError, a refused permission a StorageError saying so; others stay as they are. The
 * Node error is kept as `cause` and its `code` stays on the error, so callers that map by code
 * (ShelfStorage's full-disk check) still recognize it.
 */
export function openingError(error: unknown, what: string): unknown {
  const code = errorCode(error);
  let mapped: Error | undefined;
  if (isFullDisk(error)) {
    mapped = new StorageFullError(
      `Cannot create ${what}: the disk is full (${String(code)}). Nothing was stored. Free space and open the database again.`,
      { cause: error },
    );
  } else if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    mapped = new StorageError(
      `Cannot create ${what}: the file system refused (${code}). Give this process write access to the directory, or choose another path.`,
      { cause: error },
    );
  }
  return mapped === undefined ? error : Object.assign(mapped, { code });
}

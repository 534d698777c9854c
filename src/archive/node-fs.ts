/**
 * Node's file system for the archive code that handles 'file' databases (restore-mark.ts,
 * database-removal.ts): loaded at run time, so that page bundlers never try to bundle it, and typed
 * by hand (src/ has no Node types), as worker/node-platform.ts does for the storage side.
 */
import { StorageError } from '../shared/errors.js';

/** The part of node:fs the archive code uses. */
export interface NodeFs {
  existsSync(path: string): boolean;
  readdirSync(path: string): string[];
  openSync(path: string, flags: string): number;
  writeSync(fd: number, text: string): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  rmSync(path: string, options: { force: true; recursive?: boolean }): void;
}

/** Node's fs. @throws StorageError outside Node. */
export async function nodeFs(): Promise<NodeFs> {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  if (proc === undefined) throw new StorageError("Storage 'file' needs Node.");
  const id = 'node:fs';
  return (
    (proc.getBuiltinModule?.(id) as NodeFs | undefined) ??
    ((await import(/* @vite-ignore */ id)) as NodeFs)
  );
}

/**
 * Makes the names in `dir` durable (a file created or removed is only certain to be there, or
 * gone, after a crash once its directory is fsynced). A no-op where directories cannot be opened
 * or fsynced (Windows, some network file systems), as worker/node-platform.ts's syncDirectory.
 */
export function syncDirectory(fs: NodeFs, dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch {
    return; // Windows opens no directory: its file system keeps names with the files
  }
  try {
    fs.fsyncSync(fd);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM') throw error;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * BlockFile and BlockDirectory over Node's file system, for `openDatabase(name, { storage: 'file',
 * path })` in servers, tools and tests.
 *
 * Node's fs is reached at run time (process.getBuiltinModule, else a dynamic import) and typed by
 * the few functions used below, so this module type-checks with the storage side's WebWorker types
 * and the page's bundlers never try to bundle `node:fs`.
 */
import type { BlockDirectory, BlockFile } from './block-file.js';

/** The part of node:fs used here. */
interface NodeFs {
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
  mkdirSync(path: string, options: { recursive: true }): unknown;
  readdirSync(path: string): string[];
  rmSync(path: string, options: { force: true }): void;
}

async function nodeFs(): Promise<NodeFs> {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const builtin = proc?.getBuiltinModule?.('node:fs');
  if (builtin !== undefined) return builtin as NodeFs;
  const specifier = 'node:fs';
  return (await import(/* @vite-ignore */ specifier)) as NodeFs;
}

const join = (dir: string, name: string): string =>
  dir.endsWith('/') ? dir + name : `${dir}/${name}`;

export class NodeBlockFile implements BlockFile {
  /** The open file descriptor; -1 once closed. */
  private fd: number;

  constructor(
    private readonly fs: NodeFs,
    readonly path: string,
  ) {
    closeSync(fs, fs.openSync(path, 'a+')); // create if missing
    this.fd = fs.openSync(path, 'r+');
  }

  read(offset: number, length: number): Uint8Array {
    const buffer = new Uint8Array(Math.max(0, Math.min(length, this.size() - offset)));
    let done = 0;
    while (done < buffer.byteLength) {
      const n = this.fs.readSync(this.fd, buffer, done, buffer.byteLength - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === buffer.byteLength ? buffer : buffer.subarray(0, done);
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.byteLength) {
      done += this.fs.writeSync(this.fd, data, done, data.byteLength - done, offset + done);
    }
  }

  size(): number {
    return this.fs.fstatSync(this.fd).size;
  }

  truncate(size: number): void {
    this.fs.ftruncateSync(this.fd, size);
  }

  flush(): void {
    this.fs.fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) this.fs.closeSync(this.fd);
    this.fd = -1;
  }
}

function closeSync(fs: NodeFs, fd: number): void {
  fs.closeSync(fd);
}

export class NodeBlockDirectory implements BlockDirectory {
  private constructor(
    private readonly fs: NodeFs,
    readonly path: string,
  ) {}

  /** The directory at `path`, created if missing. */
  static async create(path: string): Promise<NodeBlockDirectory> {
    const fs = await nodeFs();
    fs.mkdirSync(path, { recursive: true });
    return new NodeBlockDirectory(fs, path);
  }

  async open(name: string): Promise<BlockFile> {
    return new NodeBlockFile(this.fs, join(this.path, name));
  }

  async list(): Promise<string[]> {
    return this.fs.readdirSync(this.path);
  }

  async remove(name: string): Promise<void> {
    this.fs.rmSync(join(this.path, name), { force: true });
  }
}

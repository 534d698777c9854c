/**
 * BlockFile and BlockDirectory over Node's file system, for `openDatabase(name, { storage: 'file',
 * path })` in servers, tools and tests. Node only (typed by worker/tsconfig.node.json).
 */
import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  readdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { BlockDirectory, BlockFile } from './block-file.js';

export class NodeBlockFile implements BlockFile {
  /** The open file descriptor; -1 once closed. */
  private fd: number;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'a+');
    closeSync(this.fd);
    this.fd = openSync(path, 'r+');
  }

  read(offset: number, length: number): Uint8Array {
    const buffer = new Uint8Array(Math.max(0, Math.min(length, this.size() - offset)));
    let done = 0;
    while (done < buffer.byteLength) {
      const n = readSync(this.fd, buffer, done, buffer.byteLength - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === buffer.byteLength ? buffer : buffer.subarray(0, done);
  }

  write(offset: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.byteLength) {
      done += writeSync(this.fd, data, done, data.byteLength - done, offset + done);
    }
  }

  size(): number {
    return fstatSync(this.fd).size;
  }

  truncate(size: number): void {
    ftruncateSync(this.fd, size);
  }

  flush(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export class NodeBlockDirectory implements BlockDirectory {
  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
  }

  async open(name: string): Promise<BlockFile> {
    return new NodeBlockFile(join(this.path, name));
  }

  async list(): Promise<string[]> {
    return readdirSync(this.path);
  }

  async remove(name: string): Promise<void> {
    rmSync(join(this.path, name), { force: true });
  }
}

/** Memory while a backup streams a 50 MB blob: one chunk at a time, never the blob whole. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database, openDatabase } from '../src/index.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { commitBlobs, pattern } from './archive-blobs-fixture.js';

const MB = 1_000_000;
const mib = (n: number): string => (n / 2 ** 20).toFixed(1);

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-archive-blobs-heap-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const KINDS: { name: string; open: () => Promise<Database> }[] = [
  { name: 'memory', open: async () => new Database(new MemoryStorage()) },
  {
    name: 'Node files (ShelfStorage)',
    open: () => openDatabase('heap', { storage: 'file', path: join(scratch, 'db') }),
  },
];

describe('a backup of a 50 MB blob', () => {
  for (const kind of KINDS) {
    it(`on ${kind.name}, streams it chunk by chunk: the live heap and array buffers grow by a few chunks, not by the blob (measured)`, async () => {
      const db = await kind.open();
      const storage = db.storage;
      const conn = db.open();
      await conn.root();
      await conn.commit();
      await commitBlobs(storage, [pattern(50 * MB, 5)]);
      // Vitest runs with --expose-gc (vite.config.ts): the live memory is measured after a
      // collection, so the bound does not depend on when V8 collects. The blob itself is held by
      // a MemoryStorage (in array buffers) before the backup starts: it is in the base; a
      // ShelfStorage reads it from its file.
      const gc = (globalThis as { gc?: () => void }).gc as () => void;
      const used = (): number => {
        const { heapUsed, arrayBuffers } = process.memoryUsage();
        return heapUsed + arrayBuffers;
      };
      gc();
      const base = used();
      let live = base;
      let bytes = 0;
      let chunks = 0;
      const reader = db.backup().getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        // Every fourth chunk: what the backup keeps would pile up between samples all the same.
        if (++chunks % 4 === 0) {
          gc();
          live = Math.max(live, used());
        }
      }
      expect(bytes).toBeGreaterThan(50 * MB);
      // eslint-disable-next-line no-console -- the measurement the report and BENCHMARKS.md quote
      console.info(
        `backup of a 50 MB blob on ${kind.name}: ${mib(bytes)} MiB read in ${chunks} chunks; heap + array buffers at start ${mib(base)} MiB, live after collection at most +${mib(live - base)} MiB`,
      );
      // A few 1 MiB chunks in flight and the storage's read buffers; the blob is 47.7 MiB.
      expect(live - base).toBeLessThan(16 * 2 ** 20);
      await db.close();
    }, 60_000); // 50 MB made, put, hashed and read with forced collections on a shared machine
  }
});

/**
 * Hunt 15: "nothing of a failed restore stays" — but a restore cut by a crash (the tab closed,
 * the process killed, power lost) leaves a database that opens as if it were whole: the first
 * transactions of the backup, nothing saying the rest is missing. Someone who restores onto a new
 * device and then retires the old one works on with part of their data.
 *
 * Not fixed (it needs a durable "restoring" mark that open refuses, or restoring under a temporary
 * name renamed at the end): `it.fails` keeps the suite green while the defect stands; make it `it`
 * once fixed.
 */
import { describe, expect, it } from 'vitest';
import { Database, MemoryStorage } from '../src/index.js';
import { archiveBytes } from '../src/archive/snarf.js';
import { restoreInto } from '../src/archive/restore.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { FaultDirectory } from './fault-directory.js';
import { CLASSES, todo } from './fixtures.js';

describe('hunt15: a restore cut by a crash', () => {
  it.fails(
    'leaves no database that opens as a whole one (ShelfStorage, crash after the first transactions)',
    async () => {
      const source = new Database(new MemoryStorage(), { classes: CLASSES });
      const conn = source.open();
      const root = await conn.root();
      for (let i = 0; i < 5; i++) {
        root.set(`t${i}`, todo(`todo ${i}`));
        await conn.commit({ note: `step ${i}` });
      }
      const bytes = await archiveBytes(source.backup());
      await source.close();
      // The backup arrives as a download: its first part, then the process dies.
      const text = new TextDecoder('latin1').decode(bytes);
      let cut = text.indexOf(' transactions/4.json\n');
      while (cut > 0 && /[0-9]/.test(text[cut - 1] as string)) cut--;
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes.slice(0, cut)); // and the rest never comes
        },
      });
      const dir = new FaultDirectory(15);
      const storage = await ShelfStorage.open(dir);
      void restoreInto(storage, stream).catch(() => undefined);
      for (let i = 0; i < 100 && (await storage.sync(0)).tid < 3; i++)
        await new Promise((r) => setTimeout(r, 5));
      expect((await storage.sync(0)).tid).toBe(3);
      // The crash: a fresh process finds the files as they were flushed.
      const reopened = await ShelfStorage.open(dir.crashImage('kept')).then(
        async (s) => {
          const tid = (await s.sync(0)).tid;
          await s.close();
          return `opened as a database of ${tid} transactions (of 6)`;
        },
        (error: Error) => `refused: ${error.message}`,
      );
      expect(reopened).toMatch(/^refused/);
    },
  );
});

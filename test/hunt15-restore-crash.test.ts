/**
 * Hunt 15: "nothing of a failed restore stays" — but a restore cut by a crash (the tab closed,
 * the process killed, power lost) left a database that opened as if it were whole: the first
 * transactions of the backup, nothing saying the rest is missing. Someone who restores onto a new
 * device and then retires the old one works on with part of their data.
 *
 * Fixed by the durable "restoring" mark (src/archive/restore-mark.ts): openDatabase refuses it.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database, MemoryStorage, openDatabase } from '../src/index.js';
import { archiveBytes } from '../src/archive/snarf.js';
import { restoreDatabase } from '../src/archive/restore.js';
import { CLASSES, todo } from './fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-hunt15-crash-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('hunt15: a restore cut by a crash', () => {
  it("leaves no database that opens as a whole one ('file' storage, crash after the first transactions)", async () => {
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
    let starved!: () => void;
    const waiting = new Promise<void>((resolve) => (starved = resolve));
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>(
      {
        start(c) {
          controller = c;
          c.enqueue(bytes.slice(0, cut)); // and the rest never comes
        },
        pull: () => starved(), // asked for more: transactions 1 to 3 are committed
      },
      { highWaterMark: 0 },
    );
    const path = join(scratch, 'restoring');
    const restoring = restoreDatabase('notes', stream, { storage: 'file', path }).catch(
      (error: unknown) => error, // ended below, after the crash image is taken
    );
    await waiting;
    // The crash: a fresh process finds the files as they are (without the dead process's lock).
    const crashed = join(scratch, 'crashed');
    cpSync(path, crashed, { recursive: true, filter: (from) => !from.endsWith('shelfdb.lock') });
    const reopened = await openDatabase('notes', { storage: 'file', path: crashed }).then(
      async (db) => {
        const tid = (await db.storage.sync(0)).tid;
        await db.close();
        return `opened as a database of ${tid} transactions (of 6)`;
      },
      (error: Error) => `refused: ${error.message}`,
    );
    controller.error(new Error('the process died'));
    await restoring;
    expect(reopened).toMatch(/^refused: .*restore .* was interrupted/);
  });
});

/**
 * The "restoring" mark (src/archive/restore-mark.ts): a restore cut off part-way leaves a database
 * that openDatabase and the command line refuse, saying what happened and what to do; a second
 * restoreDatabase replaces it; a finished or failed restore leaves no mark; a database that held
 * transactions is never marked. The IndexedDB mark runs on fake-indexeddb (the browser flows are in
 * e2e/restore-mark.spec.ts).
 */
import 'fake-indexeddb/auto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, StorageError } from '../src/index.js';
import { archiveBytes } from '../src/archive/snarf.js';
import { restoreDatabase } from '../src/archive/restore.js';
import {
  FILE_MARK,
  INDEXEDDB_MARKS,
  markPlaces,
  markedPlaces,
  refuseUnfinishedRestore,
  removeMark,
  writeMark,
} from '../src/archive/restore-mark.js';
import { cli } from './cli-fixture.js';
import { CLASSES, todo } from './fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-restore-mark-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let made = 0;
const fresh = (label: string): string => join(scratch, `${label}-${made++}`);

const INTERRUPTED =
  /restore of the database '[^']+' .* was interrupted.*Run restoreDatabase again.*replaces the unfinished one.*or delete it/s;

/** A backup of 6 transactions (tids 1 … 6: the root, then 5 notes). */
async function backupOfSix(): Promise<Uint8Array> {
  const source = await openDatabase('source', { storage: 'memory', classes: CLASSES });
  const conn = source.open();
  const root = await conn.root();
  for (let i = 0; i < 5; i++) {
    root.set(`t${i}`, todo(`todo ${i}`));
    await conn.commit({ note: `step ${i}` });
  }
  const bytes = await archiveBytes(source.backup());
  await source.close();
  return bytes;
}

/**
 * Starts restoring the first transactions of `bytes` (up to, not including, transaction 4) into
 * the 'file' database at `path` from a stream whose rest never comes; resolves once the restore
 * has committed them all and waits for more. `cut(error)` then ends the stream with an error.
 */
async function startCutRestore(
  bytes: Uint8Array,
  path: string,
): Promise<{ cut: (error: Error) => void; outcome: Promise<string> }> {
  const text = new TextDecoder('latin1').decode(bytes);
  let at = text.indexOf(' transactions/4.json\n');
  while (at > 0 && /[0-9]/.test(text[at - 1] as string)) at--;
  let waiting!: () => void;
  const starved = new Promise<void>((resolve) => (waiting = resolve));
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        c.enqueue(bytes.slice(0, at));
      },
      // Asked for more with the queue empty: every transaction before the cut is committed
      // (the reader reads the next entry only after the previous transaction's commit).
      pull() {
        waiting();
      },
    },
    { highWaterMark: 0 },
  );
  const outcome = restoreDatabase('notes', stream, { storage: 'file', path }).then(
    async (db) => {
      await db.close();
      return 'restored';
    },
    (error: Error) => `${error.name}: ${error.message}`,
  );
  await starved;
  return { cut: (error) => controller.error(error), outcome };
}

/** What a crash leaves of the 'file' database at `path`: its files, without the process's lock. */
function crashImage(path: string): string {
  const copy = fresh('crashed');
  cpSync(path, copy, { recursive: true, filter: (from) => !from.endsWith('shelfdb.lock') });
  return copy;
}

describe('a restore cut off part-way', () => {
  it("leaves a 'file' database that openDatabase refuses with a StorageError saying the restore was interrupted and what to do", async () => {
    const bytes = await backupOfSix();
    const path = fresh('cut');
    const { cut, outcome } = await startCutRestore(bytes, path);
    const crashed = crashImage(path);
    expect(readdirSync(crashed)).toContain(FILE_MARK);
    const refused = await openDatabase('notes', { storage: 'file', path: crashed }).then(
      async (db) => {
        const { tid } = await db.storage.sync(0);
        await db.close();
        return new Error(`opened, holding ${tid} of 6 transactions`);
      },
      (error: unknown) => error as Error,
    );
    expect(refused).toBeInstanceOf(StorageError);
    expect(refused.message).toMatch(INTERRUPTED);
    // What the mark hides: without it the same files open as a database of 3 of the 6.
    rmSync(join(crashed, FILE_MARK));
    const part = await openDatabase('notes', { storage: 'file', path: crashed });
    expect((await part.storage.sync(0)).tid).toBe(3);
    await part.close();
    cut(new Error('the download stopped'));
    expect(await outcome).toMatch(/the download stopped/);
  });

  it('is replaced by the next restoreDatabase of the name, which gives the whole backup and no mark', async () => {
    const bytes = await backupOfSix();
    const path = fresh('cut');
    const { cut, outcome } = await startCutRestore(bytes, path);
    const crashed = crashImage(path);
    cut(new Error('the tab was closed'));
    await outcome;
    const db = await restoreDatabase('notes', bytes, { storage: 'file', path: crashed });
    const notes: string[] = [];
    for await (const t of db.transactions()) notes.unshift(t.note);
    await db.close();
    expect(notes).toEqual(['root', 'step 0', 'step 1', 'step 2', 'step 3', 'step 4']);
    expect(readdirSync(crashed)).not.toContain(FILE_MARK);
    const reopened = await openDatabase('notes', { storage: 'file', path: crashed });
    expect((await reopened.storage.sync(0)).tid).toBe(6);
    await reopened.close();
  });

  it('that then fails removes its files first and its mark with its directory, leaving nothing', async () => {
    const bytes = await backupOfSix();
    const path = fresh('cut');
    const { cut, outcome } = await startCutRestore(bytes, path);
    cut(new Error('the network went away'));
    expect(await outcome).toMatch(/the network went away/);
    expect(existsSync(path)).toBe(false);
    // Into a directory that was there (empty) before: the directory stays, empty.
    const dir = fresh('kept');
    mkdirSync(dir);
    const second = await startCutRestore(bytes, dir);
    second.cut(new Error('stopped again'));
    await second.outcome;
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is refused by the command line with exit 2 and the message, and `shelfdb restore` onto it replaces it', async () => {
    const bytes = await backupOfSix();
    const path = fresh('cut');
    const { cut, outcome } = await startCutRestore(bytes, path);
    const crashed = crashImage(path);
    cut(new Error('killed'));
    await outcome;
    const info = await cli(['info', crashed]);
    expect(info.code).toBe(2);
    expect(info.stderr).toMatch(INTERRUPTED);
    expect(info.stderr).toContain(`shelfdb restore <backup> ${crashed}`);
    const file = join(fresh('backup'), 'notes.shelfdb-backup');
    const backup = await cli(['backup', crashed, file]);
    expect(backup.code).toBe(2); // backing up a part is refused the same way
    const full = fresh('full');
    mkdirSync(full);
    writeFileSync(join(full, 'notes.backup'), bytes);
    const restored = await cli(['restore', join(full, 'notes.backup'), crashed]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/6 transactions up to tid 6/);
    expect((await cli(['info', crashed])).code).toBe(0);
  });
});

describe('the mark is never left on a whole database', () => {
  it('a restore into a database that holds transactions is refused and marks nothing', async () => {
    const bytes = await backupOfSix();
    const path = fresh('whole');
    const db = await openDatabase('notes', { storage: 'file', path, classes: CLASSES });
    const conn = db.open();
    (await conn.root()).set('mine', 1);
    const tid = await conn.commit();
    await db.close();
    await expect(restoreDatabase('notes', bytes, { storage: 'file', path })).rejects.toThrow(
      /already holds transactions/,
    );
    expect(readdirSync(path)).not.toContain(FILE_MARK);
    const again = await openDatabase('notes', { storage: 'file', path });
    expect((await again.storage.sync(0)).tid).toBe(tid);
    await again.close();
  });

  it("a finished restore with durability 'relaxed' removes its mark and opens with the caller's options", async () => {
    const bytes = await backupOfSix();
    const path = fresh('relaxed');
    const db = await restoreDatabase('notes', bytes, {
      storage: 'file',
      path,
      durability: 'relaxed',
    });
    expect((await db.storage.sync(0)).tid).toBe(6);
    await db.close();
    expect(readdirSync(path)).not.toContain(FILE_MARK);
  });
});

describe('the IndexedDB mark (fake-indexeddb)', () => {
  it("is found by openDatabase's check for its name only, and removed; a check creates no database", async () => {
    const names = async (): Promise<(string | undefined)[]> =>
      (await indexedDB.databases()).map((d) => d.name);
    await refuseUnfinishedRestore('notes', 'indexeddb', undefined);
    expect(await names()).not.toContain(INDEXEDDB_MARKS);
    await writeMark({ name: 'notes', kind: 'indexeddb' });
    const refused = await refuseUnfinishedRestore('notes', 'indexeddb', undefined).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(refused).toBeInstanceOf(StorageError);
    expect(refused?.message).toMatch(INTERRUPTED);
    expect(await markedPlaces(markPlaces('other', 'indexeddb', undefined))).toEqual([]);
    await removeMark({ name: 'notes', kind: 'indexeddb' });
    await refuseUnfinishedRestore('notes', 'indexeddb', undefined);
  });
});

import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptStorageError, ShelfError, openDatabase, type Database } from '../src/index.js';
import { archiveBytes, readArchive, writeArchive } from '../src/archive/snarf.js';
import { restoreDatabase } from '../src/archive/restore.js';
import { CLASSES, todo, type Todo } from './fixtures.js';
import { backupBytes, dump, kinds, writeHistory, type Kind } from './backup-kinds.js';
import { historyBackends } from './history-backends.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';

const { kinds: KINDS, scratch, cleanup } = kinds();
afterAll(cleanup);

/** `bytes` as a stream of chunks of `size` bytes (a download as it arrives). */
function streamOf(bytes: Uint8Array, size = 97): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, (at += size)));
    },
  });
}

async function closeAll(...dbs: Database[]): Promise<void> {
  for (const db of dbs) await db.close();
}

describe('backup and restore across storage kinds', () => {
  for (const from of KINDS) {
    for (const to of KINDS) {
      it(`a backup of a ${from.name} database restored into ${to.name} storage has the same transactions, histories and current objects, and its own backup is the same again`, async () => {
        const source = await from.fresh();
        await writeHistory(source);
        const backup = await backupBytes(source, to.name === 'file');
        const restored = await to.restore(backup);
        const expected = await dump(source);
        expect(await dump(restored)).toEqual(expected);
        // Undo links and metadata are part of the transactions compared above; said plainly:
        expect(expected.transactions.some((t) => t.undoes !== undefined)).toBe(true);
        const again = await from.restore(await backupBytes(restored));
        expect(await dump(again)).toEqual(expected);
        await closeAll(source, restored, again);
      });
    }
  }
});

describe('a backup while commits go on', () => {
  for (const kind of KINDS) {
    it(`on ${kind.name}, holds the snapshot of the backup() call whole and nothing committed after it, even when the commits come between the reads`, async () => {
      const db = await kind.fresh();
      await writeHistory(db);
      const snapshot = (await db.storage.sync(0)).tid;
      const stream = db.backup();
      const writer = db.open();
      const root = await writer.root();
      const a = root.get('a') as Todo;
      await writer.load(a);
      const reader = stream.getReader();
      const chunks: Uint8Array[] = [];
      for (let i = 0; ; i++) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        // Between reads: a new object, a change of one the backup holds, and a pack.
        root.set(`n${i}`, todo(`new ${i}`));
        a.title = `changed ${i}`;
        await writer.commit({ note: `after ${i}` });
        if (i === 2) await db.pack();
      }
      const restored = await kind.restore(await archiveBytes(streamOf(concat(chunks))));
      expect((await restored.storage.sync(0)).tid).toBe(snapshot);
      const restoredDump = await dump(restored, Infinity, false);
      const sourceDump = await dump(db, snapshot, false);
      // The pack between reads removed old revisions of the source: compare what both still hold.
      expect(restoredDump.current).toEqual(sourceDump.current);
      expect(restoredDump.transactions.map((t) => t.tid)).toEqual(
        sourceDump.transactions.map((t) => t.tid),
      );
      await closeAll(db, restored);
    });
  }
});

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

describe('a backup after a pack', () => {
  /** Whether a kind lists the oids of revisions pack removed in `transactions()`. */
  const listsRemoved = (kind: Kind): boolean => kind.name !== 'file';
  for (const from of KINDS) {
    for (const to of KINDS) {
      it(`of ${from.name}, restored into ${to.name}, holds every revision a read can reach: the same histories, current objects and transactions`, async () => {
        const source = await from.fresh();
        await writeHistory(source);
        const old = source.open();
        await old.root(); // a snapshot pack keeps
        const conn = source.open();
        const a = (await conn.root()).get('a') as Todo;
        await conn.load(a);
        a.title = 'after the snapshot';
        await conn.commit({ note: 'after' });
        old.close();
        await source.pack();
        const restored = await to.restore(await backupBytes(source));
        // ShelfStorage lists only the revisions it holds; the others list what pack removed too.
        const sameListing = listsRemoved(to) || !listsRemoved(from);
        expect(await dump(restored, Infinity, sameListing)).toEqual(
          await dump(source, Infinity, sameListing),
        );
        const newest = (await restored.storage.sync(0)).tid;
        const reread = restored.open({ at: newest });
        const read = (await reread.root()).get('a') as Todo;
        await reread.load(read);
        expect(read.title).toBe('after the snapshot');
        await closeAll(source, restored);
      });
    }
  }
});

describe('after a restore', () => {
  for (const kind of KINDS) {
    it(`on ${kind.name}, new commits get tids above the restored ones and objects get oids never restored`, async () => {
      const source = await kind.fresh();
      await writeHistory(source);
      // An oid handed out and never stored: the restored database may not reuse it either.
      const [unused] = await source.storage.newOids(1);
      const restored = await kind.restore(await backupBytes(source));
      const before = await dump(restored);
      const restoredOids = new Set(before.transactions.flatMap((t) => t.oids));
      const newestTid = before.transactions.at(-1)?.tid ?? 0;
      const conn = restored.open();
      const root = await conn.root();
      const fresh = todo('fresh');
      root.set('fresh', fresh);
      const tid = await conn.commit();
      expect(tid).toBeGreaterThan(newestTid);
      const oid = fresh._p_oid as number;
      expect(restoredOids.has(oid)).toBe(false);
      const more = await restored.storage.newOids(100);
      for (const o of more) expect(restoredOids.has(o)).toBe(false);
      expect(Math.min(oid, ...more)).toBeGreaterThan(Math.max(...restoredOids));
      expect(unused).toBeDefined();
      await closeAll(source, restored);
    });
  }

  it('a file database restored and reopened keeps the restored tids, times and oids', async () => {
    const source = await openDatabase('s', { storage: 'memory', classes: CLASSES });
    await writeHistory(source);
    const path = join(scratch, 'reopened');
    const restored = await restoreDatabase('r', await backupBytes(source), {
      storage: 'file',
      path,
      classes: CLASSES,
    });
    await restored.close();
    const reopened = await openDatabase('r', { storage: 'file', path, classes: CLASSES });
    expect(await dump(reopened)).toEqual(await dump(source));
    const max = Math.max(...(await dump(source)).transactions.flatMap((t) => t.oids));
    expect((await reopened.storage.newOids(1))[0]).toBeGreaterThan(max);
    await closeAll(source, reopened);
  });
});

describe('restore refuses', () => {
  it('a database that already holds transactions, naming it, and leaves it as it was', async () => {
    const path = join(scratch, 'taken');
    const taken = await openDatabase('taken', { storage: 'file', path, classes: CLASSES });
    await writeHistory(taken);
    const before = await dump(taken);
    await taken.close();
    const source = await openDatabase('s', { storage: 'memory', classes: CLASSES });
    await writeHistory(source);
    const backup = await backupBytes(source);
    const restoring = restoreDatabase('taken', backup, { storage: 'file', path });
    await expect(restoring).rejects.toThrow(ShelfError);
    await expect(restoring).rejects.toThrow(/'taken' already holds transactions/);
    const again = await openDatabase('taken', { storage: 'file', path, classes: CLASSES });
    expect(await dump(again)).toEqual(before);
    await closeAll(again, source);
  });

  it('an archive that is not a backup, or of an unknown version, with CorruptStorageError naming it', async () => {
    const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
    const tree = await archiveBytes(
      writeArchive([
        { path: 'shelfdb-archive.json', bytes: encode({ format: 'shelfdb-archive' }) },
      ]),
    );
    await expect(restoreDatabase('x', tree, { storage: 'memory' })).rejects.toThrow(
      /not a shelfdb backup: its first entry is shelfdb-archive\.json/,
    );
    const future = await archiveBytes(
      writeArchive([
        {
          path: 'shelfdb-backup.json',
          bytes: encode({ format: 'shelfdb-backup', version: 3, snapshot: 0, counts: {} }),
        },
      ]),
    );
    await expect(restoreDatabase('x', future, { storage: 'memory' })).rejects.toThrow(
      CorruptStorageError,
    );
    await expect(restoreDatabase('x', future, { storage: 'memory' })).rejects.toThrow(
      /version 3; this shelfdb reads versions 1 and 2/,
    );
  });
});

/** A message that says which entry of the archive is damaged. */
const NAMES_AN_ENTRY =
  /entry|not a shelfdb archive|shelfdb-backup\.json|transactions\/\d+\.(json|bin)|shelfdb-end\.json/;

describe('a damaged backup', () => {
  /** A restore into a new 'file' directory: it must fail with CorruptStorageError and leave none. */
  async function refusedLeavingNothing(
    bytes: Uint8Array | ReadableStream<Uint8Array>,
    label: string,
  ): Promise<void> {
    const path = join(scratch, `damaged-${label}`);
    const restoring = restoreDatabase('d', bytes, { storage: 'file', path });
    await expect(restoring, label).rejects.toThrow(CorruptStorageError);
    expect(existsSync(path), `${label}: the database directory is left`).toBe(false);
  }

  it('cut at any of many lengths is refused, read whole first or as a stream, and leaves no database', async () => {
    const source = await openDatabase('s', { storage: 'memory', classes: CLASSES });
    await writeHistory(source);
    const backup = await backupBytes(source);
    const lengths = new Set([0, 1, 10, backup.byteLength - 1, backup.byteLength - 20]);
    for (let cut = 50; cut < backup.byteLength; cut += Math.ceil(backup.byteLength / 23))
      lengths.add(cut);
    for (const length of lengths) {
      const cutBytes = backup.slice(0, length);
      await refusedLeavingNothing(cutBytes, `bytes-${length}`);
      await refusedLeavingNothing(streamOf(cutBytes), `stream-${length}`);
    }
    await source.close();
  });

  it('with any one byte flipped is refused with CorruptStorageError naming an entry, and leaves no database', async () => {
    const source = await openDatabase('s', { storage: 'memory', classes: CLASSES });
    const conn = source.open();
    (await conn.root()).set('t', todo('t'));
    await conn.commit({ note: 'n' });
    const backup = await backupBytes(source);
    expect(backup.byteLength).toBeLessThan(2000);
    for (let i = 0; i < backup.byteLength; i++) {
      const damaged = backup.slice();
      damaged[i] = (damaged[i] as number) ^ 0x41;
      await expect(
        restoreDatabase('d', streamOf(damaged, 64), { storage: 'memory' }),
        `flip-${i}`,
      ).rejects.toThrow(NAMES_AN_ENTRY);
      await expect(
        restoreDatabase('d', streamOf(damaged, 64), { storage: 'memory' }),
      ).rejects.toThrow(CorruptStorageError);
      // As a stream into files: restored as it comes, so the database exists when the damage is
      // found, and is removed (one byte in eight: each opens a database).
      if (i % 8 === 0) await refusedLeavingNothing(streamOf(damaged, 64), `flip-${i}`);
    }
    // And read whole first (a Uint8Array): refused before any database is made.
    for (let i = 0; i < backup.byteLength; i += 7) {
      const damaged = backup.slice();
      damaged[i] = (damaged[i] as number) ^ 0x01;
      await refusedLeavingNothing(damaged, `whole-flip-${i}`);
    }
    await source.close();
  }, 60_000); // a thousand restores: the limit for a machine shared with other suites

  it('whose damage is found after transactions were written removes them, keeping a directory that was there', async () => {
    const source = await openDatabase('s', { storage: 'memory', classes: CLASSES });
    await writeHistory(source);
    const backup = await backupBytes(source);
    // The end entry's CRCs disagree with the last transaction's states: known only at the end.
    const entries: { path: string; bytes: Uint8Array }[] = [];
    for await (const entry of readArchive(backup)) entries.push(entry);
    const last = entries.at(-1) as { path: string; bytes: Uint8Array };
    expect(last.path).toMatch(/\.bin$/);
    const damaged = backup.slice();
    damaged[backup.byteLength - 200] = (damaged[backup.byteLength - 200] as number) ^ 0xff;
    const path = join(scratch, 'existing-dir');
    mkdirSync(path);
    await expect(
      restoreDatabase('d', streamOf(damaged), { storage: 'file', path }),
    ).rejects.toThrow(CorruptStorageError);
    expect(readdirSync(path)).toEqual([]);
    await source.close();
  });
});

describe('the storages’ restore mode (CommitRequest.restore)', () => {
  const state = new Uint8Array([1, 2, 3]);
  const backends = historyBackends();
  for (const backend of backends) {
    it(`on ${backend.name}, stores the given tid and time with gaps, stores a transaction without records, raises the next oid and refuses a tid not above the newest`, async () => {
      const storage = await backend.make();
      const record = { oid: 7, className: 'Todo', state, refs: [] };
      expect(
        await storage.commit({ baseTid: 0, records: [record], restore: { tid: 3, time: 1234 } }),
      ).toBe(3);
      expect(
        await storage.commit({
          baseTid: 3,
          records: [],
          note: 'emptied by pack',
          restore: { tid: 10, time: 5678 },
        }),
      ).toBe(10);
      await expect(
        storage.commit({ baseTid: 10, records: [record], restore: { tid: 10, time: 1 } }),
      ).rejects.toThrow(/restore\.tid 10 is not above the newest tid 10/);
      const listed = await storage.transactions();
      expect(listed.map(({ tid, time, note, oids }) => ({ tid, time, note, oids }))).toEqual([
        { tid: 10, time: 5678, note: 'emptied by pack', oids: [] },
        { tid: 3, time: 1234, note: '', oids: [7] },
      ]);
      expect(await storage.sync(0)).toEqual({ tid: 10, oids: [7] });
      expect((await storage.newOids(1))[0]).toBeGreaterThan(7);
      expect(await storage.commit({ baseTid: 10, records: [{ ...record, oid: 0 }] })).toBe(11);
      expect((await storage.history(7)).map((r) => [r.tid, r.time])).toEqual([[3, 1234]]);
      await storage.close();
    });
  }

  it('a ShelfStorage reopened after restore commits with gaps reads them back: tids, times, oids and the next tid', async () => {
    const dir = new MemoryBlockDirectory();
    const storage = await ShelfStorage.open(dir);
    const record = { oid: 40, className: 'Todo', state, refs: [] };
    await storage.commit({ baseTid: 0, records: [record], restore: { tid: 5, time: 50 } });
    await storage.commit({ baseTid: 5, records: [], restore: { tid: 9, time: 90 } });
    await storage.close();
    const reopened = await ShelfStorage.open(dir);
    expect((await reopened.transactions()).map((t) => [t.tid, t.time, t.oids])).toEqual([
      [9, 90, []],
      [5, 50, [40]],
    ]);
    expect((await reopened.newOids(1))[0]).toBeGreaterThan(40);
    expect(await reopened.commit({ baseTid: 9, records: [{ ...record, oid: 0 }] })).toBe(10);
    expect((await reopened.load([40]))[0]?.tid).toBe(5);
    await reopened.close();
  });
});

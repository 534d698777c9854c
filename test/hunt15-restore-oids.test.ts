/**
 * Hunt 15: oids handed out by newOids before a restore (another tab's pool, taken for a commit
 * that has not landed yet) must never be the oids of restored objects afterwards: a commit using
 * one would replace a restored object as if it were new.
 */
import 'fake-indexeddb/auto';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { Database, MemoryStorage } from '../src/index.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { archiveBytes } from '../src/archive/snarf.js';
import { restoreInto } from '../src/archive/restore.js';
import type { CommitRequest, Storage, Tid } from '../src/shared/storage.js';
import { CLASSES, todo, type Todo } from './fixtures.js';

async function sourceBackup(): Promise<Uint8Array> {
  const source = new Database(new MemoryStorage(), { classes: CLASSES });
  const conn = source.open();
  const root = await conn.root();
  for (const k of ['a', 'b', 'c', 'd', 'e']) root.set(k, todo(`restored ${k}`));
  await conn.commit({ note: 'source' });
  const bytes = await archiveBytes(source.backup());
  await source.close();
  return bytes;
}

/** `storage`, whose commits wait for `gate` (a tab whose commit is still on its way). */
function gated(storage: Storage, gate: Promise<void>): Storage {
  return new Proxy(storage, {
    get(target, key, receiver) {
      if (key === 'commit') {
        return async (txn: CommitRequest): Promise<Tid> => {
          await gate;
          return target.commit(txn);
        };
      }
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

const STORAGES: [string, () => Promise<Storage>][] = [
  ['memory', async () => new MemoryStorage()],
  ['shelf', () => ShelfStorage.open(new MemoryBlockDirectory())],
  [
    'indexeddb',
    () => IndexedDBStorage.open('hunt15', { indexedDB: new IDBFactory(), IDBKeyRange }),
  ],
];

describe('hunt15: a restore racing another tab that took oids', () => {
  it.each(STORAGES)(
    '%s: a tab that opens the database during a restore and takes oids never overwrites restored objects with its new ones',
    async (_, make) => {
      const backup = await sourceBackup(); // tid 1: the root; tid 2: five todos, oids 1 to 5
      const storage = await make();
      let openRestore!: () => void;
      const restoreGate = new Promise<void>((resolve) => (openRestore = resolve));
      let openB!: () => void;
      const gateB = new Promise<void>((resolve) => (openB = resolve));
      // The restore's second transaction waits (a slow download), after the first landed.
      let commits = 0;
      const restoreSide = new Proxy(storage, {
        get(target, key, receiver) {
          if (key === 'commit') {
            return async (txn: CommitRequest): Promise<Tid> => {
              if (commits++ > 0) await restoreGate;
              return target.commit(txn);
            };
          }
          const value = Reflect.get(target, key, receiver) as unknown;
          return typeof value === 'function'
            ? (value as (...a: unknown[]) => unknown).bind(target)
            : value;
        },
      }) as Storage;
      const restoring = restoreInto(restoreSide, backup);
      while ((await storage.sync(0)).tid < 1) await new Promise((r) => setTimeout(r, 1));
      // Tab B opens the same database now: the root is there; it adds an object (newOids answered,
      // its commit on its way).
      const tabB = new Database(gated(storage, gateB), { classes: CLASSES });
      const connB = tabB.open();
      let oidsTaken = false;
      const adding = connB.transact(async () => {
        const root = await connB.root();
        root.set('mine', todo('from tab B'));
      });
      for (let i = 0; i < 50 && !oidsTaken; i++) {
        await new Promise((r) => setTimeout(r, 1));
        oidsTaken = ((tabB as unknown as { oidPool: number[] }).oidPool.length ?? 0) > 0;
      }
      expect(oidsTaken).toBe(true);
      openRestore();
      const restored = await restoring.then(
        () => 'restored',
        (e: Error) => e.message,
      );
      openB();
      await adding.catch(() => undefined); // refused or landed: what matters is what it stored
      const reader = new Database(storage, { classes: CLASSES });
      const conn = reader.open();
      const root = await conn.root();
      if (restored === 'restored') {
        // The restore landed whole: every restored object as the backup had it.
        const titles: Record<string, string> = {};
        for (const k of ['a', 'b', 'c', 'd', 'e']) {
          const t = root.get(k) as Todo;
          await conn.load(t);
          titles[k] = t.title;
        }
        expect(titles).toEqual({
          a: 'restored a',
          b: 'restored b',
          c: 'restored c',
          d: 'restored d',
          e: 'restored e',
        });
      }
      await tabB.close();
      await reader.close();
    },
  );
});

/**
 * Hunt (issue 11), the connection's event paths: 'change' naming held objects whose changes were
 * dropped when the move that should name them failed, a commit that landed but whose snapshot move
 * failed, and events after close().
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ConnectionErrorEvent,
  Database,
  MemoryStorage,
  StorageBusyError,
  StorageError,
  type ChangeEvent,
  type CommitEvent,
  type Connection,
  type Storage,
} from '../src/index.js';
import { CLASSES, seededTodos, type Todo, todo } from './fixtures.js';
import { flakyStorage, type CommitFault } from './flaky-storage.js';

/**
 * A storage whose next `sync` calls fail with the errors queued in `syncFaults` (one each), and
 * whose commit answers can be held back (`holdAnswers`): the transaction lands, its answer waits.
 */
function faultySync(inner: Storage = new MemoryStorage()) {
  const syncFaults: Error[] = [];
  let answerGate: Promise<void> | undefined;
  let reached: (() => void) | undefined;
  const storage = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'sync') {
        return (since: number) => {
          const fault = syncFaults.shift();
          return fault === undefined ? target.sync(since) : Promise.reject(fault);
        };
      }
      if (prop === 'commit') {
        return async (...args: Parameters<Storage['commit']>) => {
          const tid = await target.commit(...args);
          if (answerGate !== undefined) {
            reached?.();
            await answerGate;
          }
          return tid;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  /** Holds the answers of commits from now on: resolves `landed` once one landed; `release` answers. */
  const holdAnswers = (): { landed: Promise<void>; release: () => void } => {
    let release = (): void => undefined;
    answerGate = new Promise<void>((resolve) => (release = resolve));
    const landed = new Promise<void>((resolve) => (reached = resolve));
    return {
      landed,
      release: () => {
        answerGate = undefined;
        release();
      },
    };
  };
  return { storage, syncFaults, holdAnswers };
}

const busy = (): StorageBusyError =>
  new StorageBusyError('The test storage did not answer this sync in time. Try again.');

/** Every oid named by a 'change' on `conn` from now on. */
function namedInChange(conn: Connection): Set<number> {
  const named = new Set<number>();
  conn.addEventListener('change', (e) => {
    for (const oid of (e as ChangeEvent).oids) named.add(oid);
  });
  return named;
}

/** A database over `storage` whose root holds todos a and b, committed by `conn`. */
const seeded = (storage: Storage) => seededTodos(new Database(storage, { classes: CLASSES }));

describe("Connection: 'change' names dropped held objects even when a move failed first", () => {
  it("names a held object whose change abort() dropped, when that abort's sync failed and the next abort succeeded", async () => {
    const s = faultySync();
    const { conn, a } = await seeded(s.storage);
    conn.hold(a);
    const named = namedInChange(conn);
    a.title = 'draft';
    s.syncFaults.push(busy());
    await expect(conn.abort()).rejects.toBeInstanceOf(StorageBusyError);
    await conn.abort();
    expect(named.has(a._p_oid as number)).toBe(true);
    expect((await conn.load(a)).title).toBe('a');
  });

  it('names, at the next move, a held object whose change was dropped by an abort whose sync failed, whatever moves next', async () => {
    // The next move: another abort, a sync, or a commit of another object (which moves by its own tid).
    for (const next of ['abort', 'sync', 'commit'] as const) {
      const s = faultySync();
      const { conn, a, b } = await seeded(s.storage);
      conn.hold(a);
      const named = namedInChange(conn);
      a.title = 'draft';
      s.syncFaults.push(busy());
      await expect(conn.abort()).rejects.toBeInstanceOf(StorageBusyError);
      if (next === 'abort') await conn.abort();
      if (next === 'sync') await conn.sync();
      if (next === 'commit') {
        await conn.load(b);
        b.title = 'b2';
        await conn.commit();
      }
      expect([next, named.has(a._p_oid as number)]).toEqual([next, true]);
    }
  });

  it('names the held objects a commit of unknown fate wrote once an abort succeeds, when the first abort after it failed to sync', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<CommitFault>('request', 'answer-broadcast-later', 'answer-and-broadcast'),
        fc.boolean(),
        async (fault, changedSince) => {
          const flaky = flakyStorage();
          const s = faultySync(flaky.storage);
          const { conn, a } = await seeded(s.storage);
          conn.hold(a);
          const named = namedInChange(conn);
          a.title = 'sent';
          flaky.faults.push(fault);
          await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
          if (changedSince) a.done = true;
          s.syncFaults.push(busy());
          await expect(conn.abort()).rejects.toBeInstanceOf(StorageBusyError);
          await conn.abort();
          expect(named.has(a._p_oid as number)).toBe(true);
          expect((await conn.load(a)).title).toBe(fault === 'request' ? 'a' : 'sent');
        },
      ),
      { numRuns: 30 },
    );
  });

  it('names a held object transact rolled back after a conflict, when the sync of the abort before its next run failed', async () => {
    const s = faultySync();
    const { db, conn, a, b } = await seeded(s.storage);
    conn.hold(a);
    const other = db.open();
    const b2 = (await other.load((await other.root()).get('b') as Todo)) as Todo;
    const named = namedInChange(conn);
    let runs = 0;
    const attempt = conn.transact(
      async () => {
        runs++;
        a.title = `draft ${runs}`;
        conn.readCurrent(b);
        if (runs === 1) {
          // Another connection writes b meanwhile: this run's commit conflicts (b only).
          b2.title = 'b, elsewhere';
          await other.commit();
          s.syncFaults.push(new StorageError('The test storage failed this sync.'));
        }
      },
      { retries: 1 },
    );
    await expect(attempt).rejects.toBeInstanceOf(StorageError);
    await conn.sync();
    expect(named.has(a._p_oid as number)).toBe(true);
    expect((await conn.load(a)).title).toBe('a');
  });
});

describe('Connection: a commit that landed resolves to its tid, even when the move past others’ commits fails', () => {
  /** conn and other share a database; conn's snapshot stays behind other's next commit. */
  async function behind() {
    const s = faultySync();
    const { db, conn, a } = await seeded(s.storage);
    conn.autoSync = false;
    const other = db.open();
    const b2 = (await other.load((await other.root()).get('b') as Todo)) as Todo;
    b2.title = 'b, elsewhere';
    await other.commit(); // conn does not move: autoSync is off
    const errors: unknown[] = [];
    conn.addEventListener('error', (e) => errors.push((e as ConnectionErrorEvent).error));
    return { s, conn, a, errors };
  }

  it('resolves commit() to the tid it landed under when the sync after it fails with StorageBusyError (never raised for a commit known to have landed)', async () => {
    const { s, conn, a, errors } = await behind();
    a.title = 'a2';
    s.syncFaults.push(busy());
    const tid = await conn.commit();
    expect(a._p_serial).toBe(tid);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StorageBusyError);
    // It was written once; the next boundary moves past what others committed.
    expect((await conn.history(a)).filter((r) => r.state.title === 'a2')).toHaveLength(1);
    await conn.sync();
    expect(conn.snapshotTid).toBeGreaterThanOrEqual(tid);
    const b = (await conn.root()).get('b') as Todo;
    expect((await conn.load(b)).title).toBe('b, elsewhere');
  });

  it('resolves transact() when its commit landed and the sync after it failed, so the app does not run it again', async () => {
    const { s, conn, a, errors } = await behind();
    let runs = 0;
    s.syncFaults.push(new StorageError('The test storage failed this sync.'));
    const result = await conn.transact(() => {
      runs++;
      a.title += '!';
      return 'done';
    });
    expect([result, runs, a.title]).toEqual(['done', 1, 'a!']);
    expect(errors).toHaveLength(1);
    expect((await conn.history(a)).filter((r) => r.state.title === 'a!')).toHaveLength(1);
  });
});

describe('Connection: nothing fires after close()', () => {
  it("fires no 'commit' after close() when the commit it had sent lands, and the commit resolves to its tid", async () => {
    const s = faultySync();
    const { conn, a } = await seeded(s.storage);
    const commits: number[] = [];
    conn.addEventListener('commit', (e) => commits.push((e as CommitEvent).tid));
    a.title = 'a2';
    const answers = s.holdAnswers();
    const committing = conn.commit();
    await answers.landed;
    conn.close();
    answers.release();
    expect(await committing).toBeGreaterThan(0);
    expect(commits).toEqual([]);
  });
});

describe("Connection: a 'commit' listener reads what its commit wrote", () => {
  it("reads the objects as written, and 'change' does not name them, when others' commits landed before it and none after", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), async (pendingInstead) => {
        // The snapshot stays behind other's commit: autoSync off, or a change pending meanwhile.
        const s = faultySync();
        const { db, conn, a, b } = await seeded(s.storage);
        if (!pendingInstead) conn.autoSync = false;
        const other = db.open();
        const root2 = await other.root();
        const c2 = todo('c');
        root2.set('c', c2);
        if (pendingInstead) a.title = 'a2';
        await other.commit();
        a.title = 'a2';
        b.done = true;
        const seen: unknown[] = [];
        conn.addEventListener('commit', () => {
          try {
            seen.push([a.title, b.done]);
          } catch (error) {
            seen.push(error);
          }
        });
        const named = namedInChange(conn);
        await conn.commit();
        expect(seen).toEqual([['a2', true]]);
        expect([named.has(a._p_oid as number), named.has(b._p_oid as number)]).toEqual([
          false,
          false,
        ]);
      }),
      { numRuns: 4 },
    );
  });
});

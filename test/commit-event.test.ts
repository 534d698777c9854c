/**
 * The 'commit' event (CommitEvent): a connection tells its own listeners which objects its own
 * commit wrote, as 'change' tells them which objects others' commits changed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CommitEvent,
  Database,
  PersistentList,
  StorageBusyError,
  WriteConflictError,
  type Connection,
  type Persistent,
} from '../src/index.js';
import { CLASSES, Todo, makeDb, seededTodos, todo } from './fixtures.js';
import { flakyStorage } from './flaky-storage.js';

/** Every 'commit' event on `conn` from now on, as `[tid, sorted oids]`. */
function recordCommits(conn: Connection): [number, number[]][] {
  const seen: [number, number[]][] = [];
  conn.addEventListener('commit', (e) => {
    expect(e).toBeInstanceOf(CommitEvent);
    const { tid, oids } = e as CommitEvent;
    seen.push([tid, [...oids].sort((x, y) => x - y)]);
  });
  return seen;
}

const sorted = (oids: (number | undefined)[]): number[] =>
  oids.map((oid) => oid as number).sort((x, y) => x - y);

/** A connection whose root holds todos a and b, committed. */
const seeded = (db = makeDb().db) => seededTodos(db);

describe("Connection: the 'commit' event", () => {
  it('is exported as CommitEvent, firing with the type "commit"', () => {
    const event = new CommitEvent(7, [0, 3]);
    expect([event.type, event.tid, event.oids]).toEqual(['commit', 7, [0, 3]]);
  });

  it('fires once per commit that writes, with its tid and the oids written, new objects included', async () => {
    const { conn, root, a } = await seeded();
    const commits = recordCommits(conn);
    a.title = 'a2';
    const first = await conn.commit();
    expect(commits).toEqual([[first, [a._p_oid as number]]]);
    const c = todo('c');
    root.set('c', c);
    const second = await conn.commit();
    expect(commits).toEqual([
      [first, [a._p_oid as number]],
      [second, sorted([root._p_oid, c._p_oid])],
    ]);
  });

  it('fires before commit() resolves, once the connection reads at the new tid', async () => {
    const { conn, a } = await seeded();
    const seen: [number | undefined, string][] = [];
    conn.addEventListener('commit', () => seen.push([conn.snapshotTid, a.title]));
    a.title = 'written';
    const committing = conn.commit();
    const tid = await committing;
    expect(seen).toEqual([[tid, 'written']]);
  });

  it('names exactly the changed objects and every new object reachable from them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.nat({ max: 3 }),
        async (changes, added) => {
          const { db } = makeDb();
          const conn = db.open();
          const root = await conn.root();
          const todos = [todo('0'), todo('1'), todo('2'), todo('3')];
          const list = new PersistentList<Todo>();
          root.set('list', list);
          for (const t of todos) list.push(t);
          await conn.commit();
          const commits = recordCommits(conn);
          const expected: Persistent[] = [];
          changes.forEach((change, i) => {
            const t = todos[i] as Todo;
            if (!change) return;
            t.title += '!';
            expected.push(t);
          });
          const fresh = Array.from({ length: added }, (_, i) => todo(`new ${i}`));
          if (added > 0) {
            list.push(...fresh);
            expected.push(list, ...fresh);
          }
          const tid = await conn.commit();
          if (expected.length === 0) {
            expect(commits).toEqual([]);
          } else {
            expect(commits).toEqual([[tid, sorted(expected.map((o) => o._p_oid))]]);
          }
          await db.close();
        },
      ),
      { numRuns: 30 },
    );
  });

  it("names exactly the oids of the records sent, also when others' commits landed before it", async () => {
    const index = fc.subarray([0, 1, 2, 3]);
    const step = fc.record({ mine: index, theirs: index, added: fc.nat({ max: 2 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (steps) => {
        const flaky = flakyStorage();
        const db = new Database(flaky.storage, { classes: CLASSES });
        const conn = db.open();
        const root = await conn.root();
        const list = new PersistentList<Todo>();
        const todos = [todo('0'), todo('1'), todo('2'), todo('3')];
        list.push(...todos);
        root.set('list', list);
        await conn.commit();
        const other = db.open();
        const theirList = (await other.root()).get('list') as PersistentList<Todo>;
        const commits = recordCommits(conn);
        const expected: [number, number[]][] = [];
        for (const { mine, theirs, added } of steps) {
          await conn.load(list, ...todos);
          for (const i of mine) (todos[i] as Todo).title += '!';
          if (added > 0) list.push(...Array.from({ length: added }, (_, i) => todo(`new ${i}`)));
          // Others commit other objects meanwhile: conn's commit cannot simply follow its snapshot.
          const others = theirs.filter((i) => !mine.includes(i));
          if (others.length > 0) {
            await other.sync();
            await other.load(theirList);
            const theirTodos = [0, 1, 2, 3].map((i) => theirList.get(i) as Todo);
            await other.load(...theirTodos);
            for (const i of others) (theirTodos[i] as Todo).title += '?';
            await other.commit();
          }
          const sentBefore = flaky.sent.length;
          const tid = await conn.commit();
          for (const request of flaky.sent.slice(sentBefore)) {
            if (request.records.length === 0) continue;
            expected.push([tid, sorted(request.records.map((r) => r.oid))]);
          }
        }
        expect(commits).toEqual(expected);
        await db.close();
      }),
      { numRuns: 30 },
    );
  });

  it('does not fire for an empty commit, which writes nothing (it still moves the snapshot)', async () => {
    const { db, conn, a } = await seeded();
    const commits = recordCommits(conn);
    const other = db.open();
    const b2 = (await other.root()).get('b') as Todo;
    (await other.load(b2)).title = 'b, elsewhere';
    const theirs = await other.commit();
    conn.autoSync = false; // only the commit below moves conn's snapshot
    expect(await conn.commit()).toBeGreaterThanOrEqual(theirs);
    conn.readCurrent(a); // a pin alone writes nothing either
    await conn.commit();
    expect(commits).toEqual([]);
  });

  it('does not fire for a commit that conflicts, nor for one that fails to serialize', async () => {
    const { db, conn, a, b } = await seeded();
    const commits = recordCommits(conn);
    const other = db.open();
    const a2 = (await other.root()).get('a') as Todo;
    (await other.load(a2)).title = 'a, elsewhere';
    conn.autoSync = false;
    await other.commit();
    a.title = 'a, here';
    await expect(conn.commit()).rejects.toBeInstanceOf(WriteConflictError);
    await conn.abort();
    (b as unknown as { tags: unknown }).tags = [() => 'a function'];
    await expect(conn.commit()).rejects.toThrow();
    expect(commits).toEqual([]);
  });

  it("does not fire for other connections' commits, which fire 'change' instead", async () => {
    const { db, conn, a } = await seeded();
    await conn.load(a);
    const commits = recordCommits(conn);
    const changed = new Promise<void>((resolve) =>
      conn.addEventListener('change', () => resolve(), { once: true }),
    );
    const other = db.open();
    const a2 = (await other.root()).get('a') as Todo;
    (await other.load(a2)).title = 'a, elsewhere';
    await other.commit();
    await changed;
    expect(commits).toEqual([]);
  });

  it('fires once for transact, for its final commit after a conflict made it run again', async () => {
    const { db, conn, a } = await seeded();
    const commits = recordCommits(conn);
    const other = db.open();
    const a2 = (await other.root()).get('a') as Todo;
    await other.load(a2);
    let runs = 0;
    await conn.transact(async () => {
      runs++;
      a.title = `run ${runs}`;
      if (runs === 1) {
        a2.title = 'a, elsewhere'; // lands before this run's commit: a conflict
        await other.commit();
      }
    });
    expect(runs).toBe(2);
    expect(commits).toEqual([[a._p_serial as number, [a._p_oid as number]]]);
    expect(a.title).toBe('run 2');
  });

  it('fires when a commit that failed with StorageBusyError is resent and lands, not at the failure', async () => {
    const flaky = flakyStorage();
    const db = new Database(flaky.storage, { classes: CLASSES });
    const { conn, a } = await seeded(db);
    const commits = recordCommits(conn);
    a.title = 'maybe';
    flaky.faults.push('answer-and-broadcast'); // it lands; neither answer nor broadcast comes
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    expect(commits).toEqual([]);
    const tid = await conn.commit(); // resends: the storage answers with the tid it landed as
    expect(commits).toEqual([[tid, [a._p_oid as number]]]);
  });
});

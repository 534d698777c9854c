// Hunt (issue 12): a connection's own commit keeps what it wrote loaded unless a later commit wrote
// it too (Snapshot.pull with `own`). Three connections of three Databases over one storage commit
// the same few objects, others' commits landing just before a commit and just before the sync that
// follows it. Whatever a connection shows loaded and clean must be the revision at its snapshot:
// a stale object kept loaded is an update the app never sees, and the next change of it is based
// on data that is not there.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  Database,
  MemoryStorage,
  type Connection,
  type Storage,
} from '../src/index.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { CLASSES, Todo, todo } from './fixtures.js';

/** Hooks of one side: run before its next commit, and before each of its next syncs. */
interface Hooks {
  beforeCommit: (() => Promise<void>) | undefined;
  /** One per sync of this side, in order (undefined: none before that one). */
  beforeSyncs: ((() => Promise<void>) | undefined)[];
}

/** `storage` as one side's Database sees it: its commits and syncs run that side's hooks first. */
function hooked(storage: Storage, hooks: Hooks): Storage {
  return new Proxy(storage, {
    get(target, key) {
      if (key === 'commit') {
        return async (...args: Parameters<Storage['commit']>) => {
          const hook = hooks.beforeCommit;
          hooks.beforeCommit = undefined;
          await hook?.();
          return target.commit(...args);
        };
      }
      if (key === 'sync') {
        return async (...args: Parameters<Storage['sync']>) => {
          await hooks.beforeSyncs.shift()?.();
          return target.sync(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

const OBJECTS = 3;
type Op =
  | {
      op: 'write';
      who: number;
      which: number[];
      before: number | null;
      after: number | null;
      between: number | null;
    }
  | { op: 'sync'; who: number }
  | { op: 'abort'; who: number };

const who = fc.integer({ min: 0, max: 2 });
const which = fc.uniqueArray(fc.integer({ min: 0, max: OBJECTS - 1 }), {
  minLength: 1,
  maxLength: 2,
});
const other = fc.option(fc.integer({ min: 0, max: OBJECTS - 1 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      who,
      which,
      before: other,
      after: other,
      between: other,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sync' as const), who }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('abort' as const), who }) },
);

interface Side {
  conn: Connection;
  todos: Todo[];
}

async function run(storage: Storage, ops: Op[], autoSync: boolean[]): Promise<void> {
  const hooks: Hooks[] = [];
  const first = new Database(storage, { classes: CLASSES }).open();
  const root = await first.root();
  for (let i = 0; i < OBJECTS; i++) root.set(`o${i}`, todo(`o${i} initial`));
  const start = await first.commit();
  /** Each commit's titles: the title of object i at snapshot s is the last one at a tid ≤ s. */
  const history: { tid: number; titles: Map<number, string> }[] = [
    {
      tid: start,
      titles: new Map(Array.from({ length: OBJECTS }, (_, i) => [i, `o${i} initial`])),
    },
  ];
  const titleAt = (i: number, tid: number): string | undefined => {
    let title: string | undefined;
    let at = -1;
    for (const h of history) {
      if (h.tid <= tid && h.tid > at && h.titles.has(i)) [title, at] = [h.titles.get(i), h.tid];
    }
    return title;
  };
  const sides: Side[] = [];
  for (let k = 0; k < 3; k++) {
    const h: Hooks = { beforeCommit: undefined, beforeSyncs: [] };
    hooks.push(h);
    const conn = new Database(hooked(storage, h), { classes: CLASSES }).open();
    conn.autoSync = autoSync[k] as boolean;
    const r = await conn.root();
    const todos = Array.from({ length: OBJECTS }, (_, i) => r.get(`o${i}`) as Todo);
    await conn.load(...todos);
    sides.push({ conn, todos });
  }
  let n = 0;
  /** Side `k` sets the titles of `objs` and commits; a conflict aborts. */
  const write = async (k: number, objs: number[]): Promise<void> => {
    const s = sides[k] as Side;
    const titles = new Map<number, string>();
    for (const i of objs) {
      const t = s.todos[i] as Todo;
      if (t._p_status === 'ghost') await s.conn.load(t);
      t.title = `o${i} by ${k} #${++n}`;
      titles.set(i, t.title);
    }
    try {
      const tid = await s.conn.commit();
      history.push({ tid, titles });
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      await s.conn.abort();
    }
  };
  const check = (): void => {
    sides.forEach((s, k) => {
      const snapshot = s.conn.snapshotTid as number;
      s.todos.forEach((t, i) => {
        if (t._p_status !== 'saved') return;
        expect(
          { side: k, object: i, title: t.title },
          `side ${k} (autoSync ${String(autoSync[k])}) shows object ${i} at snapshot ${snapshot}`,
        ).toEqual({ side: k, object: i, title: titleAt(i, snapshot) });
      });
    });
  };
  for (const step of ops) {
    const s = sides[step.who] as Side;
    if (step.op === 'write') {
      const others = [0, 1, 2].filter((k) => k !== step.who);
      if (step.before !== null) {
        const b = step.before;
        (hooks[step.who] as Hooks).beforeCommit = () => write(others[0] as number, [b]);
      }
      // Before the first sync after the commit, and before the second (the one from its own tid).
      const by = (obj: number | null) =>
        obj === null ? undefined : () => write(others[1] as number, [obj]);
      (hooks[step.who] as Hooks).beforeSyncs = [by(step.after), by(step.between)];
      await write(step.who, step.which);
      (hooks[step.who] as Hooks).beforeCommit = undefined;
      (hooks[step.who] as Hooks).beforeSyncs = [];
    } else if (step.op === 'sync') {
      await s.conn.sync();
    } else {
      await s.conn.abort();
    }
    check();
  }
}

describe("a connection's own commit among others' commits", () => {
  const storages: [string, () => Promise<Storage>][] = [
    ['MemoryStorage', async () => new MemoryStorage()],
    ['ShelfStorage', () => ShelfStorage.open(new MemoryBlockDirectory())],
  ];
  for (const [name, make] of storages) {
    it(`never keeps loaded a revision other than the one at its snapshot (${name})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(opArb, { minLength: 1, maxLength: 12 }),
          fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
          async (ops, autoSync) => {
            const storage = await make();
            try {
              await run(storage, ops, autoSync);
            } finally {
              await storage.close();
            }
          },
        ),
        { numRuns: 150 },
      );
    }, 60_000);
  }
});

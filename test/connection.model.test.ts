/**
 * Model-based test: random sequences of transactions, plain commits, aborts, conflicting writes,
 * commits over a transport that loses requests, answers and broadcasts (StorageBusyError), and
 * fresh readers over two connections, checked against a Map of what was committed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Database,
  Persistent,
  PersistentDict,
  StorageBusyError,
  WriteConflictError,
  type Connection,
} from '../src/index.js';
import { flakyStorage, type CommitFault, type FlakyStorage } from './flaky-storage.js';

class Cell extends Persistent {
  static _p_name = 'test.Cell';
  value = 0;
}

type Model = Map<string, number>;
interface Real {
  db: Database;
  conns: [Connection, Connection];
  flaky: FlakyStorage;
}

async function items(conn: Connection): Promise<PersistentDict<string, Cell>> {
  const root = await conn.root();
  return conn.load(root.get('items') as PersistentDict<string, Cell>);
}

/** Reads everything through a fresh connection and compares it with the model. */
async function checkAll(real: Real, model: Model): Promise<void> {
  const fresh = real.db.open();
  const dict = await items(fresh);
  await fresh.prefetch(...dict.values());
  const seen = new Map([...dict].map(([k, cell]) => [k, cell.value]));
  expect(seen).toEqual(model);
  fresh.close();
}

class Put implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly c: 0 | 1,
    readonly key: string,
    readonly value: number,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const conn = real.conns[this.c];
    await conn.transact(async () => {
      const dict = await items(conn);
      let cell = dict.get(this.key);
      if (cell === undefined) {
        cell = new Cell();
        dict.set(this.key, cell);
      }
      cell.value = this.value;
    });
    model.set(this.key, this.value);
  }
  toString = (): string => `put(c${this.c}, ${this.key}, ${this.value})`;
}

class Remove implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly c: 0 | 1,
    readonly key: string,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const conn = real.conns[this.c];
    await conn.transact(async () => {
      (await items(conn)).delete(this.key);
    });
    model.delete(this.key);
  }
  toString = (): string => `remove(c${this.c}, ${this.key})`;
}

class Abandon implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly c: 0 | 1,
    readonly key: string,
  ) {}
  check = (): boolean => true;
  async run(_model: Model, real: Real): Promise<void> {
    const conn = real.conns[this.c];
    await conn.abort();
    const dict = await items(conn);
    dict.set(this.key, new Cell());
    dict.delete('nothing');
    await conn.abort();
  }
  toString = (): string => `abandon(c${this.c}, ${this.key})`;
}

/** Both connections change the same cell; the second to commit gets WriteConflictError. */
class Race implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly key: string,
    readonly first: 0 | 1,
  ) {}
  check = (model: Readonly<Model>): boolean => model.has(this.key);
  async run(model: Model, real: Real): Promise<void> {
    const [a, b] = this.first === 0 ? real.conns : [real.conns[1], real.conns[0]];
    a.autoSync = false;
    b.autoSync = false;
    try {
      await a.abort();
      await b.abort();
      const cellA = await a.load((await items(a)).get(this.key) as Cell);
      const cellB = await b.load((await items(b)).get(this.key) as Cell);
      cellA.value = 1000 + cellA.value;
      cellB.value = 2000;
      await a.commit();
      model.set(this.key, cellA.value);
      await expect(b.commit()).rejects.toBeInstanceOf(WriteConflictError);
      await b.abort();
    } finally {
      a.autoSync = true;
      b.autoSync = true;
    }
  }
  toString = (): string => `race(${this.key}, first c${this.first})`;
}

/**
 * An increment whose commit fails with StorageBusyError `busy` times, the first with `fault`, the
 * others lost on the way. transact resends once (retries: 1); if it still fails, the app either
 * commits again (it lands once) or aborts (it is stored only if the first send landed). An
 * increment, so the model sees any transaction stored twice.
 */
class BusyIncrement implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly c: 0 | 1,
    readonly key: string,
    readonly fault: CommitFault,
    readonly busy: 1 | 2,
    readonly thenAbort: boolean,
  ) {}
  check = (): boolean => true;
  async run(model: Model, real: Real): Promise<void> {
    const conn = real.conns[this.c];
    const dict = await items(conn);
    // 'answer' is known to have landed by its broadcast: it takes one send whatever follows.
    const busy = this.fault === 'answer' ? 1 : this.busy;
    real.flaky.faults.push(this.fault, ...Array<CommitFault>(busy - 1).fill('request'));
    const outcome = await conn
      .transact(
        () => {
          let cell = dict.get(this.key);
          if (cell === undefined) {
            cell = new Cell();
            dict.set(this.key, cell);
          }
          cell.value += 1;
        },
        { retries: 1 },
      )
      .then(
        () => 'landed',
        (error: unknown) => {
          expect(error).toBeInstanceOf(StorageBusyError);
          return 'unknown';
        },
      );
    // One send and one resend: two lost ones leave it unknown.
    expect(outcome).toBe(this.fault === 'answer' || busy === 1 ? 'landed' : 'unknown');
    real.flaky.deliverHeld();
    const incremented = (model.get(this.key) ?? 0) + 1;
    if (outcome === 'landed') {
      model.set(this.key, incremented);
    } else if (this.thenAbort) {
      await conn.abort();
      if (this.fault !== 'request') model.set(this.key, incremented);
    } else {
      await conn.commit();
      model.set(this.key, incremented);
    }
    expect(real.flaky.faults).toEqual([]);
    if (this.fault === 'answer-and-broadcast') {
      // The page missed a broadcast: its other connection catches up as db.resync() makes it on
      // the next visibility change (else at the next invalidation, whose prevTid shows the gap).
      await real.conns[this.c === 0 ? 1 : 0].sync();
    }
  }
  toString = (): string =>
    `busyIncrement(c${this.c}, ${this.key}, ${this.fault}, ${this.busy}, ${this.thenAbort ? 'abort' : 'commit'})`;
}

class Check implements fc.AsyncCommand<Model, Real> {
  check = (): boolean => true;
  run = (model: Model, real: Real): Promise<void> => checkAll(real, model);
  toString = (): string => 'check()';
}

describe('Connection (model-based)', () => {
  it('matches a map of committed values under random transactions, aborts and races', async () => {
    const conn = fc.constantFrom<0 | 1>(0, 1);
    const key = fc.constantFrom('a', 'b', 'c', 'd');
    const commands = [
      fc.tuple(conn, key, fc.integer({ min: 0, max: 999 })).map(([c, k, v]) => new Put(c, k, v)),
      fc.tuple(conn, key).map(([c, k]) => new Remove(c, k)),
      fc.tuple(conn, key).map(([c, k]) => new Abandon(c, k)),
      fc.tuple(key, conn).map(([k, c]) => new Race(k, c)),
      fc
        .tuple(
          conn,
          key,
          fc.constantFrom<CommitFault>(
            'request',
            'answer',
            'answer-broadcast-later',
            'answer-and-broadcast',
          ),
          fc.constantFrom<1 | 2>(1, 2),
          fc.boolean(),
        )
        .map((args) => new BusyIncrement(...args)),
      fc.constant(new Check()),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'max' }), async (cmds) => {
        const flaky = flakyStorage();
        const db = new Database(flaky.storage, { cacheSize: 3, classes: [Cell] });
        const setup = db.open();
        (await setup.root()).set('items', new PersistentDict());
        await setup.commit();
        const real: Real = { db, conns: [db.open(), db.open()], flaky };
        const model: Model = new Map();
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await checkAll(real, model);
        await db.close();
      }),
      { seed: 424242, numRuns: 60 },
    );
  });
});

/**
 * Model-based test: random sequences of transactions, plain commits, aborts, conflicting writes
 * and fresh readers over two connections, checked against a Map of what was committed.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  Persistent,
  PersistentDict,
  WriteConflictError,
  type Connection,
  type Database,
} from '../src/index.js';
import { makeDb } from './fixtures.js';

class Cell extends Persistent {
  value = 0;
}

type Model = Map<string, number>;
interface Real {
  db: Database;
  conns: [Connection, Connection];
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
      fc.constant(new Check()),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'max' }), async (cmds) => {
        const { db } = makeDb({ cacheSize: 3, classes: [Cell] });
        const setup = db.open();
        (await setup.root()).set('items', new PersistentDict());
        await setup.commit();
        const real: Real = { db, conns: [db.open(), db.open()] };
        const model: Model = new Map();
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        await checkAll(real, model);
        await db.close();
      }),
      { seed: 424242, numRuns: 60 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { Persistent } from '../src/index.js';
import { makeDb, todo } from './fixtures.js';

describe('Connection.load and prefetch refuse what is not a persistent object', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a promise (a forgotten await)', Promise.resolve(1), /a Promise: await it first/],
    ['undefined', undefined, /got undefined/],
    ['null', null, /got null/],
    ['a plain object', { title: 'x' }, /got an object \(Object\)/],
    ['a string', 'x', /got a string/],
  ];
  for (const [what, value, message] of cases) {
    it(`load of ${what} is a TypeError naming the argument, not a crash inside shelfdb`, async () => {
      const { db } = makeDb();
      const conn = db.open();
      const root = await conn.root();
      const error = await conn.load(root, value as Persistent).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/conn\.load: argument 2 is not a persistent object/);
      expect((error as Error).message).toMatch(message);
      await db.close();
    });
  }

  it('prefetch names the argument too, and still takes oids', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const root = await conn.root();
    root.set('t', todo('kept'));
    await conn.commit();
    const error = await conn.prefetch(0, { oid: 1 } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(
      /conn\.prefetch: argument 2 is not a persistent object/,
    );
    await expect(conn.prefetch(0)).resolves.toBeUndefined();
    await db.close();
  });
});

import { expect, it } from 'vitest';
import { Database, MemoryStorage, PersistentDict, type TransactionEvent } from '../src/index.js';

it("a Database fires 'transaction' for every commit it hears of, its own connections' and another database's on the same storage, in tid order", async () => {
  const storage = new MemoryStorage();
  const here = new Database(storage);
  const there = new Database(storage);
  const heard: { tid: number; oids: number[] }[] = [];
  here.addEventListener('transaction', (event) => {
    const { tid, oids } = event as TransactionEvent;
    heard.push({ tid, oids: [...oids].sort((a, b) => a - b) });
  });
  const mine = here.open();
  (await mine.root()).set('a', 1);
  const first = await mine.commit();
  const theirs = there.open();
  const root = await theirs.root();
  const added = new PersistentDict();
  root.set('b', added);
  const second = await theirs.commit();
  // An empty commit writes nothing and is no transaction.
  await mine.commit();
  await mine.sync();
  // The root's creation came first; then these two, and nothing for the empty commit.
  expect(heard.map((h) => h.tid).slice(-2)).toEqual([first, second]);
  expect(heard.find((h) => h.tid === second)?.oids).toEqual(
    [root._p_oid as number, added._p_oid as number].sort((a, b) => a - b),
  );
  await here.close();
  await there.close();
});

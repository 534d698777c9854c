import { expect, it } from 'vitest';
import { Database, MemoryStorage, PersistentDict } from '../src/index.js';

/** A 'transaction' listener that throws, or closes another database, costs no connection its move. */
it("a 'transaction' listener that throws does not keep the database's connections from moving", async () => {
  const storage = new MemoryStorage();
  const wdb = new Database(storage);
  const writer = wdb.open();
  const wroot = await writer.root();
  const d = new PersistentDict<string, number>([['n', 0]]);
  wroot.set('d', d);
  await writer.commit();
  const db = new Database(storage);
  const a = db.open();
  const b = db.open();
  const ad = (await a.root()).get('d') as PersistentDict<string, number>;
  const bd = (await b.root()).get('d') as PersistentDict<string, number>;
  await a.load(ad);
  await b.load(bd);
  const onError = (): void => undefined;
  process.on('uncaughtException', onError);
  db.addEventListener('transaction', () => {
    throw new Error('listener failed');
  });
  const heard: number[] = [];
  db.addEventListener('transaction', (e) => heard.push((e as unknown as { tid: number }).tid));
  d.set('n', 1);
  const tid = await writer.commit();
  await new Promise((r) => setTimeout(r, 20));
  process.off('uncaughtException', onError);
  expect(heard).toEqual([tid]);
  expect([a.snapshotTid, b.snapshotTid]).toEqual([tid, tid]);
  expect([
    await a.load(ad).then((x) => x.get('n')),
    await b.load(bd).then((x) => x.get('n')),
  ]).toEqual([1, 1]);
  await db.close();
  await wdb.close();
});

import { expect, it } from 'vitest';
import { Database, MemoryStorage, PersistentDict } from '../src/index.js';

it('storedSize is the bytes of the revision an object holds: the same in every connection, undefined before the first commit and for a ghost', async () => {
  const db = new Database(new MemoryStorage());
  const writer = db.open();
  const root = await writer.root();
  const small = new PersistentDict<string, string>([['a', 'b']]);
  const large = new PersistentDict<string, string>([['a', 'b'.repeat(5_000)]]);
  expect(writer.storedSize(small)).toBeUndefined();
  root.set('small', small);
  root.set('large', large);
  await writer.commit();
  const smallBytes = writer.storedSize(small) as number;
  expect(smallBytes).toBeGreaterThan(0);
  expect(writer.storedSize(large)).toBeGreaterThan(smallBytes + 5_000);

  const reader = db.open();
  const readerRoot = await reader.root();
  const ghost = readerRoot.get('large') as PersistentDict;
  expect(ghost._p_status).toBe('ghost');
  expect(reader.storedSize(ghost)).toBeUndefined();
  await reader.load(ghost);
  expect(reader.storedSize(ghost)).toBe(writer.storedSize(large));

  // A new revision has its own size, and a changed object keeps the size of the revision it holds.
  large.set('a', 'c');
  const before = writer.storedSize(large);
  expect(before).toBe(reader.storedSize(ghost));
  await writer.commit();
  expect(writer.storedSize(large)).toBeLessThan(smallBytes + 100);
  await db.close();
});

import fc from 'fast-check';
import { expect, it } from 'vitest';
import { Database, MemoryStorage, PersistentDict, type Storage } from '../src/index.js';
import { MemoryBlockDirectory, ShelfStorage } from '../worker/index.js';

/**
 * ShelfStorage lists a transaction from its record headers only (worker/shelf-reading.ts
 * `summarize`): its oids and state bytes must be what the transaction wrote, as MemoryStorage,
 * which keeps them, says — for transactions of any size and metadata.
 */
it('ShelfStorage.transactions() gives the oids, bytes and metadata MemoryStorage gives for the same commits', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(
        fc.record({
          keys: fc.uniqueArray(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 12 }),
          text: fc.string({ maxLength: 300 }),
          note: fc.string({ maxLength: 20 }),
          user: fc.string({ maxLength: 8 }),
        }),
        { minLength: 1, maxLength: 8 },
      ),
      async (commits) => {
        const listed: unknown[][] = [];
        for (const storage of [
          new MemoryStorage() as Storage,
          await ShelfStorage.open(new MemoryBlockDirectory()),
        ]) {
          const db = new Database(storage);
          const conn = db.open();
          const root = await conn.root();
          const dicts = new Map<number, PersistentDict<string, string>>();
          for (const { keys, text, note, user } of commits) {
            for (const k of keys) {
              let d = dicts.get(k);
              if (d === undefined) {
                d = new PersistentDict();
                dicts.set(k, d);
                root.set(`d${k}`, d);
              }
              d.set('text', `${text}${k}`);
            }
            await conn.commit({ note, user });
          }
          const all = [];
          for await (const t of db.transactions()) {
            all.push([t.tid, [...t.oids].sort((a, b) => a - b), t.bytes, t.note, t.user]);
          }
          listed.push(all);
          await db.close();
        }
        expect(listed[1]).toEqual(listed[0]);
      },
    ),
    { numRuns: 30 },
  );
});

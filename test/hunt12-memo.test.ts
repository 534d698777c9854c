// Hunt (issue 12): ShelfStorage's RevisionMemo answers the conflict check and the garbage count
// for revisions this process wrote. A stale answer is a missed conflict (a lost update) or a
// refused valid commit. A model of the newest tid of each object, checked against a real
// ShelfStorage across groups of commits, bulk commits (not remembered), failed appends, pack,
// checkpoint and reopen; the garbage it counts is what a reopen counts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryBlockDirectory, type BlockDirectory, type BlockFile } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { WriteConflictError } from '../src/shared/errors.js';
import { ROOT_OID, type StoredRecord } from '../src/index.js';

/** A memory directory whose segment files fail their next write when `failNext` is set. */
function failingDirectory(): { dir: BlockDirectory; failNext: () => void } {
  const inner = new MemoryBlockDirectory();
  let fail = false;
  const dir: BlockDirectory = {
    list: () => inner.list(),
    remove: (name) => inner.remove(name),
    blobStore: () => inner.blobStore(),
    open: async (name) => {
      const file = await inner.open(name);
      if (!name.startsWith('seg-')) return file;
      const wrapped: BlockFile = {
        read: (offset, length) => file.read(offset, length),
        write: (offset, data) => {
          if (fail) {
            fail = false;
            throw new Error('disk full (test)');
          }
          file.write(offset, data);
        },
        size: () => file.size(),
        truncate: (size) => file.truncate(size),
        flush: () => file.flush(),
        close: () => file.close(),
      };
      return wrapped;
    },
  };
  return { dir, failNext: () => (fail = true) };
}

const OBJECTS = 6;

const rec = (oid: number, size: number, tid: number | undefined, refs: number[] = []) => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array(size), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

type Op =
  | { kind: 'commit'; which: number[]; stale: boolean; size: number; together: number }
  | { kind: 'bulk'; which: number[] }
  | { kind: 'failing'; which: number[] }
  | { kind: 'pack' }
  | { kind: 'checkpoint' }
  | { kind: 'reopen' };

const which = fc.uniqueArray(fc.integer({ min: 0, max: OBJECTS - 1 }), {
  minLength: 1,
  maxLength: 3,
});
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('commit' as const),
      which,
      stale: fc.boolean(),
      size: fc.integer({ min: 0, max: 40 }),
      together: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bulk' as const), which }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('failing' as const), which }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pack' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

describe('ShelfStorage with its revision memo, against a model of the newest revisions', () => {
  it('refuses exactly the commits based on an older revision, and counts the garbage a reopen counts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const { dir, failNext } = failingDirectory();
        let s = await ShelfStorage.open(dir, { checkpointEvery: 1 << 30 } as never);
        const oids = await s.newOids(OBJECTS + 1200);
        const objects = oids.slice(0, OBJECTS);
        const filler = oids.slice(OBJECTS);
        // The root references everything, so pack keeps it all.
        let last = await s.commit({
          baseTid: 0,
          records: [
            rec(ROOT_OID, 1, undefined, oids),
            ...objects.map((oid) => rec(oid, 4, undefined)),
          ],
        });
        const latest = new Map<number, number>(objects.map((oid) => [oid, last]));
        for (const o of ops) {
          if (o.kind === 'pack') await s.pack();
          else if (o.kind === 'checkpoint') await s.checkpoint();
          else if (o.kind === 'reopen') {
            await s.close();
            s = await ShelfStorage.open(dir);
          } else if (o.kind === 'bulk') {
            // More records than the memo remembers: the next check of these reads the log.
            const records = [
              ...o.which.map((i) => {
                const oid = objects[i] as number;
                return rec(oid, 3, latest.get(oid));
              }),
              ...filler.map((oid) => rec(oid, 1, undefined)),
            ];
            filler.length = 0; // written once: new objects only the first time
            last = await s.commit({ baseTid: last, records });
            for (const i of o.which) latest.set(objects[i] as number, last);
          } else if (o.kind === 'failing') {
            failNext();
            const records = o.which.map((i) => {
              const oid = objects[i] as number;
              return rec(oid, 7, latest.get(oid));
            });
            await expect(s.commit({ baseTid: last, records })).rejects.toThrow();
          } else {
            // `together` commits issued at once (one group); each either up to date or stale.
            const calls: { promise: Promise<number>; expectConflict: boolean; oids: number[] }[] =
              [];
            // A later commit of the group that writes an object an earlier one wrote is based on
            // the revision before (the durable one): it conflicts, as a stale one does.
            const written = new Set<number>();
            for (let k = 0; k < o.together; k++) {
              const ids = o.which
                .slice(0, Math.max(1, o.which.length - k))
                .map((i) => objects[i] as number);
              const stale = o.stale && k === o.together - 1;
              const records = ids.map((oid) => {
                const newest = latest.get(oid) as number;
                return rec(oid, o.size + k, stale ? newest - 1 : newest);
              });
              const promise = s.commit({ baseTid: last, records });
              promise.catch(() => undefined); // awaited below
              const expectConflict = stale || ids.some((oid) => written.has(oid));
              calls.push({ promise, expectConflict, oids: ids });
              if (!expectConflict) for (const oid of ids) written.add(oid);
            }
            for (const c of calls) {
              if (c.expectConflict) {
                await expect(c.promise).rejects.toBeInstanceOf(WriteConflictError);
              } else {
                const tid = await c.promise;
                last = Math.max(last, tid);
                for (const oid of c.oids) latest.set(oid, tid);
              }
            }
          }
        }
        // Every object's newest revision is the model's.
        const loaded = await s.load(objects);
        expect(loaded.map((r) => r.tid)).toEqual(objects.map((oid) => latest.get(oid)));
        const live = (await s.stats()).garbageBytes;
        await s.close();
        const reopened = await ShelfStorage.open(dir);
        expect((await reopened.stats()).garbageBytes).toBe(live);
        await reopened.close();
      }),
      { numRuns: 60 },
    );
  });
});

// Hunt (issue 12): Serializer.packCommit writes every record's state straight into one batch, each
// after the others (so offsets inside a state no longer start at 0: shared sub-objects, maps
// whose count moves, strings whose head grows). Each state read back from the batch must be the
// bytes `encode` makes of the same fields alone, and decode to them.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unpackRecords } from '../src/shared/record-batch.js';
import { Serializer } from '../src/serialize.js';

/** A field name; not `__proto__`, which a plain object cannot hold as its own by assignment. */
const key = (maxLength: number) =>
  fc
    .string({ maxLength })
    .filter((k) => k !== '__proto__' && !k.startsWith('_v_') && !k.startsWith('_p_'));

const leaf = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.integer(),
  // −0 is stored as 0 by design (cbor-encode.ts, 1.).
  fc.double({ noNaN: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
  fc.boolean(),
  fc.constant(null),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
);
const value = fc.letrec((tie) => ({
  any: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object'), tie('map')),
  array: fc.array(tie('any'), { maxLength: 5 }),
  object: fc.dictionary(key(6), tie('any'), { maxKeys: 5 }),
  map: fc
    .array(fc.tuple(fc.string({ maxLength: 4 }), tie('any')), { maxLength: 3 })
    .map((entries) => new Map(entries)),
})).any;

/** Fields of one record; some hold the same sub-object twice (shared within the state). */
const fields = fc
  .tuple(
    fc.dictionary(key(8), value, { maxKeys: 6 }),
    fc.option(fc.array(value, { maxLength: 3 })),
    fc.string({ maxLength: 300 }),
  )
  .map(([f, shared, long]) => {
    const out: Record<string, unknown> = { ...f, long };
    if (shared !== null) {
      out.sharedA = shared;
      out.sharedB = { inner: shared };
    }
    return out;
  });

describe('packCommit', () => {
  it("writes each record's state as encode writes its fields alone, wherever it lands in the batch", () => {
    const serializer = new Serializer();
    fc.assert(
      fc.property(fc.array(fields, { minLength: 1, maxLength: 6 }), (all) => {
        const sources = all.map((f, i) => ({
          oid: i + 1,
          tid: i % 2 === 0 ? undefined : i,
          className: i % 3 === 0 ? 'app.A' : 'app.Bé',
          fields: { ...f, _v_skip: 1, _p_skip: 2 },
          refs: [],
        }));
        const { buffer, stateSizes } = serializer.packCommit(sources);
        const records = unpackRecords(buffer);
        records.forEach((r, i) => {
          const expected = serializer.encode(all[i] as Record<string, unknown>);
          expect([...r.state]).toEqual([...expected]);
          expect(stateSizes[i]).toBe(expected.byteLength);
          expect(r.className).toBe(sources[i]?.className);
          const back = serializer.decode(r.state, () => {
            throw new Error('no refs here');
          });
          expect(back).toEqual(all[i]);
        });
      }),
      { numRuns: 500 },
    );
  });
});

import { expect, it } from 'vitest';
import { packRecords, unpackRecords } from '../src/shared/record-batch.js';
import type { StoredRecord } from '../src/index.js';

it('packs records into one buffer and back, class names once', () => {
  const records: StoredRecord[] = [
    { oid: 1, className: 'app.Todo', state: new Uint8Array([1, 2]), refs: [2, 2 ** 50], tid: 7 },
    { oid: 2, className: 'app.Project', state: new Uint8Array(0), refs: [] },
    { oid: 2 ** 53 - 1, className: 'app.Todo', state: new Uint8Array([9]), refs: [1] },
  ];
  const back = unpackRecords(packRecords(records));
  expect(back.map((r) => ({ ...r, state: [...r.state] }))).toEqual(
    records.map((r) => ({ ...r, state: [...r.state] })),
  );
  expect('tid' in (back[1] as StoredRecord)).toBe(false);
  expect(unpackRecords(packRecords([]))).toEqual([]);
});

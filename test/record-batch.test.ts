import { expect, it } from 'vitest';
import {
  PackedCommitRequest,
  packRecords,
  unpackRecords,
  type RecordBatch,
} from '../src/shared/record-batch.js';
import { encodeArgs } from '../src/shared/storage-calls.js';
import { Serializer } from '../src/serialize.js';
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

it("writes a commit's records straight into a batch: the batch of their encoded states, kept for a resend", () => {
  const serializer = new Serializer();
  const sources = [
    { oid: 3, tid: 7, className: 'app.Todo', fields: { title: 'milk', _v_tmp: 1 }, refs: [4, 4] },
    { oid: 4, tid: undefined, className: 'app.Project', fields: {}, refs: [] },
    { oid: 9, tid: 2, className: 'app.Todo', fields: { tags: ['a'], n: 1.5 }, refs: [] },
  ];
  const { buffer, stateSizes } = serializer.packCommit(sources);
  const expected: StoredRecord[] = sources.map((s) => {
    const state = serializer.encode(
      Object.fromEntries(Object.entries(s.fields).filter(([k]) => !k.startsWith('_v_'))),
    );
    const r: StoredRecord = { oid: s.oid, className: s.className, state, refs: s.refs };
    if (s.tid !== undefined) r.tid = s.tid;
    return r;
  });
  expect(new Uint8Array(buffer)).toEqual(new Uint8Array(packRecords(expected)));
  expect(stateSizes).toEqual(expected.map((r) => r.state.byteLength));

  const request = new PackedCommitRequest({ baseTid: 7, txnId: 'x' }, buffer);
  // Sent twice (a resend): each crossing takes a copy; the request keeps its records.
  for (let i = 0; i < 2; i++) {
    const [fields, batch] = encodeArgs('commit', [request]) as [object, RecordBatch];
    expect(fields).toEqual({ baseTid: 7, txnId: 'x' });
    const sent = batch.buffer;
    structuredClone(sent, { transfer: [sent] });
    expect(sent.byteLength).toBe(0);
  }
  expect(request.records.map((r) => r.oid)).toEqual([3, 4, 9]);
  // What a storage or wrapper copying the request sees: every field, records included.
  expect(structuredClone(request).records.map((r) => [...r.state])).toEqual(
    expected.map((r) => [...r.state]),
  );
});

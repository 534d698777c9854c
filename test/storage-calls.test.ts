/**
 * The one table of storage calls (src/shared/storage-calls.ts): what a caller accepts as an answer.
 * An answer that crossed a link from another tab may be forged; one that is not what the method
 * answers is refused (the tab link then ignores it and the call keeps waiting).
 */
import { describe, expect, it } from 'vitest';
import { RecordBatch } from '../src/shared/record-batch.js';
import {
  STORAGE_METHODS,
  decodeAnswer,
  encodeAnswer,
  encodeArgs,
} from '../src/shared/storage-calls.js';

describe('storage calls across a link', () => {
  it('accepts a commit answer as a tid, or a tid with a well-formed announcement', () => {
    expect(decodeAnswer('commit', 4)).toBe(4);
    const invalidation = { tid: 4, prevTid: 3, oids: [0, 7], txnId: 'x' };
    expect(decodeAnswer('commit', { tid: 4, invalidation })).toEqual({ tid: 4, invalidation });
  });

  it('refuses a commit answer whose announcement is malformed, before any listener hears it', () => {
    for (const invalidation of [
      {},
      { tid: 4, prevTid: 3, oids: 'all' },
      { tid: 4, prevTid: 3, oids: [-1] },
      { tid: 4, prevTid: -1, oids: [] },
      { tid: 4, prevTid: 3, oids: [1], txnId: 5 },
      null,
    ]) {
      expect(() => decodeAnswer('commit', { tid: 4, invalidation })).toThrow(TypeError);
    }
    for (const tid of [-1, 0.5, '4', null, undefined]) {
      expect(() => decodeAnswer('commit', tid)).toThrow(TypeError);
    }
  });

  it("carries load's records and a commit's records as one batch each way", () => {
    const records = [{ oid: 1, className: 'X', state: new Uint8Array([1, 2]), refs: [3], tid: 2 }];
    const answer = encodeAnswer('load', records);
    expect(answer).toBeInstanceOf(RecordBatch);
    expect(decodeAnswer('load', (answer as RecordBatch).buffer)).toEqual(records);
    const [fields, batch] = encodeArgs('commit', [{ baseTid: 2, records, txnId: 't' }]);
    expect(fields).toEqual({ baseTid: 2, txnId: 't' });
    expect((batch as RecordBatch).records).toEqual(records);
    expect(() => decodeAnswer('load', [records])).toThrow(TypeError);
  });

  it('declares every storage method, and passes plain answers through', () => {
    expect(STORAGE_METHODS).toEqual([
      'load',
      'newOids',
      'commit',
      'sync',
      'pack',
      'stats',
      'verify',
      'transactions',
      'history',
      'pin',
      'putBlob',
      'readBlob',
      'blobFile',
      'close',
    ]);
    expect(() => decodeAnswer('newOids', [1, -2])).toThrow(TypeError);
    expect(() => decodeAnswer('sync', { tid: 1 })).toThrow(TypeError);
    expect(decodeAnswer('pin', 'anything')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_ID_LENGTH,
  PROTOCOL_VERSION,
  ProtocolError,
  ProtocolVersionError,
  parseMessage,
} from '../src/shared/protocol.js';
import { errorToWire, WriteConflictError } from '../src/shared/errors.js';
import { checkCall } from '../worker/call-checks.js';
import { packRecords } from '../src/shared/record-batch.js';

const v = PROTOCOL_VERSION;

describe('parseMessage', () => {
  it('accepts every well-formed message', () => {
    const messages = [
      { v, type: 'call', id: 1, method: 'load', args: [[1, 2]] },
      { v, type: 'call', id: 1, method: 'load', args: [[1, 2]], from: 'tab-1' },
      { v, type: 'result', id: 1, value: [] },
      { v, type: 'error', id: 2, error: errorToWire(new WriteConflictError([1])) },
      { v, type: 'invalidate', invalidation: { tid: 3, prevTid: 2, oids: [1] } },
      { v, type: 'owner', tid: 3 },
      { v, type: 'hello', tabId: 'tab-1', pins: [['page', 3]] },
      { v, type: 'report', error: errorToWire(new Error('disk full')) },
    ];
    for (const m of messages) expect(parseMessage(m)).toEqual(m);
  });

  it('reports malformed messages', () => {
    for (const bad of [
      null,
      'x',
      { v, type: 'call', id: 1, method: 'dropEverything', args: [] },
      { v, type: 'call', id: 'one', method: 'load', args: [] },
      { v, type: 'call', id: 1, method: 'load', args: [], from: 7 },
      { v, type: 'call', id: 1, method: 'load', args: [], from: 'x'.repeat(MAX_ID_LENGTH + 1) },
      { v, type: 'invalidate', invalidation: { tid: 3, oids: ['x'] } },
      { v, type: 'error', id: 1, error: { shelfError: true, name: 1, message: 'x' } },
      { v, type: 'report', error: 'disk full' },
      { v, type: 'hello', tabId: '' },
      { v, type: 'mystery' },
    ]) {
      expect(() => parseMessage(bad)).toThrow(ProtocolError);
    }
  });

  it('fails loudly on another protocol version', () => {
    expect(() => parseMessage({ v: v + 1, type: 'owner', tid: 1 })).toThrow(ProtocolVersionError);
    expect(() => parseMessage({ v: v + 1, type: 'owner', tid: 1 })).toThrow(/version mismatch/);
  });

  it('narrows any value to a message or a ProtocolError, never anything else', () => {
    fc.assert(
      fc.property(fc.anything(), (data) => {
        try {
          parseMessage(data);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 500, seed: 10 },
    );
  });
});

describe('checkCall', () => {
  it('passes well-formed arguments of every method, decoding a commit', () => {
    expect(checkCall('load', [[0, 1], 3])).toEqual([[0, 1], 3]);
    expect(checkCall('newOids', [2])).toEqual([2]);
    expect(checkCall('sync', [0])).toEqual([0]);
    expect(checkCall('pack', [{ keepTid: 2 }])).toEqual([{ keepTid: 2 }]);
    expect(checkCall('transactions', [{ limit: 100, before: 4 }])).toHaveLength(1);
    expect(checkCall('history', [1, Infinity])).toEqual([1, Infinity]);
    expect(checkCall('pin', ['page', null])).toEqual(['page', null]);
    const records = [{ oid: 1, className: 'T', state: new Uint8Array([1]), refs: [2] }];
    const [txn] = checkCall('commit', [{ baseTid: 0, txnId: 't' }, packRecords(records)]);
    expect(txn).toEqual({ baseTid: 0, txnId: 't', records });
  });

  it('refuses any buffer that is not a record batch, or decodes it to records', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const [txn] = checkCall('commit', [{ baseTid: 0 }, bytes.slice().buffer]) as [
            { records: unknown[] },
          ];
          expect(Array.isArray(txn.records)).toBe(true);
        } catch (error) {
          expect((error as Error).name).toBe('ShelfError');
        }
      }),
      { numRuns: 500, seed: 11 },
    );
  });

  it('refuses a commit whose batch header claims more records than it holds', () => {
    const buffer = new ArrayBuffer(16);
    new DataView(buffer).setUint32(0, 2 ** 31, true);
    expect(() => checkCall('commit', [{ baseTid: 0 }, buffer])).toThrow(/malformed/);
  });
});

import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, ProtocolError, parseMessage } from '../src/shared/protocol.js';
import { errorToWire, WriteConflictError } from '../src/shared/errors.js';

const v = PROTOCOL_VERSION;

describe('parseMessage', () => {
  it('accepts every well-formed message', () => {
    const messages = [
      { v, type: 'call', id: 1, method: 'load', args: [[1, 2]] },
      { v, type: 'result', id: 1, value: [] },
      { v, type: 'error', id: 2, error: errorToWire(new WriteConflictError([1])) },
      { v, type: 'invalidate', invalidation: { tid: 3, prevTid: 2, oids: [1] } },
      { v, type: 'owner', tid: 3 },
    ];
    for (const m of messages) expect(parseMessage(m)).toEqual(m);
  });

  it('reports malformed messages', () => {
    for (const bad of [
      null,
      'x',
      { v, type: 'call', id: 1, method: 'dropEverything', args: [] },
      { v, type: 'call', id: 'one', method: 'load', args: [] },
      { v, type: 'invalidate', invalidation: { tid: 3, oids: ['x'] } },
      { v, type: 'mystery' },
    ]) {
      expect(() => parseMessage(bad)).toThrow(ProtocolError);
    }
  });

  it('fails loudly on another protocol version', () => {
    expect(() => parseMessage({ v: v + 1, type: 'owner', tid: 1 })).toThrow(/version mismatch/);
  });
});

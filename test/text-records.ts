/** Records whose state is a short text, for storage tests that read back what they wrote. */
import type { StoredRecord } from '../src/index.js';

const encoder = new TextEncoder();

/** A record of `oid` whose state is `text`; `tid`, when given, is the revision it is based on. */
export function textRecord(oid: number, text: string, refs: number[], tid?: number): StoredRecord {
  return {
    oid,
    className: 'test.Node',
    state: encoder.encode(text),
    refs,
    ...(tid === undefined ? {} : { tid }),
  };
}

/**
 * The arguments of a storage call that crossed a channel (from the page, or from another tab),
 * checked per method before anything runs: ids are non-negative integers, arrays are bounded,
 * option objects hold only what the method reads, and a commit's packed record batch decodes.
 * Another tab may run another version of the app, or be hostile: nothing it sends reaches a
 * storage or the owner's pins unchecked. A commit's records are checked further by the storage
 * itself (validateCommit), which alone knows which oids it handed out.
 */
import { ShelfError } from '../src/shared/errors.js';
import { MAX_ID_LENGTH, isId, type StorageMethod } from '../src/shared/protocol.js';
import { RECORD_FIXED_BYTES, unpackRecords } from '../src/shared/record-batch.js';
import type { CommitRequest, Tid } from '../src/shared/storage.js';
import { MAX_BATCH, checkLoad, checkOid, checkOidCount, checkTid } from './commit-checks.js';

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): boolean =>
  x === Infinity || (Number.isSafeInteger(x) && (x as number) >= 0);

/**
 * Checks the arguments of one call and returns them as the Storage method takes them (a commit's
 * record batch unpacked into its request).
 * @throws ShelfError naming the method and the bad argument; nothing has run.
 */
export function checkCall(method: StorageMethod, args: unknown[]): unknown[] {
  const arity = (most: number): void => {
    if (args.length > most) {
      throw new ShelfError(`${method}: ${args.length} arguments, at most ${most} expected.`);
    }
  };
  switch (method) {
    case 'load':
      arity(2);
      checkLoad(args[0], args[1]);
      return args;
    case 'newOids':
      arity(1);
      checkOidCount(args[0] as number);
      return args;
    case 'commit':
      arity(2);
      return [commitRequest(args[0], args[1])];
    case 'sync':
      arity(1);
      checkTid('sync', args[0]);
      return args;
    case 'pack':
      arity(1);
      checkOptions(method, args[0], { keepTid: 'tid' });
      return args;
    case 'transactions':
      arity(1);
      checkOptions(method, args[0], { limit: 'count', before: 'tid' });
      return args;
    case 'history':
      arity(2);
      checkOid('history', args[0]);
      if (args[1] !== undefined && !isCount(args[1])) {
        throw new ShelfError(`history: limit ${String(args[1])} is not a non-negative integer.`);
      }
      return args;
    case 'pin':
      arity(2);
      checkPin(args[0], args[1]);
      return args;
    case 'stats':
    case 'verify':
    case 'close':
      arity(0);
      return args;
  }
}

/** @throws ShelfError unless `holder` is a short string and `tid` a tid or null. */
export function checkPin(holder: unknown, tid: unknown): asserts tid is Tid | null {
  if (!isId(holder)) {
    throw new ShelfError(`pin: the holder must be a string of 1 to ${MAX_ID_LENGTH} characters.`);
  }
  if (tid !== null) checkTid('pin', tid);
}

function checkOptions(method: string, options: unknown, fields: Record<string, 'tid' | 'count'>) {
  if (options === undefined) return;
  if (!isRecord(options)) throw new ShelfError(`${method}: options must be an object.`);
  for (const [key, value] of Object.entries(options)) {
    const kind = fields[key];
    if (kind === undefined) throw new ShelfError(`${method}: unknown option ${key}.`);
    if (value === undefined) continue;
    if (kind === 'tid') checkTid(method, value);
    else if (!isCount(value)) {
      throw new ShelfError(`${method}: ${key} ${String(value)} is not a non-negative integer.`);
    }
  }
}

/** A commit as it crosses a channel: its fields, and its records packed in one buffer. */
function commitRequest(fields: unknown, batch: unknown): CommitRequest {
  if (!isRecord(fields) || 'records' in fields || !(batch instanceof ArrayBuffer)) {
    throw new ShelfError(
      'commit: malformed request (expected its fields and a packed record batch); nothing was stored.',
    );
  }
  const view = new DataView(batch);
  // Bound the counts before decoding, so a forged header cannot make the decoder allocate.
  if (
    batch.byteLength < 8 ||
    view.getUint32(0, true) > MAX_BATCH ||
    view.getUint32(0, true) * RECORD_FIXED_BYTES > batch.byteLength ||
    view.getUint32(4, true) * 2 > batch.byteLength
  ) {
    throw new ShelfError('commit: the record batch is malformed; nothing was stored.');
  }
  let records;
  try {
    records = unpackRecords(batch);
  } catch (error) {
    throw new ShelfError('commit: the record batch is malformed; nothing was stored.', {
      cause: error,
    });
  }
  return { ...(fields as Omit<CommitRequest, 'records'>), records };
}

/**
 * The arguments of a storage call that crossed a channel (from the page, or from another tab),
 * checked per method before anything runs: ids are non-negative integers, arrays are bounded,
 * option objects hold only what the method reads, and a commit's packed record batch decodes.
 * Another tab may run another version of the app, or be hostile: nothing it sends reaches a
 * storage or the owner's pins unchecked. A commit's records are checked further by the storage
 * itself (validateCommit), which alone knows which oids it handed out.
 */
import { isBlobHash } from '../src/shared/blob-record.js';
import { blobRefsOf } from './blob-guard.js';
import { ShelfError } from '../src/shared/errors.js';
import { MAX_ID_LENGTH, isId } from '../src/shared/protocol.js';
import {
  MAX_PACK_ID_LENGTH,
  STORAGE_CALLS,
  batchFrom,
  isPackId,
  type ArgumentKind,
  type StorageMethod,
} from '../src/shared/storage-calls.js';
import type { CommitRequest, Tid } from '../src/shared/storage.js';
import { MAX_BATCH, checkLoad, checkOid, checkOidCount, checkTid } from './commit-checks.js';

const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): boolean =>
  x === Infinity || (Number.isSafeInteger(x) && (x as number) >= 0);

/**
 * Checks the arguments of one call by the kinds its declaration names (src/shared/storage-calls.ts)
 * and returns them as the Storage method takes them (a commit's record batch unpacked into its
 * request).
 * @throws ShelfError naming the method and the bad argument; nothing has run.
 */
export function checkCall(method: StorageMethod, args: unknown[]): unknown[] {
  const declared = STORAGE_CALLS[method].args;
  // A commit crosses as two values: its fields, then its records in one batch.
  const most = declared.length + (method === 'commit' ? 1 : 0);
  if (args.length > most) {
    throw new ShelfError(`${method}: ${args.length} arguments, at most ${most} expected.`);
  }
  if (method === 'commit') return [commitRequest(args[0], args[1])];
  declared.forEach((declaration, i) => {
    const kind = declaration.replace('?', '') as ArgumentKind;
    if (declaration.endsWith('?') && args[i] === undefined) return;
    CHECKS[kind](method, args[i]);
  });
  return args;
}

const CHECKS: Record<ArgumentKind, (method: StorageMethod, value: unknown) => void> = {
  oids: (_method, value) => checkLoad(value),
  oid: (method, value) => checkOid(method, value),
  tid: (method, value) => checkTid(method, value),
  count: (method, value) => {
    if (method === 'newOids') checkOidCount(value as number);
    else if (!isCount(value)) {
      throw new ShelfError(`${method}: count ${String(value)} is not a non-negative integer.`);
    }
  },
  holder: (_method, value) => checkPin(value, null),
  'tid-or-null': (method, value) => {
    if (value !== null) checkTid(method, value);
  },
  commit: () => undefined, // decoded whole by commitRequest
  'pack-options': (method, value) =>
    checkOptions(method, value, { keepTid: 'tid', packId: 'pack-id' }),
  'transaction-options': (method, value) =>
    checkOptions(method, value, { limit: 'count', before: 'tid' }),
  blob: (method, value) => {
    if (!(value instanceof Blob)) {
      throw new ShelfError(
        `${method}: the blob must be a Blob or a File, not ${describe(value)}; nothing was stored.`,
      );
    }
  },
  hash: (method, value) => {
    if (!isBlobHash(value)) {
      throw new ShelfError(
        `${method}: the hash must be a SHA-256 of 64 lowercase hexadecimal digits, not ${describe(value)}.`,
      );
    }
  },
  start: (method, value) => checkPosition(method, 'start', value),
  end: (method, value) => checkPosition(method, 'end', value),
};

function checkPosition(method: string, name: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new ShelfError(
      `${method}: ${name} ${describe(value)} is not a byte position (a non-negative integer).`,
    );
  }
}

/** A bad argument as an error message shows it: short, whatever it is. */
function describe(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  }
  if (typeof value === 'object' && value !== null) {
    return Array.isArray(value)
      ? 'an array'
      : `an object (${value.constructor?.name ?? 'null prototype'})`;
  }
  return String(value);
}

/** @throws ShelfError unless `holder` is a short string and `tid` a tid or null. */
export function checkPin(holder: unknown, tid: unknown): asserts tid is Tid | null {
  if (!isId(holder)) {
    throw new ShelfError(`pin: the holder must be a string of 1 to ${MAX_ID_LENGTH} characters.`);
  }
  if (tid !== null) checkTid('pin', tid);
}

/**
 * @throws ShelfError unless `packId` is a pack call id (the page's `abortPack`, a tab's 'abort'
 *   message, a pack call's `packId` option).
 */
export function checkPackId(method: string, packId: unknown): asserts packId is string {
  if (!isPackId(packId)) {
    throw new ShelfError(
      `${method}: the pack call id must be a string of 1 to ${MAX_PACK_ID_LENGTH} characters.`,
    );
  }
}

function checkOptions(
  method: string,
  options: unknown,
  fields: Record<string, 'tid' | 'count' | 'pack-id'>,
) {
  if (options === undefined) return;
  if (!isRecord(options)) throw new ShelfError(`${method}: options must be an object.`);
  for (const [key, value] of Object.entries(options)) {
    const kind = fields[key];
    if (kind === undefined) throw new ShelfError(`${method}: unknown option ${key}.`);
    if (value === undefined) continue;
    if (kind === 'tid') checkTid(method, value);
    else if (kind === 'pack-id') checkPackId(method, value);
    else if (!isCount(value)) {
      throw new ShelfError(`${method}: ${key} ${String(value)} is not a non-negative integer.`);
    }
  }
}

/** A commit as it crosses a link: its fields, and its records packed in one batch. */
function commitRequest(fields: unknown, batch: unknown): CommitRequest {
  const records = batchFrom(batch);
  if (!isRecord(fields) || 'records' in fields || records === undefined) {
    throw new ShelfError(
      'commit: malformed request (expected its fields and a packed record batch); nothing was stored.',
    );
  }
  let unpacked;
  try {
    unpacked = records.records;
  } catch (error) {
    throw new ShelfError('commit: the record batch is malformed; nothing was stored.', {
      cause: error,
    });
  }
  if (unpacked.length > MAX_BATCH) {
    throw new ShelfError(`commit: more than ${MAX_BATCH} records; nothing was stored.`);
  }
  blobRefsOf(fields, MAX_BATCH); // the blob record oids it references: bounded like load's oids
  return { ...(fields as Omit<CommitRequest, 'records'>), records: unpacked };
}

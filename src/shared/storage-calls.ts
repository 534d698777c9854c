/**
 * The storage calls as they cross a link, declared once for both links: the page ↔ its storage
 * worker (Comlink, link.ts) and a tab ↔ the tab that owns the files (BroadcastChannel messages,
 * protocol.ts). Per method: what each argument is — the receiver checks it by its kind before
 * anything runs (worker/call-checks.ts) — and what the answer is — the caller checks it here
 * (`decodeAnswer`) and ignores an answer that is not one.
 *
 * Record batches cross as one `RecordBatch` (one ArrayBuffer): a commit's records as the
 * argument after its other fields, `load`'s answer. Blobs cross as they are (a Blob by structured
 * clone, a handle; readBlob's bytes a Uint8Array, transferred by the page's link, cloned by a
 * channel). Nothing else spells the methods out:
 * ForwardingStorage turns the Storage interface into calls, each link carries them.
 */
import type {
  BlobInfo,
  CommitRequest,
  Invalidation,
  LoadedRecord,
  PackProgress,
  StoredRecord,
  Tid,
} from './storage.js';
import { isBlobHash } from './blob-record.js';
import { PackedCommitRequest, RecordBatch } from './record-batch.js';

/** What an argument is, for the receiver's check; `?`: may be undefined. */
export type ArgumentKind =
  | 'oids' // an array of oids (bounded)
  | 'oid'
  | 'tid'
  | 'count' // a non-negative integer or Infinity
  | 'holder' // a pin holder: a short string
  | 'tid-or-null'
  | 'commit' // a CommitRequest: on a link, its fields and then its records as a RecordBatch
  | 'pack-options' // { keepTid?, packId? }: packId names the call for its progress and abort
  | 'transaction-options' // { limit?, before? }
  | 'blob' // a Blob (or File) instance: crosses by structured clone, a handle, no bytes copied
  | 'hash' // a blob file's name: a SHA-256 as isBlobHash takes it
  | 'start' // readBlob's first byte position: a non-negative safe integer
  | 'end'; // readBlob's byte position past the last: a non-negative safe integer

/** What an answer is, for the caller's check. */
export type AnswerKind =
  | 'records' // LoadedRecord[], on a link a RecordBatch
  | 'oids'
  | 'commit' // a tid, or { tid, invalidation } when the answer carries the commit's announcement
  | 'sync' // { tid, oids }
  | 'value' // plain data (stats, reports, lists)
  | 'blob-info' // BlobInfo: { hash, size }
  | 'bytes' // a Uint8Array (its buffer transferred where the link transfers)
  | 'blob' // a Blob (a clone: a handle to the same bytes)
  | 'nothing';

export interface CallDeclaration {
  readonly args: readonly `${ArgumentKind}${'' | '?'}`[];
  readonly answer: AnswerKind;
}

export const STORAGE_CALLS = {
  load: { args: ['oids', 'tid?'], answer: 'records' },
  newOids: { args: ['count'], answer: 'oids' },
  commit: { args: ['commit'], answer: 'commit' },
  sync: { args: ['tid'], answer: 'sync' },
  pack: { args: ['pack-options?'], answer: 'value' },
  stats: { args: [], answer: 'value' },
  verify: { args: [], answer: 'value' },
  transactions: { args: ['transaction-options?'], answer: 'value' },
  history: { args: ['oid', 'count?'], answer: 'value' },
  pin: { args: ['holder', 'tid-or-null'], answer: 'nothing' },
  putBlob: { args: ['blob'], answer: 'blob-info' },
  readBlob: { args: ['hash', 'start', 'end'], answer: 'bytes' },
  blobFile: { args: ['hash'], answer: 'blob' },
  close: { args: [], answer: 'nothing' },
} as const satisfies Record<string, CallDeclaration>;

export type StorageMethod = keyof typeof STORAGE_CALLS;
export const STORAGE_METHODS = Object.keys(STORAGE_CALLS) as StorageMethod[];

export const isStorageMethod = (x: unknown): x is StorageMethod =>
  typeof x === 'string' && Object.hasOwn(STORAGE_CALLS, x);

/** A putBlob answer that crossed a link is one: a blob hash and a size, nothing else. */
export function isBlobInfo(x: unknown): x is BlobInfo {
  return isObject(x) && isBlobHash(x.hash) && isInt(x.size);
}

/** A commit's answer that carries its own announcement (the page's worker folds it in). */
export interface AnnouncedCommit {
  tid: Tid;
  invalidation: Invalidation;
}

/** A call's arguments as they cross a link: a commit's records packed in one RecordBatch. */
export function encodeArgs(method: StorageMethod, args: unknown[]): unknown[] {
  if (method !== 'commit') return args;
  const request = args[0];
  if (request instanceof PackedCommitRequest) return [request.fields(), request.batch];
  const { records, ...fields } = request as CommitRequest;
  return [fields, RecordBatch.of(records)];
}

/** An answer as it crosses a link: `load`'s records packed in one RecordBatch. */
export function encodeAnswer(method: StorageMethod, value: unknown): unknown {
  return STORAGE_CALLS[method].answer === 'records'
    ? RecordBatch.of(value as LoadedRecord[])
    : value;
}

/** A RecordBatch as a BroadcastChannel carries it (no transfer handlers there): its buffer. */
export function toChannel(value: unknown): unknown {
  return value instanceof RecordBatch ? value.buffer : value;
}

/** A record batch that crossed a link, as a RecordBatch or (from a channel) its buffer. */
export function batchFrom(value: unknown): RecordBatch | undefined {
  if (value instanceof RecordBatch) return value;
  if (value instanceof ArrayBuffer) return RecordBatch.fromBuffer(value);
  return undefined;
}

const isInt = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

/** An announcement that crossed a link is one: tids and oids in range, a txnId a string. */
export function isInvalidation(x: unknown): x is Invalidation {
  return (
    isObject(x) &&
    isInt(x.tid) &&
    isInt(x.prevTid) &&
    Array.isArray(x.oids) &&
    x.oids.every(isInt) &&
    (x.txnId === undefined || typeof x.txnId === 'string') &&
    (x.removed === undefined || x.removed === true)
  );
}

/**
 * A pack call's progress and abort as they cross a link. The pack call carries a `packId` (made by
 * the caller's side, unique there) in its options; the side running it sends the progress back
 * keyed by it — the page's worker as `StorageEvents.packProgress(packId, progress)`, the owning
 * tab as a 'progress' message on the asking tab's answer channel — and the caller asks it to stop
 * by it — `StorageService.abortPack(packId)`, an 'abort' message. `progress` holds the reports of
 * one slice of the pack's work at most (worker/progress-batch.ts), oldest first.
 */
export interface PackProgressBatch {
  /** The pack call the progress is for. */
  packId: string;
  /** Its reports, oldest first: at most MAX_PROGRESS_BATCH. */
  progress: PackProgress[];
}

/** The most reports one progress message carries (a slice has one per phase it touched). */
export const MAX_PROGRESS_BATCH = 16;

/** The longest pack call id a link accepts. */
export const MAX_PACK_ID_LENGTH = 200;

const PACK_PHASES: readonly unknown[] = ['mark', 'copy', 'done'] satisfies PackProgress['phase'][];
const isAmount = (x: unknown): x is number =>
  typeof x === 'number' && x >= 0 && x <= Number.MAX_SAFE_INTEGER;

/** A pack call id that crossed a link is one: a short non-empty string. */
export const isPackId = (x: unknown): x is string =>
  typeof x === 'string' && x.length > 0 && x.length <= MAX_PACK_ID_LENGTH;

/** One progress report that crossed a link is one: a known phase, amounts non-negative. */
export function isPackProgress(x: unknown): x is PackProgress {
  return isObject(x) && PACK_PHASES.includes(x.phase) && isAmount(x.done) && isAmount(x.total);
}

/** A progress message's fields are a PackProgressBatch (checked whole: one bad report spoils it). */
export function isPackProgressBatch(
  packId: unknown,
  progress: unknown,
): progress is PackProgress[] {
  return (
    isPackId(packId) &&
    Array.isArray(progress) &&
    progress.length > 0 &&
    progress.length <= MAX_PROGRESS_BATCH &&
    progress.every(isPackProgress)
  );
}

/**
 * The answer to a call as the Storage method returns it.
 * @throws TypeError for an answer that is not what the method answers (the caller ignores it).
 */
export function decodeAnswer(method: StorageMethod, value: unknown): unknown {
  switch (STORAGE_CALLS[method].answer) {
    case 'records': {
      const batch = batchFrom(value);
      if (batch === undefined) throw new TypeError(`${method}: the answer is not a record batch`);
      return batch.records as StoredRecord[];
    }
    case 'oids':
      if (Array.isArray(value) && value.every(isInt)) return value;
      break;
    case 'commit':
      if (isInt(value)) return value;
      if (isObject(value) && isInt(value.tid) && isInvalidation(value.invalidation)) return value;
      break;
    case 'sync':
      if (isObject(value) && isInt(value.tid) && Array.isArray(value.oids)) return value;
      break;
    case 'value':
      return value;
    case 'blob-info':
      if (isBlobInfo(value)) return value;
      break;
    case 'bytes':
      if (value instanceof Uint8Array) return value;
      break;
    case 'blob':
      if (value instanceof Blob) return value;
      break;
    case 'nothing':
      return undefined;
  }
  throw new TypeError(`${method}: the answer is not what ${method} answers`);
}

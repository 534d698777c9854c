/**
 * Reading ShelfStorage's log back for tools: transactions newest first (walking the entry trailers
 * backwards), an object's revisions (following each record's previous-revision position), and
 * verify (every checksum and record, the index against the log, and the object graph).
 */
import { CorruptStorageError } from '../src/shared/errors.js';
import type {
  CommitRequest,
  RevisionInfo,
  Tid,
  TransactionInfo,
  VerifyProblem,
  VerifyReport,
} from '../src/shared/storage.js';
import type { BlockFile } from './block-file.js';
import {
  ENTRY_HEADER_SIZE,
  ENTRY_TRAILER_SIZE,
  KIND_TRANSACTION,
  PREV_PACKED,
  RECORD_HEADER_SIZE,
  SEGMENT_HEADER_SIZE,
  decodeEntry,
  decodeEntryHeader,
  getU64,
  entryIsValid,
  offsetOf,
  position,
  recordLength,
  segmentName,
  segmentOf,
  type DecodedRecord,
  type EntryHeader,
  type TransactionMetadata,
} from './shelf-format.js';
import type { ShelfIndex } from './shelf-index.js';
import type { ShelfLog } from './shelf-log.js';
import type { Storage } from '../src/shared/storage.js';
import { verifyGraph } from './reachability.js';

/** What reading needs of a ShelfStorage. */
export interface ShelfView extends Pick<Storage, 'load'> {
  readonly log: ShelfLog;
  readonly index: ShelfIndex;
  readRecord(pos: number, oid: number): DecodedRecord;
}

/** Where each entry of the log starts, newest first (walking the entry trailers backwards). */
export function* entryPositionsBackwards(s: ShelfView): Generator<{ pos: number; length: number }> {
  for (const n of [...s.log.manifest.segments].reverse()) {
    const file = s.log.segments.get(n) as BlockFile;
    let end = n === s.log.active ? s.log.end : file.size();
    while (end > SEGMENT_HEADER_SIZE) {
      const length = recordLength(file.read(end - 4, 4));
      if (length < ENTRY_HEADER_SIZE + ENTRY_TRAILER_SIZE || length > end - SEGMENT_HEADER_SIZE) {
        throw new CorruptStorageError(
          `${segmentName(n)}: a damaged entry trailer before byte ${end}. Run db.verify().`,
        );
      }
      end -= length;
      yield { pos: position(n, end), length };
    }
  }
}

/** The entries of the log, newest first. */
export function* entriesBackwards(s: ShelfView): Generator<Uint8Array> {
  for (const { pos, length } of entryPositionsBackwards(s)) {
    yield (s.log.segments.get(segmentOf(pos)) as BlockFile).read(offsetOf(pos), length);
  }
}

export function readTransactions(
  s: ShelfView,
  options: { limit?: number; before?: Tid },
): TransactionInfo[] {
  const { limit = Infinity, before = Infinity } = options;
  const out: TransactionInfo[] = [];
  for (const { pos, length } of entryPositionsBackwards(s)) {
    if (out.length >= limit) break;
    // The header first: an entry skipped (newer than `before`, or no transaction) costs its
    // header, not its records (an import's entry holds megabytes).
    const file = s.log.segments.get(segmentOf(pos)) as BlockFile;
    const head = decodeEntryHeader(file.read(offsetOf(pos), ENTRY_HEADER_SIZE));
    if (head.kind !== KIND_TRANSACTION || head.tid >= before) continue;
    const { metadata, oids, bytes } = summarize(file.read(offsetOf(pos), length), head);
    // Written by validateCommit on an undoing transaction only (docs/file-format.md).
    const { undoes } = metadata;
    out.push({
      tid: head.tid,
      time: head.time,
      note: metadata.note,
      user: metadata.user,
      meta: metadata.meta,
      oids,
      bytes,
      ...(undoes === undefined ? {} : { undoes }),
    });
  }
  return out;
}

/**
 * A transaction entry's metadata, the oids its records wrote and the bytes of their states,
 * walking the record headers only: no class name decoded, no state or refs touched (an import's
 * entry holds thousands of records).
 * @throws CorruptStorageError when the entry's lengths do not add up (a damaged header).
 */
function summarize(
  bytes: Uint8Array,
  head: EntryHeader,
): { metadata: TransactionMetadata; oids: number[]; bytes: number } {
  const end = bytes.byteLength - ENTRY_TRAILER_SIZE;
  const corrupt = (what: string): CorruptStorageError =>
    new CorruptStorageError(`The transaction ${head.tid}'s entry: ${what}. Run db.verify().`);
  if (head.length !== bytes.byteLength)
    throw corrupt('its header and trailer disagree on its length');
  if (ENTRY_HEADER_SIZE + head.metaLength > end) throw corrupt('its metadata leaves the entry');
  let metadata: TransactionMetadata = { note: '', user: '', meta: {} };
  if (head.metaLength > 0) {
    try {
      metadata = JSON.parse(
        new TextDecoder().decode(
          bytes.subarray(ENTRY_HEADER_SIZE, ENTRY_HEADER_SIZE + head.metaLength),
        ),
      ) as TransactionMetadata;
    } catch {
      throw corrupt('its metadata is not JSON');
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const oids = new Array<number>(head.recordCount);
  let stateBytes = 0;
  let at = ENTRY_HEADER_SIZE + head.metaLength;
  for (let i = 0; i < head.recordCount; i++) {
    const size = at + RECORD_HEADER_SIZE <= end ? view.getUint32(at, true) : 0;
    if (size < RECORD_HEADER_SIZE || at + size > end) {
      throw new CorruptStorageError(
        `The transaction ${head.tid}'s record ${i} claims ${size} bytes where ${end - at} remain. Run db.verify().`,
      );
    }
    const stateLength = view.getUint32(at + 34, true);
    // As decodeRecord: a damaged header (a flipped length) is refused, not listed as read.
    const fields =
      RECORD_HEADER_SIZE +
      view.getUint16(at + 32, true) +
      stateLength +
      8 * view.getUint32(at + 38, true);
    if (fields !== size) {
      throw new CorruptStorageError(
        `The transaction ${head.tid}'s record ${i}: its field lengths do not add up to its length. Run db.verify().`,
      );
    }
    oids[i] = getU64(view, at + 8);
    stateBytes += stateLength;
    at += size;
  }
  // The records fill the entry up to its trailer: fewer (a flipped count) would list too few oids.
  if (at !== end) throw corrupt(`its ${head.recordCount} records end ${end - at} bytes early`);
  return { metadata, oids, bytes: stateBytes };
}

export function readHistory(s: ShelfView, oid: number, limit: number): RevisionInfo[] {
  const out: RevisionInfo[] = [];
  let pos = s.index.get(oid);
  while (pos > PREV_PACKED && out.length < limit) {
    const record = s.readRecord(pos, oid);
    const entryPos = pos - record.offset;
    const file = s.log.segments.get(segmentOf(entryPos)) as BlockFile;
    const head = decodeEntryHeader(file.read(offsetOf(entryPos), ENTRY_HEADER_SIZE));
    const metaBytes = file.read(offsetOf(entryPos) + ENTRY_HEADER_SIZE, head.metaLength);
    const note =
      head.metaLength > 0
        ? (JSON.parse(new TextDecoder().decode(metaBytes)) as { note: string }).note
        : '';
    const { className, state, refs, tid } = record;
    out.push({ tid, time: head.time, note, record: { oid, className, state, refs, tid } });
    pos = s.log.followPrev(record.prev);
  }
  return out;
}

/** The client txnId of the transaction entry at `entryPos`, if it was given one. */
export function readTxnId(s: ShelfView, entryPos: number): string | undefined {
  const file = s.log.segments.get(segmentOf(entryPos)) as BlockFile;
  const head = decodeEntryHeader(file.read(offsetOf(entryPos), ENTRY_HEADER_SIZE));
  if (head.metaLength === 0) return undefined;
  const metaBytes = file.read(offsetOf(entryPos) + ENTRY_HEADER_SIZE, head.metaLength);
  return (JSON.parse(new TextDecoder().decode(metaBytes)) as { txnId?: string }).txnId;
}

/**
 * A commit with a txnId conflicts on `oids`: is it this very transaction, landed before and resent
 * (its answer lost, its txnId not remembered since a reopen)? Looks through the revisions of those
 * oids newer than the commit's bases for one written with that txnId; returns its tid. When pack
 * cut such a chain short (the revision the transaction wrote may be gone, superseded or
 * unreachable), the transactions themselves are asked: pack keeps the entry and metadata of every
 * transaction a kept snapshot or the newest `keepTransactions` include, so the log since the
 * commit's snapshot (`baseTid`) says whether it landed (a resend older than that is a conflict).
 */
export function findLanded(s: ShelfView, txn: CommitRequest, oids: number[]): Tid | undefined {
  const seen = new Set<number>(); // entries already read
  let cut = false; // a chain ended before reaching the commit's base: pack removed revisions
  for (const oid of oids) {
    // What the record was based on: its own tid, else the request's snapshot (checkConflicts).
    const base = txn.records.find((r) => r.oid === oid)?.tid ?? txn.baseTid;
    let pos = s.index.get(oid);
    while (pos > PREV_PACKED) {
      const record = s.readRecord(pos, oid);
      if (record.tid <= base) break;
      const entry = pos - record.offset;
      if (!seen.has(entry)) {
        seen.add(entry);
        if (readTxnId(s, entry) === txn.txnId) return record.tid;
      }
      pos = s.log.followPrev(record.prev);
    }
    // Ended without reaching the base: pack removed revisions (or the whole object).
    if (pos === PREV_PACKED || (pos === 0 && base > 0)) cut = true;
  }
  return cut ? findTxnIdSince(s, txn.txnId as string, txn.baseTid) : undefined;
}

/** The tid of the transaction committed with `txnId` after `sinceTid`, read from the log's end. */
export function findTxnIdSince(s: ShelfView, txnId: string, sinceTid: Tid): Tid | undefined {
  for (const { pos } of entryPositionsBackwards(s)) {
    const file = s.log.segments.get(segmentOf(pos)) as BlockFile;
    const head = decodeEntryHeader(file.read(offsetOf(pos), ENTRY_HEADER_SIZE));
    if (head.kind !== KIND_TRANSACTION) continue;
    if (head.tid <= sinceTid) return undefined;
    if (readTxnId(s, pos) === txnId) return head.tid;
  }
  return undefined;
}

export async function verifyShelf(s: ShelfView): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const newest = new Map<number, number>(); // oid → position of its newest revision in the log
  for (const n of s.log.manifest.segments) {
    const file = s.log.segments.get(n) as BlockFile;
    const name = segmentName(n);
    const size = n === s.log.active ? s.log.end : file.size();
    let off = SEGMENT_HEADER_SIZE;
    while (off < size) {
      const length = recordLength(file.read(off, 4));
      if (length < ENTRY_HEADER_SIZE + ENTRY_TRAILER_SIZE || off + length > size) {
        problems.push({
          kind: 'trailer',
          offset: off,
          message: `${name} byte ${off}: an entry length of ${length} that does not fit the log.`,
        });
        break;
      }
      const bytes = file.read(off, length);
      if (!entryIsValid(bytes, position(n, off))) {
        problems.push({
          kind: 'checksum',
          offset: off,
          message: `${name} byte ${off}: the entry fails its checksum.`,
        });
      } else if (bytes[4] === KIND_TRANSACTION) {
        try {
          for (const r of decodeEntry(bytes).records)
            newest.set(r.oid, position(n, off + r.offset));
        } catch (error) {
          problems.push({
            kind: 'record',
            offset: off,
            message: `${name} byte ${off}: ${String(error)}`,
          });
        }
      }
      off += length;
    }
  }
  for (const [oid, pos] of newest) {
    const indexed = s.index.get(oid);
    if (indexed !== pos) {
      problems.push({
        kind: 'index',
        oid,
        message: `The index gives object ${oid} position ${indexed}; its newest revision in the log is at ${pos}.`,
      });
    }
  }
  if (s.index.objects !== newest.size) {
    problems.push({
      kind: 'index',
      message: `The index counts ${s.index.objects} objects; the log holds ${newest.size}.`,
    });
  }
  await verifyGraph(s, problems);
  return { ok: problems.length === 0, problems };
}

/**
 * Reading a ShelfStorage database back at open: the index checkpoint the manifest names, then
 * every entry of the log after it (shelf-recovery.ts deals with damage), indexed in memory. What it
 * finds are the counters ShelfStorage resumes from. Opening costs time in proportion to what was
 * committed since the last checkpoint, not to the database's size.
 */
import { CorruptStorageError } from '../src/shared/errors.js';
import type { RecoveryReport, Tid } from '../src/shared/storage.js';
import {
  KIND_TRANSACTION,
  SEGMENT_HEADER_SIZE,
  decodeEntry,
  decodeEntryHeader,
  offsetOf,
  position,
  segmentName,
  segmentOf,
} from './shelf-format.js';
import type { ShelfIndex } from './shelf-index.js';
import type { ShelfLog } from './shelf-log.js';
import type { RecentTransactions } from './recent-transactions.js';
import { scanSegment } from './shelf-recovery.js';
import { ROOT_OID } from '../src/shared/storage.js';

/** What the log says, as of its last entry. */
export interface LogState {
  lastTid: Tid;
  /** Every oid below it may have been handed out (reservations included). */
  nextOid: number;
  transactionCount: number;
  garbageBytes: number;
}

/**
 * Indexes the log of `log` (opened) into `index` and `recent`.
 * @throws CorruptStorageError for damage `recover` does not allow (see shelf-recovery.ts).
 */
export async function readShelf(
  log: ShelfLog,
  index: ShelfIndex,
  recent: RecentTransactions,
  recover: boolean,
  report: RecoveryReport,
): Promise<LogState> {
  const state: LogState = {
    lastTid: 0,
    nextOid: ROOT_OID + 1,
    transactionCount: 0,
    garbageBytes: 0,
  };
  const { manifest } = log;
  const cp = manifest.checkpoint;
  let scanFrom = position(manifest.segments[0] as number, SEGMENT_HEADER_SIZE);
  if (cp !== null && recover) {
    // Recovering reads the whole log, so damage the checkpoint covers is found and dropped too;
    // the checkpoint's reservation and newest tid still hold (pack may have dropped the entries
    // that carried them).
    state.lastTid = cp.tid;
    state.nextOid = cp.nextOid;
  } else if (cp !== null) {
    index.attach(await log.dir.open(cp.file), cp.file, cp.objects);
    state.lastTid = cp.tid;
    state.nextOid = cp.nextOid;
    state.transactionCount = manifest.checkpointTransactions ?? 0;
    state.garbageBytes = manifest.checkpointGarbage ?? 0;
    scanFrom = cp.end;
    const file = log.segments.get(segmentOf(scanFrom));
    if (file === undefined || file.size() < offsetOf(scanFrom)) {
      throw new CorruptStorageError(
        `The manifest's checkpoint covers ${segmentName(segmentOf(scanFrom))} up to byte ${offsetOf(scanFrom)}, but the file is shorter: the log lost bytes it had flushed. Nothing was changed.`,
      );
    }
  }
  recent.floor = state.lastTid;
  const sizeAt = (pos: number): number => log.recordSize(pos);
  // In log order, which is the manifest's (pack gives a compacted segment a new, larger number).
  const first = manifest.segments.indexOf(segmentOf(scanFrom));
  for (const n of manifest.segments.slice(Math.max(first, 0))) {
    const start = n === segmentOf(scanFrom) ? offsetOf(scanFrom) : SEGMENT_HEADER_SIZE;
    scanSegment(
      log.segments.get(n) as NonNullable<ReturnType<typeof log.segments.get>>,
      n,
      segmentName(n),
      start,
      { recover, last: n === log.active },
      (bytes, off) => {
        const pos = position(n, off);
        const header = decodeEntryHeader(bytes);
        if (header.nextOid > state.nextOid) state.nextOid = header.nextOid;
        if (header.kind !== KIND_TRANSACTION) return;
        const { records, metadata } = decodeEntry(bytes);
        for (const r of records)
          state.garbageBytes += index.supersede(r.oid, pos + r.offset, sizeAt);
        state.lastTid = Math.max(state.lastTid, header.tid);
        state.transactionCount++;
        recent.remember(
          header.tid,
          records.map((r) => r.oid),
          metadata.txnId,
        );
      },
      report,
    );
  }
  log.end = log.activeFile.size();
  return state;
}

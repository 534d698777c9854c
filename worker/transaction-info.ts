/**
 * What a storage keeps of a committed transaction for `transactions()`: its time, note, user,
 * metadata and the tid it undoes (`db.undo`), as the JSON text validateCommit made (so every storage
 * keeps what the log of ShelfStorage keeps), the oids it wrote and the bytes of state. A restored
 * transaction (CommitRequest.restore) keeps the time, oids and bytes it had in its source.
 */
import type { CommitRequest, TransactionInfo } from '../src/shared/storage.js';

/** The metadata of `txn` as stored, given the JSON text validateCommit returned for it. */
export function transactionInfo(
  txn: CommitRequest,
  metadataJson: string,
): Omit<TransactionInfo, 'tid'> {
  const { meta, undoes } = JSON.parse(metadataJson) as {
    meta: Record<string, unknown>;
    undoes?: number;
  };
  let bytes = 0;
  for (const record of txn.records) bytes += record.state.byteLength;
  const { restore } = txn;
  return {
    // A restored transaction keeps the time, and the oids and bytes listed, it had in the source.
    time: restore?.time ?? Date.now(),
    note: txn.note ?? '',
    user: txn.user ?? '',
    meta,
    oids: restore?.oids !== undefined ? [...restore.oids] : txn.records.map((r) => r.oid),
    bytes: restore?.oids !== undefined ? (restore.bytes ?? bytes) : bytes,
    // Only on an undoing transaction: the others list no `undoes` key at all.
    ...(undoes === undefined ? {} : { undoes }),
  };
}

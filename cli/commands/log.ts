/**
 * `shelfdb log <path> [--limit N]`: committed transactions, newest first, with their notes, users
 * and undo marks. Streamed page by page: `--json` writes one JSON array, an item per line, as the
 * transactions come, so a long log is never held whole.
 */
import type { TransactionInfo } from '../../src/shared/storage.js';
import { EXIT, roomIn, writeLine, type ExitCode, type Streams } from '../io.js';
import { formatTransaction } from '../format.js';
import { withDatabase } from '../open-path.js';

/** A transaction as `log --json` lists it. */
export interface LogEntryJson extends TransactionInfo {
  /** ISO form of `time`. */
  date: string;
  /** The tid of the later transaction that undid this one, if any. */
  undoneBy?: number;
}

/** Runs `log`. */
export async function log(
  path: string,
  options: { limit?: number; json: boolean },
  streams: Streams,
): Promise<ExitCode> {
  const out = streams.stdout;
  await withDatabase(path, {}, async (db) => {
    // Newest first: an undoing transaction is listed before the one it undid.
    const undoneBy = new Map<number, number>();
    let count = 0;
    if (options.json) out.write('[');
    for await (const txn of db.transactions(
      options.limit === undefined ? {} : { limit: options.limit },
    )) {
      if (txn.undoes !== undefined) undoneBy.set(txn.undoes, txn.tid);
      const undone = undoneBy.get(txn.tid);
      if (options.json) {
        const entry: LogEntryJson = {
          ...txn,
          date: new Date(txn.time).toISOString(),
          ...(undone === undefined ? {} : { undoneBy: undone }),
        };
        out.write(`${count === 0 ? '\n' : ',\n'}${JSON.stringify(entry)}`);
      } else {
        writeLine(out, formatTransaction(txn, undone));
      }
      count++;
      await roomIn(out); // a slow reader holds the next transactions back
    }
    if (options.json) out.write(count === 0 ? ']\n' : '\n]\n');
    else if (count === 0) writeLine(out, 'no transactions');
  });
  return EXIT.ok;
}

/**
 * The log view's pages: the transaction log newest first, `pageSize` at a time, optionally
 * filtered by text (note and user) or by an oid (the transactions that wrote it).
 *
 * A filtered page scans the log from its start point until the page is full or `scanLimit`
 * transactions were read, never the whole log in one go: on a long log a rare match would
 * otherwise read every transaction. Each page says where the next older one starts (`next`, an
 * exclusive tid): the last transaction it scanned, so consecutive pages neither overlap nor skip,
 * and a commit landing meanwhile (newer than all of them) shifts nothing.
 */
import type { Tid, TransactionInfo } from '../shared/storage.js';

/** What the log is filtered by; an empty text and an undefined oid filter nothing. */
export interface LogFilter {
  /** Matched, case-insensitively, as a substring of the note or the user. */
  text: string;
  /** Only the transactions that wrote this object. */
  oid: number | undefined;
}

/** One page of the (filtered) log. */
export interface LogPage {
  /** The matching transactions, newest first. */
  transactions: TransactionInfo[];
  /** How many transactions were read to make this page. */
  scanned: number;
  /** Where the next older page starts (exclusive); undefined when the log's oldest was read. */
  next: Tid | undefined;
  /** True when the scan stopped at `scanLimit` before the page was full: older ones may match. */
  limited: boolean;
}

/** Lists transactions newest first, as `db.transactions()` does. */
export type TransactionSource = (options: {
  limit?: number;
  before?: Tid;
}) => AsyncIterable<TransactionInfo>;

/** Where a page starts and how much it may read. */
export interface LogPageOptions {
  /** Start after this tid (exclusive), going older; undefined: from the newest. */
  before: Tid | undefined;
  /** The filter; undefined filters nothing. */
  filter?: LogFilter | undefined;
  /** Transactions shown per page (default 50). */
  pageSize?: number;
  /** Transactions read at most for one filtered page (default 1000). */
  scanLimit?: number;
}

/** True when `filter` lets every transaction through. */
export function isEmptyFilter(filter: LogFilter | undefined): boolean {
  return filter === undefined || (filter.text.trim() === '' && filter.oid === undefined);
}

/** True when `txn` passes `filter`. */
export function matches(txn: TransactionInfo, filter: LogFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (filter.oid !== undefined && !txn.oids.includes(filter.oid)) return false;
  const text = filter.text.trim().toLowerCase();
  if (text === '') return true;
  return txn.note.toLowerCase().includes(text) || txn.user.toLowerCase().includes(text);
}

/**
 * Reads one page of the log (see the module comment).
 * @example
 * const page = await readLogPage((o) => db.transactions(o), { before: undefined, filter: { text: 'import', oid: undefined } });
 * const older = await readLogPage((o) => db.transactions(o), { before: page.next, filter });
 */
export async function readLogPage(
  source: TransactionSource,
  options: LogPageOptions,
): Promise<LogPage> {
  const pageSize = options.pageSize ?? 50;
  const filtered = !isEmptyFilter(options.filter);
  // Unfiltered, a page reads its rows and one more: that one tells whether an older page exists.
  const scanLimit = filtered ? Math.max(options.scanLimit ?? 1000, pageSize) : pageSize + 1;
  const transactions: TransactionInfo[] = [];
  let scanned = 0;
  let last: Tid | undefined;
  let exhausted = true;
  const iterator = source({
    limit: scanLimit,
    ...(options.before === undefined ? {} : { before: options.before }),
  })[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (transactions.length === pageSize || scanned === scanLimit) {
        exhausted = false;
        break;
      }
      const step = await iterator.next();
      if (step.done) break;
      const txn = step.value;
      scanned++;
      last = txn.tid;
      if (matches(txn, options.filter)) transactions.push(txn);
    }
    if (!exhausted && transactions.length === pageSize && scanned < scanLimit) {
      // The page is full: one more read (within the limit asked, usually in the source's page at
      // hand) tells whether anything older exists, so "Older" is not offered onto an empty page.
      const peek = await iterator.next();
      if (peek.done) exhausted = true;
    }
  } finally {
    await iterator.return?.();
  }
  return {
    transactions,
    scanned,
    next: exhausted ? undefined : last,
    limited: !exhausted && transactions.length < pageSize,
  };
}

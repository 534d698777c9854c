/**
 * `db.transactions()`'s pager: the storage lists committed transactions a page at a time
 * (`Storage.transactions({ limit, before })`, newest first); this walks the pages as one stream.
 * Each page starts before the last transaction yielded, so a commit landing meanwhile (newer than
 * all of them) neither repeats nor shifts what was listed.
 */
import type { Storage, Tid, TransactionInfo } from './shared/storage.js';

/** Transactions asked for per round trip, at most. */
const PAGE_SIZE = 100;

/**
 * Committed transactions, newest first: at most `limit`, those before tid `before` (exclusive).
 * Fetched in pages of up to 100.
 */
export async function* transactionPages(
  storage: Storage,
  options: { limit?: number; before?: Tid },
): AsyncGenerator<TransactionInfo> {
  let remaining = options.limit ?? Infinity;
  let before = options.before;
  while (remaining > 0) {
    const page = await storage.transactions({
      limit: Math.min(remaining, PAGE_SIZE),
      ...(before === undefined ? {} : { before }),
    });
    if (page.length === 0) return;
    for (const txn of page) {
      yield txn;
      before = txn.tid;
      if (--remaining <= 0) return;
    }
  }
}

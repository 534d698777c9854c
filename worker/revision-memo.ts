/**
 * RevisionMemo: the tid and stored size of revisions this storage wrote, by log position, so that
 * the next commit of the same object needs no read of the log. A commit checks each object it
 * writes against the tid of its newest revision (first-committer-wins) and counts the revision it
 * supersedes as garbage by its size; both were a read of the log per object (~100 µs each on OPFS,
 * a tenth of a small commit), and both concern, in the common case, a revision written moments ago.
 *
 * A position holds one record for the life of a log segment (the log is append-only; a failed
 * append is undone before anything is remembered here), so an entry never goes stale; pack writes
 * a new segment and `clear`s the memo. Bounded: past `limit` entries it starts over (a miss only
 * costs the read it saves).
 */
import type { Tid } from '../src/shared/storage.js';

interface Revision {
  tid: Tid;
  size: number;
}

export class RevisionMemo {
  private readonly byPosition = new Map<number, Revision>();

  constructor(private readonly limit = 100_000) {}

  /** The record at `pos` is a revision of tid `tid`, `size` bytes long as stored. */
  remember(pos: number, tid: Tid, size: number): void {
    if (this.byPosition.size >= this.limit) this.byPosition.clear();
    this.byPosition.set(pos, { tid, size });
  }

  /** The tid and size of the record at `pos`, if remembered. */
  get(pos: number): Revision | undefined {
    return this.byPosition.get(pos);
  }

  /** Positions changed (pack): forget them all. */
  clear(): void {
    this.byPosition.clear();
  }
}

/**
 * RevisionMemo: the tid and stored size of the newest revision this storage wrote of each object
 * (by oid, with its log position), so that
 * the next commit of the same object needs no read of the log. A commit checks each object it
 * writes against the tid of its newest revision (first-committer-wins) and counts the revision it
 * supersedes as garbage by its size; both were a read of the log per object (~100 µs each on OPFS,
 * a tenth of a small commit), and both concern, in the common case, a revision written moments ago.
 *
 * An entry answers only for the position it names: a position holds one record for the life of a
 * log segment (the log is append-only; a failed append is undone before anything is remembered
 * here); pack writes a new segment and `clear`s the memo all the same. Keyed by oid, a small
 * integer, where positions are doubles (slow Map keys in V8). Bounded: past `limit` entries it
 * starts over (a miss only costs the read it saves).
 */
import type { Tid } from '../src/shared/storage.js';

interface Revision {
  pos: number;
  tid: Tid;
  size: number;
}

export class RevisionMemo {
  private readonly byOid = new Map<number, Revision>();

  constructor(private readonly limit = 100_000) {}

  /** The record of `oid` at `pos` is a revision of tid `tid`, `size` bytes long as stored. */
  remember(oid: number, pos: number, tid: Tid, size: number): void {
    if (this.byOid.size >= this.limit) this.byOid.clear();
    this.byOid.set(oid, { pos, tid, size });
  }

  /** The tid of the record of `oid` at `pos`, if remembered. */
  tidAt(oid: number, pos: number): Tid | undefined {
    const r = this.byOid.get(oid);
    return r !== undefined && r.pos === pos ? r.tid : undefined;
  }

  /** The stored size of the record of `oid` at `pos`, if remembered. */
  sizeAt(oid: number, pos: number): number | undefined {
    const r = this.byOid.get(oid);
    return r !== undefined && r.pos === pos ? r.size : undefined;
  }

  /** Positions changed (pack): forget them all. */
  clear(): void {
    this.byOid.clear();
  }
}

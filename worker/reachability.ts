/**
 * Reachability from the root, over the stored `refs` (state is never decoded): what pack keeps
 * (mark) and what verify reports (references to objects that have no revision). One walk serves
 * every storage, synchronous (ShelfStorage packs without yielding, so no commit interleaves) or
 * asynchronous (IndexedDB cursors, `load` batches).
 *
 * The walk goes breadth first, a frontier at a time; for each frontier the storage answers which
 * of its oids have revisions and the refs of the revisions it keeps (pack: every revision a kept
 * snapshot can read; verify: the newest).
 *
 * `IncrementalMark` is the same mark for a pack that runs beside commits: stepped in slices, with
 * a write barrier (`shade`) the storage feeds what each commit landing meanwhile wrote.
 */
import {
  ROOT_OID,
  type Storage,
  type VerifyProblem,
  type VerifyReport,
} from '../src/shared/storage.js';

/** For each oid asked about that has a revision: the refs of the revisions kept. */
export type RefsFound = ReadonlyMap<number, Iterable<number>>;

export interface Reached {
  /** Oids reachable from the root that have a revision. */
  live: Set<number>;
  /** References to an oid with no revision: `from` references `oid` (the root is never one). */
  dangling: { from: number; oid: number }[];
}

/** The walk: yields each frontier, is answered with what the storage found of it. */
function* walk(): Generator<number[], Reached, RefsFound> {
  const live = new Set<number>();
  const dangling: Reached['dangling'] = [];
  const seen = new Set<number>([ROOT_OID]);
  /** Who referenced each oid first, for the report. */
  const referrer = new Map<number, number>();
  let frontier = [ROOT_OID];
  while (frontier.length > 0) {
    const found = yield frontier;
    const next: number[] = [];
    for (const oid of frontier) {
      const refs = found.get(oid);
      if (refs === undefined) {
        if (oid !== ROOT_OID) dangling.push({ from: referrer.get(oid) as number, oid });
        continue;
      }
      live.add(oid);
      for (const ref of refs) {
        if (seen.has(ref)) continue;
        seen.add(ref);
        referrer.set(ref, oid);
        next.push(ref);
      }
    }
    frontier = next;
  }
  return { live, dangling };
}

/** Walks from the root, asking `refsOf` about each frontier synchronously. */
export function markFromRoot(refsOf: (oids: number[]) => RefsFound): Reached {
  const w = walk();
  for (let step = w.next(); ; step = w.next(refsOf(step.value))) {
    if (step.done === true) return step.value;
  }
}

/** Walks from the root, awaiting `refsOf` for each frontier. */
export async function markFromRootAsync(
  refsOf: (oids: number[]) => Promise<RefsFound>,
): Promise<Reached> {
  const w = walk();
  for (let step = w.next(); ; step = w.next(await refsOf(step.value))) {
    if (step.done === true) return step.value;
  }
}

/**
 * An incremental (tri-color) mark from the root, storage-agnostic, for a pack that runs beside
 * commits. White: not seen; gray: seen, its refs not read yet (`take`); black: `live` (its kept
 * revisions were read and their refs shaded). The storage steps it in slices: `take` a batch of
 * gray oids, read the refs of the revisions it keeps for them, answer with `found`.
 *
 * The write barrier is `shade`: for every commit that lands while the pack runs, the storage
 * shades the oids it wrote and every ref of the records it wrote. Then an object reachable when
 * the mark is `done` is live: each edge of the path to it is in a revision the mark read, or in a
 * record written since, whose refs were shaded. An oid found without a revision (dangling, or not
 * committed yet) is white again, so a commit that stores it later shades it anew. After `done`,
 * a `shade` of a new oid makes the mark not done: the storage marks again before it deletes.
 */
export class IncrementalMark {
  /** Gray oids, waiting to be read. */
  private readonly gray: number[] = [];
  /** Gray, black, or taken and not answered yet: what `shade` skips. */
  private readonly seen = new Set<number>();
  /** Taken by `take`, not answered by `found` yet. */
  private readonly asked = new Set<number>();
  /** Asked oids shaded again while asked: a 'no revision' answer for one may be stale. */
  private readonly shadedWhileAsked = new Set<number>();
  /** Black: reachable, with a revision; its kept revisions' refs are shaded. */
  readonly live = new Set<number>();

  /** Starts with `roots` gray (the root object). */
  constructor(roots: Iterable<number> = [ROOT_OID]) {
    this.shade(roots);
  }

  /** Makes white oids gray (the roots, refs read, and the write barrier's oids). */
  shade(oids: Iterable<number>): void {
    for (const oid of oids) {
      if (this.asked.has(oid)) this.shadedWhileAsked.add(oid);
      if (this.seen.has(oid)) continue;
      this.seen.add(oid);
      this.gray.push(oid);
    }
  }

  /** Takes up to `max` gray oids for the storage to read; answer them with `found`. */
  take(max: number): number[] {
    const batch = this.gray.splice(Math.max(0, this.gray.length - max));
    for (const oid of batch) this.asked.add(oid);
    return batch;
  }

  /**
   * Answers oids `take` gave: for each that has a revision, the refs of the revisions the pack
   * keeps (it turns black, its refs gray); one without turns white again (unless shaded while
   * asked: then it is read again, as the answer may predate the commit that stored it).
   */
  found(oids: readonly number[], refs: RefsFound): void {
    for (const oid of oids) {
      this.asked.delete(oid);
      const again = this.shadedWhileAsked.delete(oid);
      const its = refs.get(oid);
      if (its !== undefined) {
        this.live.add(oid);
        this.shade(its);
      } else if (again) {
        this.gray.push(oid);
      } else {
        this.seen.delete(oid);
      }
    }
  }

  /**
   * Marks synchronously until done or `enough` says stop (a slice over), a batch at least (so a
   * slice always makes progress, however short); true when done.
   */
  step(refsOf: (oids: number[]) => RefsFound, enough: () => boolean, batch = 256): boolean {
    while (!this.done) {
      const oids = this.take(batch);
      this.found(oids, refsOf(oids));
      if (enough()) break;
    }
    return this.done;
  }

  /** No gray oid left and none asked: every object reachable through what was shaded is live. */
  get done(): boolean {
    return this.gray.length === 0 && this.asked.size === 0;
  }

  /** Objects marked live so far (progress's `done`). */
  get marked(): number {
    return this.live.size;
  }

  /** Oids the mark knows of so far: live, gray or asked (progress's `total`). */
  get known(): number {
    return this.live.size + this.gray.length + this.asked.size;
  }
}

/** Oids per `load` while verifying (a bound on one message across a worker link). */
const BATCH = 500;

/**
 * Adds a problem for every dangling reference among the objects reachable from the root, reading
 * the newest revisions through `load`; resolves to how many objects were reached.
 */
export async function verifyGraph(
  storage: Pick<Storage, 'load'>,
  problems: VerifyProblem[],
): Promise<number> {
  const { live, dangling } = await markFromRootAsync(async (oids) => {
    const found = new Map<number, number[]>();
    for (let i = 0; i < oids.length; i += BATCH) {
      for (const r of await storage.load(oids.slice(i, i + BATCH))) found.set(r.oid, r.refs);
    }
    return found;
  });
  for (const { from, oid } of dangling) {
    problems.push({
      kind: 'dangling-ref',
      oid: from,
      message: `Object ${from} references object ${oid}, which has no stored revision.`,
    });
  }
  return live.size;
}

/** `verify` of a storage whose only checks are of the object graph. */
export async function verifyObjectGraph(storage: Pick<Storage, 'load'>): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  await verifyGraph(storage, problems);
  return { ok: problems.length === 0, problems };
}

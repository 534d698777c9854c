/**
 * Reachability from the root, over the stored `refs` (state is never decoded): what pack keeps
 * (mark) and what verify reports (references to objects that have no revision). One walk serves
 * every storage, synchronous (ShelfStorage packs without yielding, so no commit interleaves) or
 * asynchronous (IndexedDB cursors, `load` batches).
 *
 * The walk goes breadth first, a frontier at a time; for each frontier the storage answers which
 * of its oids have revisions and the refs of the revisions it keeps (pack: every revision a kept
 * snapshot can read; verify: the newest).
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

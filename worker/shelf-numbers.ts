/**
 * Segment numbers of a ShelfStorage log. A position is `segment × 2^40 + offset` and must stay
 * below 2^53, so numbers run from 1 to MAX_SEGMENT (8,191). Every roll and every pack step takes
 * one; a busy database packing often would use them all up in a few thousand packs, so numbers of
 * removed segments are used again — but only once nothing can name a position in them:
 *
 * - A removed segment's positions live on only in the `prev` of records written while it existed
 *   (in the segments present when it was removed: its witnesses) and in `relocated` keys. Pack
 *   rewrites every `prev` it copies (one into a removed segment becomes "removed by pack", `1`),
 *   and positions in the index always lie in present segments.
 * - So a retired number is free once none of its witnesses is in the log any more (each was
 *   compacted or removed since); its `relocated` keys are dropped when it is taken.
 *
 * Fresh numbers are taken first (the manifest's `nextSegment`); retired ones are listed in the
 * manifest (`retired`: number and witnesses) once fresh ones are used up.
 */
import { StorageError } from '../src/shared/errors.js';
import { SEGMENT_SPAN, segmentOf, type Manifest } from './shelf-format.js';

/** The largest segment number: its positions stay below 2^53. */
export const MAX_SEGMENT = 2 ** 53 / SEGMENT_SPAN - 1;

/** The number the log's next fresh segment would get (the manifest's `nextSegment`). */
export function freshNumber(m: Manifest): number {
  return m.nextSegment ?? Math.max(0, ...m.segments) + 1;
}

/**
 * The number a new segment gets now: a fresh one while any is left, else a retired one nothing
 * can name any more.
 * @throws StorageError when none is free (every retired number still has a witness in the log).
 */
export function segmentNumber(m: Manifest, max = MAX_SEGMENT): number {
  const fresh = freshNumber(m);
  if (fresh <= max) return fresh;
  const live = new Set(m.segments);
  const free = (m.retired ?? []).find(([, witnesses]) => witnesses.every((w) => !live.has(w)));
  if (free === undefined) {
    throw new StorageError(
      `The log has used all ${max} segment numbers, and every number of a removed segment may still be named by a record: nothing was changed. Pack once more (it frees numbers as it compacts older segments), or export the database and import it into a new one.`,
    );
  }
  return free[0];
}

/**
 * The manifest's numbering fields once segment `taken` (from `segmentNumber`, if any) is made and
 * the segments `removed` are gone, witnessed by `witnesses` (the segments left that were written
 * while they existed); with the `relocated` pairs whose old position lay in `taken` dropped.
 */
export function numbering(
  m: Manifest,
  relocated: ReadonlyMap<number, number>,
  taken: number | undefined,
  removed: readonly number[] = [],
  witnesses: readonly number[] = [],
): Pick<Manifest, 'nextSegment' | 'retired'> & { relocated: Map<number, number> } {
  const fresh = freshNumber(m);
  let retired = (m.retired ?? []).filter(([n]) => n !== taken);
  retired = [...retired, ...removed.map((n): [number, number[]] => [n, [...witnesses]])];
  const kept = new Map(relocated);
  if (taken !== undefined && taken < fresh) {
    for (const from of relocated.keys()) if (segmentOf(from) === taken) kept.delete(from);
  }
  return {
    nextSegment: taken !== undefined && taken >= fresh ? taken + 1 : fresh,
    ...(retired.length === 0 ? {} : { retired }),
    relocated: kept,
  };
}

/**
 * The newest revision of each of many objects at or before a tid, in the records store of
 * IndexedDBStorage (key [oid, tid]), found in few requests, all issued at once: what a commit's
 * conflict check, its readCurrent pins and `load` need.
 *
 * The oids are split into runs of consecutive oids. A lone oid takes one 'prev' cursor over its
 * keys. A run takes one getAllKeys and one getAll over the run's key range, with a count of twice
 * its length: objects with one or two revisions (new ones have none: a bulk import writes runs of
 * them) are all answered by those two requests. When the count stops the answer early (some
 * object in the run has many revisions), the objects it did not answer whole take a second round,
 * a range again (a cursor for an object that alone filled the count), and after a few such rounds
 * one cursor each. Every answer is exact: the
 * newest key of an oid at or before the tid, with its value.
 *
 * The requests are raw IDBRequests with one handler each (no idb wrapper: a bulk commit's check
 * is no longer one promise, proxy and listener pair per object).
 */
import type { Tid } from '../src/shared/storage.js';

/** A record as the records store holds it, under key [oid, tid]. */
export interface StoredValue {
  className: string;
  state: Uint8Array;
  refs: number[];
}

/** An object's newest revision at or before a tid: its tid and its stored value. */
export interface Revision {
  tid: Tid;
  value: StoredValue;
}

/** Consecutive oids `first`, `first + 1`, … `last`. */
interface Run {
  first: number;
  last: number;
}

/** The result of `request`, or its error. */
export function requested<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new DOMException('request failed'));
  });
}

/**
 * `promise`, awaited later (a read issued before other awaits in the same transaction). Its
 * rejection is observed now so that, when something throws before that await, it is not an
 * unhandled rejection: that first error is the one reported, and the abort that follows it is what
 * rejects the read, which says nothing more.
 */
export function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined); // reported where awaited, or superseded by the error that aborted
  return promise;
}

/** The distinct `oids`, ascending, as runs of consecutive oids. */
export function runsOf(oids: Iterable<number>): Run[] {
  const sorted = Float64Array.from(new Set(oids)).sort();
  const runs: Run[] = [];
  for (let i = 0; i < sorted.length;) {
    const first = sorted[i] as number;
    let last = first;
    while (i + 1 < sorted.length && sorted[i + 1] === last + 1) last = sorted[++i] as number;
    runs.push({ first, last });
    i++;
  }
  return runs;
}

/**
 * Finds the newest revision at or before `at` of every oid of `oids` in `store` (the records
 * store). Its first requests are issued before this returns, so requests the caller issues next
 * in the same transaction travel with them.
 * @returns the revisions by oid; an oid with no revision at or before `at` is absent.
 */
export function newestRevisions(
  store: IDBObjectStore,
  keys: typeof IDBKeyRange,
  oids: Iterable<number>,
  at: Tid,
): Promise<Map<number, Revision>> {
  const found = new Map<number, Revision>();
  const lookups = runsOf(oids).map((run) =>
    run.first === run.last
      ? newestOne(store, keys, run.first, at, found)
      : newestInRun(store, keys, run, at, found),
  );
  return Promise.all(lookups).then(() => found);
}

/** The newest revision at or before `at` of `oid`, into `found`: one cursor. */
function newestOne(
  store: IDBObjectStore,
  keys: typeof IDBKeyRange,
  oid: number,
  at: Tid,
  found: Map<number, Revision>,
): Promise<void> {
  return requested(store.openCursor(keys.bound([oid, 0], [oid, at]), 'prev')).then((cursor) => {
    if (cursor === null) return;
    const [, tid] = cursor.key as [number, number];
    found.set(oid, { tid, value: cursor.value as StoredValue });
  });
}

/** Range rounds a run takes at most before its remaining oids take a cursor each. */
const RANGE_ROUNDS = 3;

/**
 * The newest revisions at or before `at` of the oids of `run`, into `found`: every key and value
 * in the run's range up to a count; the oids the count cut off, again (see the module comment).
 * @param rounds range rounds left for this run (bounds the rounds in a row of a run whose
 *   objects have many revisions each).
 */
async function newestInRun(
  store: IDBObjectStore,
  keys: typeof IDBKeyRange,
  run: Run,
  at: Tid,
  found: Map<number, Revision>,
  rounds = RANGE_ROUNDS,
): Promise<void> {
  if (rounds === 0 || run.first === run.last) {
    const each: Promise<void>[] = [];
    for (let oid = run.first; oid <= run.last; oid++) {
      each.push(newestOne(store, keys, oid, at, found));
    }
    await Promise.all(each);
    return;
  }
  // Inside the range, oids between the bounds have every tid, later ones included: skipped below.
  const range = keys.bound([run.first, 0], [run.last, at]);
  const count = 2 * (run.last - run.first + 1);
  const [allKeys, values] = await Promise.all([
    requested(store.getAllKeys(range, count)),
    requested(store.getAll(range, count)),
  ]);
  // Keys come in order; when the count was reached, the last key's oid may have more revisions
  // after it, and the oids after it were not reached: from `whole` on, nothing is answered yet.
  const whole =
    allKeys.length < count ? run.last + 1 : (allKeys[allKeys.length - 1] as [number, number])[0];
  for (let i = 0; i < allKeys.length; i++) {
    const [oid, tid] = allKeys[i] as [number, number];
    if (oid >= whole) break;
    // Ascending tids per oid: the last one at or before `at` stays.
    if (tid <= at) found.set(oid, { tid, value: values[i] as StoredValue });
  }
  if (whole > run.last) return;
  if (whole > run.first) {
    await newestInRun(store, keys, { first: whole, last: run.last }, at, found, rounds - 1);
    return;
  }
  // The run's first object alone filled the count (it has many revisions): a cursor for it, and
  // the range again for the others.
  await Promise.all([
    newestOne(store, keys, run.first, at, found),
    newestInRun(store, keys, { first: run.first + 1, last: run.last }, at, found, rounds - 1),
  ]);
}

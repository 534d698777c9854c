/**
 * BTree keys: numbers, strings, bigints, Dates, or arrays of those, in natural order. A tree holds
 * one kind of key, fixed by its first key (for arrays, one kind per position); anything else is
 * refused at `set` with a TypeError that names the key and the tree's kind.
 *
 * Order: numbers and bigints numerically (but a number and a bigint are different kinds), strings
 * by UTF-16 code units (JS `<`), Dates by time, arrays element by element, a shorter array first
 * when it is a prefix of the longer.
 */

/** One key value: a number, string, bigint or Date. */
export type ScalarKey = number | string | bigint | Date;
/**
 * A BTree key: a number, string, bigint or Date, or an array of those (compared element by
 * element). One kind of key per tree; NaN, null, objects and mixed kinds are refused at `set`.
 * @example
 * const byDate = new BTree<Date, Note>();
 * const byProjectAndDay = new BTree<[string, number], Task>(); // ['shelfdb', 20261130]
 */
export type BTreeKey = ScalarKey | readonly ScalarKey[];

/** The kind of a scalar key. */
export type ScalarKind = 'number' | 'string' | 'bigint' | 'date';
/** A tree's key kind: a scalar kind, or the kinds of an array key's positions. */
export type KeyKind = ScalarKind | ScalarKind[];

function scalarKind(value: unknown): ScalarKind | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isNaN(value) ? undefined : 'number';
    case 'string':
      return 'string';
    case 'bigint':
      return 'bigint';
    case 'object':
      return value instanceof Date && !Number.isNaN(value.getTime()) ? 'date' : undefined;
    default:
      return undefined;
  }
}

const show = (key: unknown): string => {
  if (typeof key === 'bigint') return `${key}n`;
  if (key instanceof Date) return Number.isNaN(key.getTime()) ? 'Invalid Date' : key.toISOString();
  if (typeof key === 'string') return JSON.stringify(key);
  if (Array.isArray(key)) return `[${key.map(show).join(', ')}]`;
  return String(key);
};

const describeKind = (kind: KeyKind): string =>
  Array.isArray(kind) ? `[${kind.join(', ')}]` : kind;

/**
 * The kind of `key`, checked against the tree's `kind` (undefined: the tree is empty and takes the
 * key's kind). Returns the tree's kind afterwards (an array kind may grow by new positions).
 * @throws TypeError for NaN, undefined, null, objects, invalid Dates, nested arrays, or a kind that
 *   differs from the tree's.
 */
export function checkKey(key: unknown, kind: KeyKind | undefined): KeyKind {
  if (Array.isArray(key)) {
    const kinds = key.map((element) => {
      const k = scalarKind(element);
      if (k === undefined) {
        throw new TypeError(
          `BTree key ${show(key)}: an array key holds numbers (not NaN), strings, bigints or valid Dates, not ${show(element)}.`,
        );
      }
      return k;
    });
    if (kind === undefined) return kinds;
    if (!Array.isArray(kind)) {
      throw new TypeError(
        `BTree key ${show(key)} is an array, but this tree's keys are ${kind}s. One kind of key per tree.`,
      );
    }
    const common = Math.min(kinds.length, kind.length);
    for (let i = 0; i < common; i++) {
      if (kinds[i] !== kind[i]) {
        throw new TypeError(
          `BTree key ${show(key)} has a ${kinds[i]} at position ${i}, where this tree's keys (${describeKind(kind)}) have a ${kind[i]}.`,
        );
      }
    }
    return kinds.length > kind.length ? kinds : kind;
  }
  const k = scalarKind(key);
  if (k === undefined) {
    throw new TypeError(
      `BTree key ${show(key)} cannot be used: keys are numbers (not NaN), strings, bigints, valid Dates, or arrays of those.`,
    );
  }
  if (kind !== undefined && kind !== k) {
    throw new TypeError(
      `BTree key ${show(key)} is a ${k}, but this tree's keys are ${describeKind(kind)}. One kind of key per tree.`,
    );
  }
  return k;
}

function compareScalar(a: ScalarKey, b: ScalarKey): number {
  if (a instanceof Date) return a.getTime() - (b as Date).getTime();
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Negative, zero or positive as `a` sorts before, with or after `b` (keys of one kind). */
export function compareKeys(a: BTreeKey, b: BTreeKey): number {
  if (Array.isArray(a)) {
    const bb = b as readonly ScalarKey[];
    const n = Math.min(a.length, bb.length);
    for (let i = 0; i < n; i++) {
      const c = compareScalar(a[i] as ScalarKey, bb[i] as ScalarKey);
      if (c !== 0) return c;
    }
    return a.length - bb.length;
  }
  return compareScalar(a as ScalarKey, b as ScalarKey);
}

export { show as showKey };

/**
 * What is typed into the object view: an object id (toolbar's Open), and keys typed into the BTree
 * view's search: the text is read as a key of the tree's kind (fixed by
 * its first key): a number for a numeric tree, an ISO date for a Date tree, `123n` (or `123`) for a
 * bigint tree, the text itself for a string tree, and a JSON array for an array-keyed tree. A text
 * that is not a key of that kind gets a sentence saying so, never a silent empty page. A key typed
 * for a new PersistentDict entry is read by the kind of the dict's keys (dictKeys).
 */
import type { BTreeKey, KeyKind, ScalarKey, ScalarKind } from '../btree-keys.js';
import type { BTree } from '../btree.js';

/** A key parsed, or why the text is not one. */
export type ParsedKey = { ok: true; key: BTreeKey } | { ok: false; error: string };

/** The kind of key a tree holds (null: an empty tree, whose first key will fix it). */
export function treeKeyKind(tree: BTree): KeyKind | null {
  // The tree keeps its kind as a stored field (`kind`, internal to the BTree).
  return (tree as unknown as { kind: KeyKind | null }).kind ?? null;
}

/** How a kind reads in a sentence: "numbers", "[string, number] arrays". */
export function describeKind(kind: KeyKind | null): string {
  if (kind === null) return 'any kind (the tree is empty)';
  if (Array.isArray(kind)) return `arrays of [${kind.join(', ')}]`;
  return kind === 'date' ? 'Dates' : `${kind}s`;
}

function notOfKind(text: string, kind: KeyKind, what: string): ParsedKey {
  return {
    ok: false,
    error: `${JSON.stringify(text)} is not ${what}: this tree's keys are ${describeKind(kind)}.`,
  };
}

function parseScalar(text: string, kind: ScalarKind): ScalarKey | undefined {
  const t = text.trim();
  switch (kind) {
    case 'string':
      return text;
    case 'number': {
      if (t === '') return undefined;
      const n = Number(t);
      return Number.isNaN(n) ? undefined : n;
    }
    case 'bigint':
      return /^[-+]?\d+n?$/.test(t) ? BigInt(t.replace(/n$/, '')) : undefined;
    case 'date': {
      // ISO 8601 only (a date, or a date and time): Date.parse accepts much else, per browser.
      if (!/^[-+]?\d{4,6}-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)?$/.test(t))
        return undefined;
      const d = new Date(t);
      return Number.isNaN(d.getTime()) ? undefined : d;
    }
  }
}

const WHAT: Record<ScalarKind, string> = {
  string: 'a string',
  number: 'a number',
  bigint: 'a bigint (digits, optionally ending in n: 123n)',
  date: 'an ISO date (2026-11-30 or 2026-11-30T12:00:00Z)',
};

/**
 * Reads `text` as a key of `kind`. For an empty tree (kind null) a number-looking text is a number,
 * anything else a string.
 */
export function parseKey(text: string, kind: KeyKind | null): ParsedKey {
  if (kind === null) {
    const n = parseScalar(text, 'number');
    return { ok: true, key: n ?? text };
  }
  if (!Array.isArray(kind)) {
    const key = parseScalar(text, kind);
    return key === undefined ? notOfKind(text, kind, WHAT[kind]) : { ok: true, key };
  }
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch {
    items = undefined;
  }
  const arrayWhat = `a JSON array like ${JSON.stringify(kind.map((k) => (k === 'number' ? 1 : k === 'string' ? 'a' : k === 'bigint' ? '1n' : '2026-01-01')))}`;
  if (!Array.isArray(items) || items.length === 0 || items.length > kind.length) {
    return notOfKind(text, kind, arrayWhat);
  }
  const key: ScalarKey[] = [];
  for (const [i, item] of items.entries()) {
    const k = kind[i] as ScalarKind;
    const parsed =
      k === 'number' && typeof item === 'number'
        ? item
        : k === 'string' && typeof item === 'string'
          ? item
          : (k === 'bigint' || k === 'date') && typeof item === 'string'
            ? parseScalar(item, k)
            : undefined;
    if (parsed === undefined) return notOfKind(text, kind, arrayWhat);
    key.push(parsed);
  }
  return { ok: true, key };
}

/** The object id typed in the toolbar, read as an oid, or why it is not one. */
export function parseOid(text: string): number | string {
  const t = text.trim();
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(Number(t))) {
    return `${JSON.stringify(text)} is not an object id: type a whole number (0 is the root).`;
  }
  return Number(t);
}

/** The kind a key typed for a new PersistentDict entry is read as. */
export type DictKeyKind = 'number' | 'bigint' | 'string';

/** What a new dict entry's typed key is read as, and the plain text saying so beside the input. */
export interface DictKeys {
  kind: DictKeyKind;
  text: string;
}

/**
 * How to read a key typed for a new entry of a dict with these `keys`: as a number when they are
 * all numbers, a bigint when all bigints, otherwise (strings, none, or mixed kinds) as the text
 * typed. It walks the keys (in memory: a dict is loaded whole) and stops at the first that mixes.
 */
export function dictKeys(keys: Iterable<unknown>): DictKeys {
  let kind: string | undefined;
  for (const key of keys) {
    const k = typeof key;
    if (kind === undefined) kind = k;
    else if (k !== kind)
      return { kind: 'string', text: "key is a string (this dict's keys are mixed)" };
  }
  if (kind === undefined) return { kind: 'string', text: 'key is a string (this dict is empty)' };
  if (kind === 'number') return { kind: 'number', text: "this dict's keys are numbers" };
  if (kind === 'bigint')
    return { kind: 'bigint', text: "this dict's keys are bigints (type 123n)" };
  if (kind === 'string') return { kind: 'string', text: "this dict's keys are strings" };
  return { kind: 'string', text: `key is a string (this dict's keys are ${kind}s)` };
}

/** Reads a key typed for a new dict entry as `kind` (see dictKeys), or says why it is not one. */
export function parseDictKey(text: string, kind: DictKeyKind): ParsedKey {
  if (kind === 'string') return { ok: true, key: text };
  const key = parseScalar(text, kind);
  if (key !== undefined) return { ok: true, key };
  return {
    ok: false,
    error: `${JSON.stringify(text)} is not ${WHAT[kind]}: this dict's keys are ${kind}s.`,
  };
}

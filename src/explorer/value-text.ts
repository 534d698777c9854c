/**
 * Short, readable text for a decoded value, as the log's history and diff show it in one table
 * cell: strings quoted, Dates as ISO, bigints with `n`, containers summarized (their first few
 * items, then "…"), references as `Class oid`. Bounded: a 10,000-item array costs a few items.
 */
import { Persistent, metaOf } from '../persistent.js';

/** A reference to a stored object, as a cell shows it (a link to the object). */
export interface ReferenceText {
  /** The object's oid (what the link navigates to). */
  oid: number;
  /** Its stored class name. */
  className: string;
}

/** The reference `value` is, when it is a stored persistent object; otherwise undefined. */
export function referenceOf(value: unknown): ReferenceText | undefined {
  if (!(value instanceof Persistent)) return undefined;
  const m = metaOf(value);
  if (m.oid === undefined) return undefined;
  return { oid: m.oid, className: m.className ?? value.constructor.name };
}

/** Items shown of a container before "…". */
const ITEMS = 5;

/**
 * `value` as text of at most about `max` characters.
 * @example
 * valueText(['a', 1, new Date(0)]); // '["a", 1, 1970-01-01T00:00:00.000Z]'
 */
export function valueText(value: unknown, max = 120): string {
  const text = describe(value, 0, new Set());
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function describe(value: unknown, depth: number, open: Set<object>): string {
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
      return String(value);
    case 'function':
    case 'symbol':
      return String(value);
  }
  if (value === null) return 'null';
  const ref = referenceOf(value);
  if (ref) return `${ref.className} ${ref.oid}`;
  if (value instanceof Persistent) return `${value.constructor.name} (unsaved)`;
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof ArrayBuffer) return `ArrayBuffer(${value.byteLength} bytes)`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  const obj = value as object;
  if (open.has(obj)) return '[cycle]';
  if (depth >= 3) return Array.isArray(obj) ? `[…${obj.length}]` : '{…}';
  open.add(obj);
  try {
    const inner = (v: unknown): string => describe(v, depth + 1, open);
    if (Array.isArray(obj)) return `[${listed(obj, obj.length, inner)}]`;
    if (obj instanceof Map) {
      const items = [...take(obj.entries(), ITEMS)].map(([k, v]) => `${inner(k)} => ${inner(v)}`);
      return `Map(${obj.size}) {${more(items, obj.size)}}`;
    }
    if (obj instanceof Set) {
      return `Set(${obj.size}) {${more([...take(obj.values(), ITEMS)].map(inner), obj.size)}}`;
    }
    const keys = Object.keys(obj);
    const record = obj as Record<string, unknown>;
    const items = keys.slice(0, ITEMS).map((k) => `${k}: ${inner(record[k])}`);
    return `{${more(items, keys.length)}}`;
  } finally {
    open.delete(obj);
  }
}

function listed(items: unknown[], size: number, inner: (v: unknown) => string): string {
  return more(items.slice(0, ITEMS).map(inner), size);
}

function more(shown: string[], size: number): string {
  return size > shown.length
    ? `${shown.join(', ')}, … ${size - shown.length} more`
    : shown.join(', ');
}

function* take<T>(items: Iterator<T>, count: number): Generator<T> {
  for (let i = 0; i < count; i++) {
    const next = items.next();
    if (next.done) return;
    yield next.value;
  }
}

/**
 * Any stored value described as a small tree of plain data (a `ValueNode`), ready to render
 * (value-view.ts) with no app class registered. Describing is bounded: strings are cut, nested
 * data stops at a depth, collections show their first items and their count, and a budget of
 * nodes caps the whole description, so a huge or cyclic value costs little. Persistent objects
 * become references (oid and stored class name), read without loading them: a ghost answers both.
 *
 * The description is taken at once, synchronously: the explorer's connection may turn an object
 * into a ghost at its next 'change', so views render descriptions, never live objects.
 */
import { metaOf, Persistent } from '../persistent.js';
import { BlobReference } from '../blob-tag.js';
import { storedBlobState } from '../stored-blob.js';
import { formatBytes } from './byte-format.js';

/** One value, described. */
export type ValueNode =
  | {
      kind: 'scalar';
      /** number, boolean, null, undefined, bigint, date, or other (a value of no known kind). */
      type: 'number' | 'boolean' | 'null' | 'undefined' | 'bigint' | 'date' | 'other';
      text: string;
    }
  | {
      kind: 'string';
      /** Quoted, cut to `STRING_LIMIT` characters. */
      text: string;
      /** The whole string (unquoted), when `text` was cut. */
      full: string | undefined;
      length: number;
    }
  | { kind: 'ref'; oid: number | undefined; className: string; text: string }
  | { kind: 'bytes'; type: string; length: number; hex: string; more: boolean }
  | {
      kind: 'blob';
      /** The Blob itself, to read its bytes (immutable, never a ghost); undefined for a reference. */
      blob: Blob | undefined;
      /** Its MIME type ('' for none). */
      type: string;
      size: number;
      /** A File's name; null for a Blob. */
      name: string | null;
      /** The SHA-256 of its stored file; undefined for a Blob not committed yet. */
      hash: string | undefined;
      /** The oid of its blob record; undefined for a Blob not committed yet. */
      oid: number | undefined;
    }
  | {
      kind: 'list';
      /** Array or Set. */
      type: string;
      count: number;
      items: ValueNode[];
      /** Shown open (small and shallow) or collapsed. */
      open: boolean;
    }
  | {
      kind: 'entries';
      /** Object or Map. */
      type: string;
      count: number;
      entries: [ValueNode, ValueNode][];
      open: boolean;
    }
  /** A collection not described further (too deep, or past the budget), or a cycle. */
  | { kind: 'summary'; text: string };

/** Characters of a string shown before it is cut. */
export const STRING_LIMIT = 120;
/** Items of a collection described; the rest are counted. */
export const ITEM_LIMIT = 20;
/** Bytes of a binary value shown in hex. */
export const BYTE_LIMIT = 16;
/** Collections shown open up to this depth and this count; deeper or larger ones are collapsed. */
const OPEN_DEPTH = 1;
const OPEN_COUNT = 8;
/** Nesting described; deeper collections are summarized. */
const MAX_DEPTH = 6;
/** Nodes described in one value, at most. */
const BUDGET = 400;

/** The stored class name of a persistent object, known without loading it. */
export function storedClassName(obj: Persistent): string {
  const named = metaOf(obj).className;
  if (named !== undefined && named !== '') return named;
  const cls = Object.getPrototypeOf(obj)?.constructor as { _p_name?: string; name?: string };
  return cls?._p_name ?? cls?.name ?? 'Persistent';
}

/** How a reference reads: `Note #12`, or `new Note (not committed)`. */
export function refText(obj: Persistent): string {
  const oid = obj._p_oid;
  const name = storedClassName(obj);
  return oid === undefined ? `new ${name} (not committed)` : `${name} #${oid}`;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function numberText(n: number): string {
  if (Object.is(n, -0)) return '-0';
  return String(n); // NaN, Infinity and -Infinity read as themselves
}

function describeBytes(value: ArrayBuffer | ArrayBufferView): ValueNode {
  const bytes =
    value instanceof ArrayBuffer
      ? new Uint8Array(value, 0, Math.min(value.byteLength, BYTE_LIMIT))
      : new Uint8Array(value.buffer, value.byteOffset, Math.min(value.byteLength, BYTE_LIMIT));
  const length =
    value instanceof ArrayBuffer || value instanceof DataView
      ? value.byteLength
      : (value as unknown as { length: number }).length;
  return {
    kind: 'bytes',
    type: Object.prototype.toString.call(value).slice(8, -1),
    length,
    hex: hex(bytes),
    more: value.byteLength > BYTE_LIMIT,
  };
}

/** A Blob or File: a stored one (loaded) knows its hash and record, a new one only its size. */
function describeBlob(blob: Blob): ValueNode {
  const stored = storedBlobState(blob)?.fields;
  const name = typeof File !== 'undefined' && blob instanceof File ? blob.name : null;
  return {
    kind: 'blob',
    blob,
    type: blob.type,
    size: blob.size,
    name,
    hash: stored?.hash,
    oid: stored?.oid,
  };
}

/** Describes `value` (anything an object's state may hold), bounded as the module says. */
export function describeValue(value: unknown): ValueNode {
  const walk = new Describer();
  return walk.describe(value, 0);
}

/** One description's state: the collections being described (to spot cycles) and the budget. */
class Describer {
  private readonly open = new Set<object>();
  private left = BUDGET;

  describe(value: unknown, depth: number): ValueNode {
    this.left--;
    switch (typeof value) {
      case 'string':
        return value.length > STRING_LIMIT
          ? {
              kind: 'string',
              text: `${JSON.stringify(value.slice(0, STRING_LIMIT))}…`,
              full: value,
              length: value.length,
            }
          : { kind: 'string', text: JSON.stringify(value), full: undefined, length: value.length };
      case 'number':
        return { kind: 'scalar', type: 'number', text: numberText(value) };
      case 'boolean':
        return { kind: 'scalar', type: 'boolean', text: String(value) };
      case 'undefined':
        return { kind: 'scalar', type: 'undefined', text: 'undefined' };
      case 'bigint':
        return { kind: 'scalar', type: 'bigint', text: `${value}n` };
      case 'object':
        return this.describeObject(value, depth);
      default:
        return { kind: 'scalar', type: 'other', text: String(value) };
    }
  }

  private describeObject(value: object | null, depth: number): ValueNode {
    if (value === null) return { kind: 'scalar', type: 'null', text: 'null' };
    if (value instanceof Persistent) {
      return {
        kind: 'ref',
        oid: value._p_oid,
        className: storedClassName(value),
        text: refText(value),
      };
    }
    if (value instanceof Date) {
      const t = value.getTime();
      return {
        kind: 'scalar',
        type: 'date',
        text: Number.isNaN(t) ? 'Invalid Date' : value.toISOString(),
      };
    }
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return describeBytes(value);
    if (typeof Blob !== 'undefined' && value instanceof Blob) return describeBlob(value);
    if (value instanceof BlobReference) {
      const { type, size, name, hash, oid } = value.fields;
      return { kind: 'blob', blob: undefined, type, size, name, hash, oid };
    }
    const type =
      value instanceof Map
        ? 'Map'
        : value instanceof Set
          ? 'Set'
          : Array.isArray(value)
            ? 'Array'
            : 'Object';
    const count =
      value instanceof Map || value instanceof Set
        ? value.size
        : Array.isArray(value)
          ? value.length
          : Object.keys(value).length;
    if (this.open.has(value)) return { kind: 'summary', text: `(cycle: the enclosing ${type})` };
    if (depth >= MAX_DEPTH || this.left <= 0) {
      return { kind: 'summary', text: `${type}(${count})` };
    }
    const open = depth <= OPEN_DEPTH && count <= OPEN_COUNT;
    this.open.add(value);
    try {
      if (value instanceof Set || Array.isArray(value)) {
        const items: ValueNode[] = [];
        for (const item of value) {
          if (items.length >= ITEM_LIMIT) break;
          items.push(this.describe(item, depth + 1));
        }
        return { kind: 'list', type, count, items, open };
      }
      const entries: [ValueNode, ValueNode][] = [];
      const source: Iterable<[unknown, unknown]> =
        value instanceof Map ? value : Object.entries(value);
      for (const [k, v] of source) {
        if (entries.length >= ITEM_LIMIT) break;
        const key: ValueNode =
          typeof k === 'string' && type === 'Object'
            ? { kind: 'scalar', type: 'other', text: k }
            : this.describe(k, depth + 1);
        entries.push([key, this.describe(v, depth + 1)]);
      }
      return { kind: 'entries', type, count, entries, open };
    } finally {
      this.open.delete(value);
    }
  }
}

/** A one-line text of a described value (for labels and tests). */
export function valueText(node: ValueNode): string {
  switch (node.kind) {
    case 'scalar':
    case 'string':
    case 'ref':
    case 'summary':
      return node.text;
    case 'bytes':
      return `${node.type}(${node.length}) ${node.hex}${node.more ? ' …' : ''}`;
    case 'blob':
      return blobText(node);
    case 'list': {
      const more =
        node.count > node.items.length ? `, … ${node.count - node.items.length} more` : '';
      const inner = node.items.map(valueText).join(', ');
      return node.type === 'Array' ? `[${inner}${more}]` : `Set(${node.count}) {${inner}${more}}`;
    }
    case 'entries': {
      const more =
        node.count > node.entries.length ? `, … ${node.count - node.entries.length} more` : '';
      const inner = node.entries
        .map(([k, v]) => `${valueText(k)}${node.type === 'Map' ? ' => ' : ': '}${valueText(v)}`)
        .join(', ');
      return node.type === 'Map' ? `Map(${node.count}) {${inner}${more}}` : `{${inner}${more}}`;
    }
  }
}

/**
 * A Blob in one line: `File "a.png" image/png, 1.5 KiB (1,536 bytes), 9f86d081884c…`.
 * @example
 * blobText(describeValue(new Blob(['hi']))); // 'Blob (no type), 2 bytes, not stored yet'
 */
export function blobText(node: Extract<ValueNode, { kind: 'blob' }>): string {
  const what = node.name === null ? 'Blob' : `File ${JSON.stringify(node.name)}`;
  const stored = node.hash === undefined ? 'not stored yet' : `${node.hash.slice(0, 12)}…`;
  return `${what} ${node.type || '(no type)'}, ${formatBytes(node.size)}, ${stored}`;
}

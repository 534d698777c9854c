/**
 * An object's stored state as canonical JSON, and back (json-to-value.ts): the form of states in
 * archives (export, check, commit, import) and, unsorted, in the CLI's `show`/`history`/`dump`.
 *
 * A state is decoded without the app's classes (decodeState): a reference to another object is a
 * StoredRef, which the caller names (`ref`): an archive writes `{ "$ref": "<entry id>" }` or
 * `{ "$ext": 12, "class": "app.Person" }`, the CLI `{ "$ref": 12, "class": "app.Todo" }`. What JSON
 * has no form for becomes a marker, an object whose one key starts with `$`:
 *
 *   undefined                      { "$undefined": true }
 *   NaN, Infinity, -Infinity, -0   { "$number": "NaN" }   (JSON.stringify would write null, or 0)
 *   bigint                         { "$bigint": "12345678901234567890" }
 *   Date                           { "$date": "2026-01-02T03:04:05.000Z" }  (invalid Date: null)
 *   Map (entries in their order)   { "$map": [[key, value], …] }
 *   Set (items in their order)     { "$set": [item, …] }
 *   ArrayBuffer, DataView, Uint8Array, Uint8ClampedArray
 *                                  { "$type": "Uint8Array", "base64": "AAEC" }
 *   other typed arrays             { "$type": "Float64Array", "values": [1.5, …] }
 *                                  (BigInt64Array/BigUint64Array: decimal strings; NaN etc.: $number)
 *   a Blob or File (tag 40404)     { "$blob": "<sha-256>", "size": 3, "type": "", "name": null,
 *                                    "lastModified": null, "record": <its blob record's reference> }
 *                                  (blob-json.ts)
 *   an object met before           { "$same": ".items[0]" }  (where it was first written: shared
 *                                  parts and cycles inside one state are written once)
 *
 * A plain-object key that starts with `$` is written with one more (`$x` → `$$x`), so a marker is
 * never mistaken for data. `$same` paths are those of serialize.ts's messages (`.name`,
 * `["odd key"]`, `[2]`; `{key #0}` inside a Map's key, `{#0}` for a Map's value or a Set's item, by
 * place); the root is `.`.
 *
 * Canonical form (the default, `sorted`): plain-object keys are walked and written in sorted order
 * (UTF-16 code units, as canonicalJson sorts them), so the text and the `$same` paths depend on the
 * state's content only, never on the order its keys were set in; the inverse walks in the same
 * order and so meets every first occurrence before a `$same` to it. Every object met twice (Dates
 * and binary values too) is `$same`, and −0 is `$number`: JSON → value is then the exact inverse.
 * A StoredRef is never `$same`: a reference names its object by oid already.
 */
import { BlobReference } from '../blob-tag.js';
import { CborDecoder } from '../cbor-decode.js';
import { blobToJson } from './blob-json.js';
import { toBase64 } from './base64.js';
import { sha256 as sha256Digest } from '@noble/hashes/sha2';
import {
  defineField,
  escapeKey,
  keySegment,
  NUMBER_ARRAYS,
  numberMarker,
  showPath,
  type Json,
  type JsonObject,
} from './json-markers.js';

export type { Json, JsonObject } from './json-markers.js';
export { canonicalJson } from './canonical-json.js';
export { jsonToState, jsonToValue, type JsonRef, type RefMarker } from './json-to-value.js';

/** A reference read from a state decoded without classes: the referenced object's oid and class. */
export class StoredRef {
  constructor(
    /** The referenced object's oid. */
    readonly oid: number,
    /** Its stored class name. */
    readonly className: string,
  ) {}
}

/**
 * Decodes a stored state without the app's classes: each reference becomes a StoredRef.
 * @param decoder reuse one across many states (it caches field names).
 * @throws CorruptStorageError when the bytes are not a whole, well-formed state.
 */
export function decodeState(
  bytes: Uint8Array,
  decoder: CborDecoder = new CborDecoder(),
): Record<string, unknown> {
  return decoder.decode(bytes, (oid, className) => new StoredRef(oid, className));
}

/** How a StoredRef is written (the archive's `$ref`/`$ext`, the CLI's oid and class). */
export type RefToJson = (ref: StoredRef) => Json;

/** How valueToJson/stateToJson write. */
export interface ToJsonOptions {
  /**
   * Walk and write plain-object keys sorted (the canonical form; default true). False keeps
   * their stored order, as the CLI shows states.
   */
  sorted?: boolean;
  /**
   * The exact form (default true): every object met twice is `$same`, and −0 is
   * `{ "$number": "-0" }`. False is the CLI's display form: only arrays, plain objects, Maps and
   * Sets are `$same` (a Date or binary value met twice is written again) and −0 is written as 0,
   * so JSON → value does not give back the shared Date or the −0.
   */
  exact?: boolean;
}

/**
 * `value` (a value of a state decoded by decodeState) as JSON, markers as in the module comment.
 * @param ref writes a reference.
 * @throws TypeError for a value no decoded state holds (a function, a class instance…).
 */
export function valueToJson(value: unknown, ref: RefToJson, options: ToJsonOptions = {}): Json {
  return new JsonWalk(ref, options).value(value, '');
}

/** A state's fields as a JSON object (see valueToJson). */
export function stateToJson(
  state: Record<string, unknown>,
  ref: RefToJson,
  options: ToJsonOptions = {},
): JsonObject {
  return new JsonWalk(ref, options).plainObject(state, '');
}

/** One conversion: remembers each object written, by the path where it was first written. */
class JsonWalk {
  private readonly shown = new Map<object, string>();
  private readonly sorted: boolean;
  private readonly exact: boolean;

  constructor(
    private readonly ref: RefToJson,
    options: ToJsonOptions,
  ) {
    this.sorted = options.sorted ?? true;
    this.exact = options.exact ?? true;
  }

  value(value: unknown, path: string): Json {
    switch (typeof value) {
      case 'undefined':
        return { $undefined: true };
      case 'number': {
        const marker = numberMarker(value);
        if (marker === undefined || (marker === '-0' && !this.exact)) return value;
        return { $number: marker };
      }
      case 'bigint':
        return { $bigint: value.toString() };
      case 'string':
      case 'boolean':
        return value;
      case 'object':
        if (value === null) return null;
        if (value instanceof StoredRef) return this.ref(value);
        // Each stored Blob is its own tag, never shared: no $same.
        if (value instanceof BlobReference) {
          return blobToJson(value, (oid, className) => this.ref(new StoredRef(oid, className)));
        }
        return this.object(value, path);
      default:
        throw new TypeError(
          `A stored state holds no ${typeof value}, but one is at ${showPath(path)}: pass states from decodeState.`,
        );
    }
  }

  private object(value: object, path: string): Json {
    if (!this.exact) {
      const leaf = leafToJson(value, false);
      if (leaf !== undefined) return leaf;
    }
    const first = this.shown.get(value);
    if (first !== undefined) return { $same: showPath(first) };
    if (this.exact) {
      const leaf = leafToJson(value, true);
      if (leaf !== undefined) {
        this.shown.set(value, path);
        return leaf;
      }
    }
    if (Array.isArray(value)) {
      this.shown.set(value, path);
      return value.map((item, i) => this.value(item, hasPath(item) ? `${path}[${i}]` : ''));
    }
    if (value instanceof Map) {
      this.shown.set(value, path);
      return {
        $map: [...value].map(([k, v], i) => [
          this.value(k, hasPath(k) ? `${path}{key #${i}}` : ''),
          this.value(v, hasPath(v) ? `${path}{#${i}}` : ''),
        ]),
      };
    }
    if (value instanceof Set) {
      this.shown.set(value, path);
      return {
        $set: [...value].map((item, i) => this.value(item, hasPath(item) ? `${path}{#${i}}` : '')),
      };
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      return this.plainObject(value as Record<string, unknown>, path);
    }
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    throw new TypeError(
      `A stored state holds no ${String(name ?? 'Object')}, but one is at ${showPath(path)}: pass states from decodeState.`,
    );
  }

  plainObject(value: Record<string, unknown>, path: string): JsonObject {
    this.shown.set(value, path);
    const keys = Object.keys(value);
    if (this.sorted) keys.sort();
    const out: JsonObject = {};
    for (const key of keys) {
      const item = value[key];
      defineField(
        out,
        escapeKey(key),
        this.value(item, hasPath(item) ? `${path}${keySegment(key)}` : ''),
      );
    }
    return out;
  }
}

/**
 * Whether the walk needs the path of `value`: an object is remembered by it, a function or symbol
 * refused naming it. Most values are neither, and building every path cost a third of the walk.
 */
function hasPath(value: unknown): boolean {
  return typeof value === 'object'
    ? value !== null && !(value instanceof StoredRef)
    : typeof value === 'function' || typeof value === 'symbol';
}

/** A Date or binary value as JSON (`exact`: see ToJsonOptions); undefined for anything else. */
function leafToJson(value: object, exact: boolean): Json | undefined {
  if (value instanceof Date) {
    return { $date: Number.isNaN(value.getTime()) ? null : value.toISOString() };
  }
  if (value instanceof ArrayBuffer) {
    return { $type: 'ArrayBuffer', base64: toBase64(new Uint8Array(value)) };
  }
  if (!ArrayBuffer.isView(value)) return undefined;
  const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof DataView) return { $type: 'DataView', base64: toBase64(bytes) };
  if (value instanceof Uint8Array) return { $type: 'Uint8Array', base64: toBase64(bytes) };
  if (value instanceof Uint8ClampedArray) {
    return { $type: 'Uint8ClampedArray', base64: toBase64(bytes) };
  }
  for (const [name, kind] of NUMBER_ARRAYS) {
    if (!(value instanceof kind)) continue;
    const values: Json[] = [];
    for (const v of value as Iterable<number | bigint>) {
      if (typeof v === 'bigint') values.push(v.toString());
      else {
        const marker = numberMarker(v);
        values.push(marker === undefined || (marker === '-0' && !exact) ? v : { $number: marker });
      }
    }
    return { $type: name, values };
  }
  return undefined; // a view no state holds (Float16Array is stored as an array of numbers)
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Inputs up to this size are hashed in JavaScript (@noble/hashes: a crypto.subtle call costs about
 * 50 µs whatever the size — a promise and a trip to the thread pool —, 5× the JavaScript digest of
 * an entry of 500 bytes, measured in Node 20), larger ones by crypto.subtle (10× faster at 1 MiB);
 * they cross at about 6 KiB.
 */
export const HASH_IN_JS_UP_TO = 4096;

/**
 * `"sha256:<64 hex digits>"` of the UTF-8 of a string, or of bytes (browsers and Node 20).
 * @example
 * await sha256('abc'); // 'sha256:ba7816bf…f20015ad'
 */
export async function sha256(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  if (bytes.length <= HASH_IN_JS_UP_TO) return sha256Now(bytes);
  // A copy when the bytes are over a SharedArrayBuffer, which crypto.subtle refuses.
  const own =
    bytes.buffer instanceof ArrayBuffer
      ? (bytes as Uint8Array<ArrayBuffer>)
      : new Uint8Array(bytes);
  return hexOf(new Uint8Array(await crypto.subtle.digest('SHA-256', own)));
}

/**
 * `"sha256:<64 hex digits>"` of `bytes`, computed in JavaScript at once: for inputs up to
 * HASH_IN_JS_UP_TO bytes, where it is the faster (see sha256), and no promise is made.
 * @example
 * sha256Now(new TextEncoder().encode('abc')); // 'sha256:ba7816bf…f20015ad'
 */
export function sha256Now(bytes: Uint8Array): string {
  return hexOf(sha256Digest(bytes));
}

function hexOf(digest: Uint8Array): string {
  let hex = 'sha256:';
  for (const byte of digest) hex += HEX[byte] as string;
  return hex;
}

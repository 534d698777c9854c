/**
 * Decoded object state → JSON, without the app's classes. JSON has no undefined, NaN, bigint,
 * Date, Map, Set or bytes, so each becomes a one-key marker object whose key starts with `$`:
 *
 *   reference to a stored object   { "$ref": 12, "class": "app.Todo" }
 *   undefined                      { "$undefined": true }
 *   NaN, Infinity, -Infinity       { "$number": "NaN" }
 *   bigint                         { "$bigint": "12345678901234567890" }
 *   Date                           { "$date": "2026-01-02T03:04:05.000Z" }  (invalid: null)
 *   Map                            { "$map": [[key, value], …] }
 *   Set                            { "$set": [item, …] }
 *   ArrayBuffer, DataView, Uint8Array, Uint8ClampedArray
 *                                  { "$type": "Uint8Array", "base64": "AAEC" }
 *   other typed arrays             { "$type": "Float64Array", "values": [1.5, …] }
 *   a container met before         { "$same": ".items[0]" }  (the path where it was first shown:
 *                                  shared parts and cycles inside one state are shown once)
 *
 * A key of a plain object that starts with `$` is shown with one more `$` (`$x` → `$$x`), so a
 * marker is never mistaken for stored data.
 */

/** A reference read from a state: the CLI has no classes, so it stays an oid and a class name. */
export class StoredRef {
  constructor(
    /** The referenced object's oid. */
    readonly oid: number,
    /** Its stored class name. */
    readonly className: string,
  ) {}
}

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const typedArrays = [
  Int8Array,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;

const escapeKey = (key: string): string => (key.startsWith('$') ? `$${key}` : key);

/** Sets an own property, even one named `__proto__` (an assignment would set the prototype). */
function setField(out: { [key: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(out, escapeKey(key), {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
const keySegment = (key: string): string =>
  /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;

function numberToJson(value: number): Json {
  return Number.isFinite(value) ? value : { $number: String(value) };
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** `value` as JSON (see the module comment for the markers). */
export function toJson(value: unknown): Json {
  return new JsonWalk().value(value, '');
}

/** The fields of a state as a JSON object (keys escaped as in `toJson`). */
export function fieldsToJson(state: Record<string, unknown>): { [key: string]: Json } {
  const walk = new JsonWalk();
  const out: { [key: string]: Json } = {};
  for (const key of Object.keys(state)) setField(out, key, walk.value(state[key], keySegment(key)));
  return out;
}

/** One conversion: remembers the containers shown, by where they were first shown. */
class JsonWalk {
  private readonly shown = new Map<object, string>();

  value(value: unknown, path: string): Json {
    switch (typeof value) {
      case 'undefined':
        return { $undefined: true };
      case 'number':
        return numberToJson(value);
      case 'bigint':
        return { $bigint: value.toString() };
      case 'string':
      case 'boolean':
        return value;
      case 'object':
        if (value === null) return null;
        return this.object(value, path);
      default:
        // The decoder makes none of these: a state holds data only.
        return { $unknown: String(value) };
    }
  }

  private object(value: object, path: string): Json {
    if (value instanceof StoredRef) return { $ref: value.oid, class: value.className };
    if (value instanceof Date) {
      const time = value.getTime();
      return { $date: Number.isNaN(time) ? null : value.toISOString() };
    }
    const bytes = this.bytes(value);
    if (bytes !== undefined) return bytes;
    const first = this.shown.get(value);
    if (first !== undefined) return { $same: first === '' ? '.' : first };
    this.shown.set(value, path);
    if (Array.isArray(value)) return value.map((item, i) => this.value(item, `${path}[${i}]`));
    if (value instanceof Map) {
      return {
        $map: [...value].map(([k, v], i) => [
          this.value(k, `${path}{key #${i}}`),
          this.value(v, `${path}{#${i}}`),
        ]),
      };
    }
    if (value instanceof Set) {
      return { $set: [...value].map((item, i) => this.value(item, `${path}{#${i}}`)) };
    }
    const out: { [key: string]: Json } = {};
    for (const key of Object.keys(value)) {
      setField(
        out,
        key,
        this.value((value as Record<string, unknown>)[key], `${path}${keySegment(key)}`),
      );
    }
    return out;
  }

  private bytes(value: object): Json | undefined {
    if (value instanceof ArrayBuffer) {
      return { $type: 'ArrayBuffer', base64: base64(new Uint8Array(value)) };
    }
    if (value instanceof DataView) {
      const view = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      return { $type: 'DataView', base64: base64(view) };
    }
    if (value instanceof Uint8Array || value instanceof Uint8ClampedArray) {
      const view = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      return { $type: value.constructor.name, base64: base64(view) };
    }
    for (const kind of typedArrays) {
      if (value instanceof kind) {
        const values = [...(value as ArrayLike<number | bigint> & Iterable<number | bigint>)];
        return {
          $type: kind.name,
          values: values.map((v) => (typeof v === 'bigint' ? v.toString() : numberToJson(v))),
        };
      }
    }
    return undefined;
  }
}

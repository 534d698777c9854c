/**
 * What json-value.ts (value → JSON) and json-to-value.ts (JSON → value) share: the JSON type, the
 * escaping of keys that start with `$`, the path language of `$same` and of error messages, and
 * the binary kinds with their marker names.
 */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** The key a plain-object key is written under: one more `$` if it starts with `$`. */
export const escapeKey = (key: string): string => (key.startsWith('$') ? `$${key}` : key);

/** The path segment of a plain-object key (the key as stored, not escaped): `.name`, `["odd key"]`. */
export const keySegment = (key: string): string =>
  /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;

/** A path as written in `$same` and in messages: the root is `.`. */
export const showPath = (path: string): string => (path === '' ? '.' : path);

/** Sets an own enumerable property, even one named `__proto__` (an assignment would set the prototype). */
export function defineField(out: object, key: string, value: unknown): void {
  // defineProperty only where needed: an assignment is several times faster.
  if (key === '__proto__') {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else (out as Record<string, unknown>)[key] = value;
}

/** The binary kinds written as `{ "$type", "base64" }`: their bytes. */
export const BYTE_KINDS = ['ArrayBuffer', 'DataView', 'Uint8Array', 'Uint8ClampedArray'] as const;

/** A typed array written as `{ "$type", "values" }`. */
export type NumberArrayClass =
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

/**
 * The typed arrays written as `{ "$type", "values" }`, by the name in `$type` (fixed here rather
 * than `constructor.name`, which a subclass would change).
 */
export const NUMBER_ARRAYS: ReadonlyMap<string, NumberArrayClass> = new Map<
  string,
  NumberArrayClass
>([
  ['Int8Array', Int8Array],
  ['Int16Array', Int16Array],
  ['Uint16Array', Uint16Array],
  ['Int32Array', Int32Array],
  ['Uint32Array', Uint32Array],
  ['Float32Array', Float32Array],
  ['Float64Array', Float64Array],
  ['BigInt64Array', BigInt64Array],
  ['BigUint64Array', BigUint64Array],
]);

/** The `$number` text of a number JSON cannot hold (NaN, ±Infinity, −0), else undefined. */
export function numberMarker(value: number): string | undefined {
  if (Number.isFinite(value)) return Object.is(value, -0) ? '-0' : undefined;
  return String(value);
}

/** The numbers `$number` names. */
export const MARKED_NUMBERS: ReadonlyMap<string, number> = new Map([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['-0', -0],
]);

/**
 * Canonical JSON text (design15 "Canonical JSON of a state"): object keys sorted by UTF-16 code
 * units (as RFC 8785) at every level, numbers and strings as JSON.stringify writes them; compact
 * (what hashes are taken of) or pretty (2-space indent and a trailing newline: the entries of an
 * archive and the files of a checkout, diffable).
 *
 * Speed: an export writes every object twice (the compact text it hashes, the pretty entry). The
 * values the walks of json-value.ts build already hold their keys in sorted order, so for them
 * JSON.stringify — native, several times faster than a writer in JavaScript — writes the canonical
 * text itself. It is used only after a check that it will: JSON.stringify writes an object's keys
 * in property order, which puts integer-like keys ("2", "10") first in numeric order, not sorted,
 * and writes what JSON has no form for (a Date, NaN, undefined) silently. Anything the check does
 * not accept goes through the writer here, which sorts and refuses.
 */
import { keySegment, showPath, type Json } from './json-markers.js';

/**
 * Deterministic JSON text of `value`: object keys sorted (UTF-16 code units, as RFC 8785) at every
 * level, numbers and strings as JSON.stringify writes them. Compact by default (hashes use it);
 * `pretty`: 2-space indent and a trailing newline (the files of a checkout, diffable).
 * @throws TypeError for what is not JSON (undefined, a non-finite number, a Date…): a bug in the
 *   caller, where JSON.stringify would write something else silently.
 */
export function canonicalJson(value: Json, options: { pretty?: boolean } = {}): string {
  const pretty = options.pretty ?? false;
  if (inCanonicalOrder(value)) {
    const native = JSON.stringify(value, null, pretty ? 2 : undefined);
    return pretty ? `${native}\n` : native;
  }
  const text = writeJson(value, pretty ? '\n' : '', pretty);
  if (text === undefined) {
    // Found again with its path (tracking paths on every call would slow the common case).
    const [what, path] = findNotJson(value, '') ?? ['a value', ''];
    throw new TypeError(
      `canonicalJson: ${what} at ${showPath(path)} is not JSON (build values with valueToJson).`,
    );
  }
  return pretty ? `${text}\n` : text;
}

/**
 * `value` as text, or undefined if it holds something that is not JSON; `newline` is the line
 * break plus the current indent (pretty), else ''.
 */
function writeJson(value: Json, newline: string, pretty: boolean): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'object': {
      if (value === null) return 'null';
      const inner = pretty ? `${newline}  ` : '';
      const parts: string[] = [];
      if (Array.isArray(value)) {
        if (value.length === 0) return '[]';
        for (const item of value) {
          const text = writeJson(item, inner, pretty);
          if (text === undefined) return undefined;
          parts.push(text);
        }
        return `[${inner}${parts.join(`,${inner}`)}${newline}]`;
      }
      if (!isPlain(value)) return undefined;
      const keys = Object.keys(value).sort();
      if (keys.length === 0) return '{}';
      const colon = pretty ? ': ' : ':';
      for (const key of keys) {
        const text = writeJson(value[key] as Json, inner, pretty);
        if (text === undefined) return undefined;
        parts.push(`${JSON.stringify(key)}${colon}${text}`);
      }
      return `{${inner}${parts.join(`,${inner}`)}${newline}}`;
    }
    default:
      return undefined;
  }
}

const isPlain = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
};

/** The first value in `value` that is not JSON: what it is and its path. */
function findNotJson(value: unknown, path: string): [string, string] | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : [`the number ${value}`, path];
    case 'object':
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const found = findNotJson(value[i], `${path}[${i}]`);
          if (found !== undefined) return found;
        }
        return undefined;
      }
      if (!isPlain(value)) return ['an object of a class', path];
      for (const key of Object.keys(value).sort()) {
        const found = findNotJson(
          (value as Record<string, unknown>)[key],
          `${path}${keySegment(key)}`,
        );
        if (found !== undefined) return found;
      }
      return undefined;
    default:
      return [typeof value, path];
  }
}

/**
 * True when `JSON.stringify(value)` (and with an indent of 2) is its canonical text (see
 * inCanonicalOrder): a caller that writes one value several ways checks it once.
 */
export function isInCanonicalOrder(value: Json): boolean {
  return inCanonicalOrder(value);
}

/**
 * True when JSON.stringify writes `value` exactly as canonicalJson must: it holds only JSON (strings,
 * booleans, null, finite numbers, arrays without holes, plain objects) and every object's own keys
 * come, in property order, strictly sorted. JSON.stringify then writes the same text as writeJson:
 * the same keys in the same order, each string and number by JSON.stringify, and with an indent of
 * 2 the same line breaks (`[]` and `{}` for empty ones). An array with a `toJSON` (JSON.stringify
 * would call it) is left to writeJson; a plain object's `toJSON` would be a value here, a function
 * being refused.
 */
function inCanonicalOrder(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) {
        if ((value as { toJSON?: unknown }).toJSON !== undefined) return false;
        for (let i = 0; i < value.length; i++) {
          // A hole reads as undefined, which is refused like an undefined item.
          if (!inCanonicalOrder(value[i])) return false;
        }
        return true;
      }
      if (!isPlain(value)) return false;
      const keys = Object.keys(value);
      let previous: string | undefined;
      for (const key of keys) {
        if (previous !== undefined && !(previous < key)) return false;
        previous = key;
        if (!inCanonicalOrder((value as Record<string, unknown>)[key])) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

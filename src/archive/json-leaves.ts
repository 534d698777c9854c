/**
 * The leaf markers of archive JSON read back (json-to-value.ts): `$date` text and the elements of a
 * typed array, checked so that a typo in a hand-edited file is refused rather than turned into
 * another value (Date.parse rolls 2026-02-30 over to March 2; an Int8Array wraps 300 to 44).
 */
import { MARKED_NUMBERS, type Json } from './json-markers.js';

/** A decimal integer, as `$bigint` and BigInt64Array elements are written. */
export const DECIMAL_INTEGER = /^-?\d+$/;

/**
 * An ISO 8601 date as Date parses it: a time needs a zone (without one, JS reads local time), and
 * at most milliseconds (all a Date holds). Groups: year, month, day, hour, minute, second, offset
 * hour, offset minute.
 */
const ISO_DATE =
  /^(\d{4}|[+-]\d{6})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-](\d{2}):(\d{2})))?$/;

/** The range of each integer typed array's elements. */
const INTEGER_RANGES: ReadonlyMap<string, readonly [number | bigint, number | bigint]> = new Map<
  string,
  readonly [number | bigint, number | bigint]
>([
  ['Int8Array', [-0x80, 0x7f]],
  ['Int16Array', [-0x8000, 0x7fff]],
  ['Uint16Array', [0, 0xffff]],
  ['Int32Array', [-0x80000000, 0x7fffffff]],
  ['Uint32Array', [0, 0xffffffff]],
  ['BigInt64Array', [-(2n ** 63n), 2n ** 63n - 1n]],
  ['BigUint64Array', [0n, 2n ** 64n - 1n]],
]);

/**
 * The Date of ISO 8601 `text`, or undefined unless every field is in range: Date.parse rolls
 * 2026-02-30 over to March 2 and 24:00 to the next day, where a typo must be refused.
 */
export function isoDate(text: string): Date | undefined {
  const match = ISO_DATE.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second, offsetHour, offsetMinute] = match
    .slice(1)
    .map((field) => Number(field ?? 0));
  if (year === undefined || month === undefined || day === undefined) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const lastDay = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  const inRange =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= lastDay &&
    (hour ?? 0) <= 23 &&
    (minute ?? 0) <= 59 &&
    (second ?? 0) <= 59 &&
    (offsetHour ?? 0) <= 23 &&
    (offsetMinute ?? 0) <= 59;
  const date = new Date(text);
  return inRange && !Number.isNaN(date.getTime()) ? date : undefined;
}

/** Why `content` is not a `$number` marker's text. */
export function markedNumberProblem(content: Json): string {
  const names = [...MARKED_NUMBERS.keys()].map((k) => `"${k}"`).join(', ');
  return `"$number" must be one of ${names} (other numbers are written as JSON numbers); found ${show(content)}`;
}

/** A typed array element that does not fit: its index and why. */
export interface ElementProblem {
  /** The element's index in `values`. */
  index: number;
  /** What is wrong with it. */
  problem: string;
}

/**
 * The elements of a `{ "$type": kind, "values" }` marker (a typed array other than the byte ones),
 * each checked to fit, or the first that does not.
 */
export function typedArrayElements(
  kind: string,
  values: Json[],
): (number | bigint)[] | ElementProblem {
  const range = INTEGER_RANGES.get(kind);
  const elements: (number | bigint)[] = [];
  for (let index = 0; index < values.length; index++) {
    const element = elementOf(kind, range, values[index] as Json);
    if (typeof element === 'string') return { index, problem: element };
    elements.push(element);
  }
  return elements;
}

/** One element of a typed array of `kind`, or why it does not fit. */
function elementOf(
  kind: string,
  range: readonly [number | bigint, number | bigint] | undefined,
  item: Json,
): number | bigint | string {
  if (range === undefined) {
    // Float32Array/Float64Array: any number (a Float32Array rounds it, as in JS).
    if (typeof item === 'number') return item;
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      const keys = Object.keys(item);
      if (keys.length === 1 && keys[0] === '$number') {
        const content = item.$number as Json;
        const number = typeof content === 'string' ? MARKED_NUMBERS.get(content) : undefined;
        return number ?? markedNumberProblem(content);
      }
    }
    return `an element of a ${kind} must be a number or a "$number" marker; found ${show(item)}`;
  }
  const [min, max] = range;
  if (typeof min === 'bigint') {
    const value = typeof item === 'string' && DECIMAL_INTEGER.test(item) ? BigInt(item) : undefined;
    if (value !== undefined && value >= min && value <= max) return value;
    return `an element of a ${kind} must be a decimal integer string from ${min} to ${max}; found ${show(item)}`;
  }
  if (typeof item === 'number' && Number.isInteger(item) && item >= min && item <= max) return item;
  return `an element of a ${kind} must be an integer from ${min} to ${max}; found ${show(item)}`;
}

/** `json` for a message, cut short. */
export function show(json: Json | undefined): string {
  if (json === undefined) return 'nothing';
  const text = JSON.stringify(json);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/**
 * Scalars as cbor-decode.ts reads them, apart from its recursive reader: the key cache's lookup,
 * the ASCII fast path of short text, and the milliseconds of a Date.
 */

/**
 * The key of a plain object: the `n` < 24 bytes at `p` of `b` (checked to be there). Looked up in
 * the decoder's key cache `keys` (2^k entries) by a hash of its length and three of its bytes; an
 * entry is used only if its char codes are the bytes (entries are ASCII, so that makes it the
 * string they decode to). An ASCII key not cached is cached. Undefined for a key that is not ASCII
 * (the caller decodes it as UTF-8).
 */
export function cachedKey(keys: string[], b: Uint8Array, p: number, n: number): string | undefined {
  const h =
    n === 0
      ? 0
      : (n * 0x61 +
          (b[p] as number) * 0x1f +
          (b[p + (n >> 1)] as number) * 0x07 +
          (b[p + n - 1] as number)) &
        (keys.length - 1);
  const cached = keys[h] as string;
  if (cached.length === n) {
    let i = 0;
    while (i < n && cached.charCodeAt(i) === b[p + i]) i++;
    if (i === n) return cached;
  }
  const s = ascii(b, p, n);
  if (s !== undefined) keys[h] = s;
  return s;
}

/**
 * The whole milliseconds `ms` that a Date was written as, given `seconds` = ms / 1000 as a float64
 * (both codecs wrote that). `Math.round(seconds * 1000)` is 1 ms off for some Dates past 2^52 ms
 * (year ±140,000), where the product rounds to the next integer; the division is exact enough that
 * one integer next to the product divides back to `seconds`. Seconds no such integer gives (not
 * written by shelfdb or cbor-x) are rounded to the nearest millisecond.
 */
export function millisecondsOf(seconds: number): number {
  const guess = Math.round(seconds * 1000);
  if (guess / 1000 === seconds) return guess; // all but some Dates past 2^52 ms: no array made
  for (const ms of [guess - 1, guess + 1]) if (ms / 1000 === seconds) return ms;
  return guess;
}

/** The `n` bytes at `p` as a string if they are all ASCII, else undefined. */
export function ascii(b: Uint8Array, p: number, n: number): string | undefined {
  let s = '';
  for (let i = p, end = p + n; i < end; i++) {
    const c = b[i] as number;
    if (c >= 0x80) return undefined;
    s += String.fromCharCode(c);
  }
  return s;
}

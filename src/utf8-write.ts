/**
 * UTF-8 written by hand into a byte array, for short strings, where it is faster than a
 * TextEncoder call (cbor-encode.ts). A lone surrogate becomes U+FFFD, as TextEncoder writes it.
 */

/**
 * Writes `s` as UTF-8 into `b` from `at` (room for 3 bytes per UTF-16 unit needed) and returns
 * where it ends.
 */
export function writeUtf8(b: Uint8Array, at: number, s: string): number {
  let p = at;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      b[p++] = c;
    } else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6);
      b[p++] = 0x80 | (c & 0x3f);
    } else {
      if ((c & 0xf800) === 0xd800) {
        const d = s.charCodeAt(i + 1); // NaN past the end, which fails the test below
        if (c < 0xdc00 && (d & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c & 0x3ff) << 10) + (d & 0x3ff);
          i++;
          b[p++] = 0xf0 | (c >> 18);
          b[p++] = 0x80 | ((c >> 12) & 0x3f);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd; // a lone surrogate
      }
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

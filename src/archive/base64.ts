/**
 * Base64 (RFC 4648, standard alphabet, `=` padding) for the bytes in archive JSON. Own code rather
 * than `Buffer` (Node only) or `btoa`/`atob` (strings of Latin-1 characters, lenient: `atob`
 * accepts missing padding and whitespace, where a damaged archive must be refused).
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Whole base64 text: groups of four, the last one possibly padded. */
const WELL_FORMED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `bytes` as base64 text. */
export function toBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  // Built a chunk at a time: one string per byte would cost a concatenation each.
  const CHUNK = 3 * 1024;
  for (let start = 0; start < bytes.length; start += CHUNK) {
    const end = Math.min(start + CHUNK, bytes.length);
    let s = '';
    let i = start;
    for (; i + 2 < end; i += 3) {
      const n =
        ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
      s +=
        ALPHABET.charAt(n >> 18) +
        ALPHABET.charAt((n >> 12) & 63) +
        ALPHABET.charAt((n >> 6) & 63) +
        ALPHABET.charAt(n & 63);
    }
    if (i < end) {
      // Only the last chunk can end short of a multiple of three (CHUNK is one).
      const a = bytes[i] as number;
      const b = i + 1 < end ? (bytes[i + 1] as number) : 0;
      const n = (a << 16) | (b << 8);
      s += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63);
      s += i + 1 < end ? `${ALPHABET.charAt((n >> 6) & 63)}=` : '==';
    }
    parts.push(s);
  }
  return parts.join('');
}

/** The bytes of base64 `text`, or undefined when it is not well-formed base64 (see WELL_FORMED). */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (text.length % 4 !== 0 || !WELL_FORMED.test(text)) return undefined;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const n =
      (sextet(text, i) << 18) |
      (sextet(text, i + 1) << 12) |
      (sextet(text, i + 2) << 6) |
      sextet(text, i + 3);
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}

/** The six bits of the character at `i` (0 for padding; the text is known to be well-formed). */
function sextet(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 71; // a-z
  if (c >= 48 && c <= 57) return c + 4; // 0-9
  if (c === 43) return 62; // +
  if (c === 47) return 63; // /
  return 0; // =
}

/**
 * The blob benchmark's Blobs: made in the page from pseudo-random parts of 1 MiB (xorshift32,
 * seeded by the run and the part's index, so no two runs store equal bytes — a content-addressed
 * store would skip the second — and a read can be checked against the bytes it should give).
 */

/** The size of the parts a benchmark Blob is made of. */
export const PART = 1 << 20;

/** Part `index` of the Blob of `seed`: `length` (≤ PART) pseudo-random bytes. */
export function part(seed: number, index: number, length = PART): Uint8Array<ArrayBuffer> {
  const words = new Uint32Array(Math.ceil(length / 4));
  // A state per part that is never 0 (xorshift stays 0 from 0).
  let x = (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, length);
}

/** A Blob of `bytes` bytes made in the page from parts of 1 MiB (the last one shorter). */
export function makeBlob(bytes: number, seed: number): Blob {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (let at = 0, i = 0; at < bytes; at += PART, i++)
    parts.push(part(seed, i, Math.min(PART, bytes - at)));
  return new Blob(parts, { type: 'application/octet-stream' });
}

/**
 * Throws unless `head` is the start of the Blob of `seed` (`head` ≤ 1 MiB is checked; a longer one
 * is checked up to 1 MiB) and `size` is `bytes`: what every read case checks after its timing.
 */
export function checkRead(
  what: string,
  head: Uint8Array,
  size: number,
  bytes: number,
  seed: number,
): void {
  if (size !== bytes) throw new Error(`${what}: read ${size} bytes, stored ${bytes}`);
  const length = Math.min(head.byteLength, PART, bytes);
  const want = part(seed, 0, Math.min(PART, bytes));
  for (let i = 0; i < length; i++) {
    if (head[i] !== want[i]) throw new Error(`${what}: byte ${i} differs from the stored one`);
  }
}

/**
 * Reads `blob`'s stream to its end: resolves to the byte count and the first chunk (for
 * checkRead). The bytes are only counted: the rate is the stream's.
 */
export async function readStream(blob: Blob): Promise<{ size: number; head: Uint8Array }> {
  const reader = (blob.stream() as ReadableStream<Uint8Array>).getReader();
  let size = 0;
  let head: Uint8Array | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { size, head: head ?? new Uint8Array(0) };
    head ??= value;
    size += value.byteLength;
  }
}

/**
 * SHA-256 of a blob's bytes, as fast as the platform allows.
 *
 * WebCrypto's digest runs natively and off the calling thread (~240 MB/s in Chromium on the
 * benchmark machine, against ~70 MB/s for @noble/hashes in memory and ~45 MB/s over a stream), but
 * it takes the bytes whole: there is no incremental WebCrypto hash. So the stores read a blob of up
 * to WHOLE_HASH_MAX bytes whole and digest it so, writing its bytes while the digest runs; larger
 * blobs are hashed as they stream (`streamHasher`), in memory bounded by one chunk. Where there is
 * no WebCrypto (a page served over plain http from another host than localhost has no
 * `crypto.subtle`), `digestWhole` falls back to @noble/hashes.
 */
import { sha256 } from '@noble/hashes/sha2';
import type { BlobHasher } from './blob-folder.js';

/**
 * The largest blob read whole to be hashed by WebCrypto (32 MiB): photos, documents and short
 * recordings, the bulk of what apps attach, go at the native speed; the transient memory of one
 * put stays bounded by this.
 */
export const WHOLE_HASH_MAX = 32 * 1024 * 1024;

/**
 * The SHA-256 digest (32 bytes) of `bytes`, by WebCrypto where there is one, else @noble/hashes.
 * @example
 * const digest = await digestWhole(new Uint8Array(await blob.arrayBuffer()));
 */
export async function digestWhole(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle as SubtleCrypto | undefined;
  if (subtle === undefined) return sha256(bytes);
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}

/**
 * An incremental SHA-256 for blobs hashed as they stream.
 * @example
 * const hasher = streamHasher();
 * hasher.update(chunk);
 * const digest = hasher.digest();
 */
export function streamHasher(): BlobHasher {
  return sha256.create();
}

/**
 * The CBOR tags in shelfdb's stored object states (read by cbor-decode.ts, written by
 * cbor-encode.ts). They are the ones cbor-x 1.6 wrote with shelfdb's options, so databases written
 * before shelfdb had its own codec read unchanged:
 *
 *   1      Date: seconds since the epoch (uint32 for whole seconds in [0, 2^32), else float64)
 *   2, 3   bigint beyond 64 bits: big-endian magnitude (3: the value is −1 − magnitude)
 *   28     "shareable" (http://cbor.schmorp.de/value-sharing): the next item is referenced again
 *   29     "sharedref": the shareable item with this number (counted in byte order from 0)
 *   64     Uint8Array (cbor-x wrote it in Node only; shelfdb writes a plain byte string)
 *   68…86  typed arrays, RFC 8746, little-endian element bytes
 *   258    Set: an array of its items
 *   259    Map: a CBOR map (an untagged map is a plain object with string keys)
 *   40401  a persistent object: [oid, className]
 *   40402  an ArrayBuffer: its bytes
 *   40403  a DataView: its bytes
 *   40404  a Blob or File: [oid, hash, size, type, name | null, lastModified | null] (blob-tag.ts)
 */

export const DATE_TAG = 1;
export const BIGINT_TAG = 2;
export const NEGATIVE_BIGINT_TAG = 3;
export const SHAREABLE_TAG = 28;
export const SHARED_REF_TAG = 29;
export const UINT8_ARRAY_TAG = 64;
export const SET_TAG = 258;
export const MAP_TAG = 259;
export const REF_TAG = 40401;
export const ARRAY_BUFFER_TAG = 40402;
export const DATA_VIEW_TAG = 40403;
export const BLOB_TAG = 40404;

/** A typed array class with the RFC 8746 tag of its little-endian form. */
export type TypedArrayClass =
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/**
 * The typed arrays with a tag (Uint8Array is written untagged). Tags are RFC 8746's little-endian
 * ones and the bytes are the array's own: every platform JavaScript runs on in practice is
 * little-endian.
 */
export const TYPED_ARRAY_TAGS: readonly (readonly [TypedArrayClass, number])[] = [
  [Uint8ClampedArray, 68],
  [Uint16Array, 69],
  [Uint32Array, 70],
  [BigUint64Array, 71],
  [Int8Array, 72],
  [Int16Array, 77],
  [Int32Array, 78],
  [BigInt64Array, 79],
  [Float32Array, 85],
  [Float64Array, 86],
];

/**
 * The ShelfStorage file format, byte by byte. All integers are little-endian; "u64" fields hold
 * integers below 2^53 (oids, tids, positions, times), written as two u32 halves (low, high) and
 * checked on read. test/shelf-format.test.ts pins these offsets.
 *
 * A database is a directory:
 *   manifest.0, manifest.1   two slots; the valid one with the higher generation is current
 *   seg-<n>.log              segment files: a header, then log entries one after another
 *   index-<g>.idx            an index checkpoint (generation g), read in place, never loaded whole
 *
 * Positions: a record's position is `segment * 2^40 + offset in that segment`, one number.
 *
 * 1. Segment header (32 bytes)
 *    0  8  magic "SHELFLOG"
 *    8  u32 format version (2)
 *   12  u32 segment number
 *   16  u32 CRC-32 of bytes 0..16
 *   20  12  zero
 *
 * 2. Log entry (a transaction, or an oid reservation), at any offset ≥ 32
 *    0  u32 entry length L (all of it, trailer included)
 *    4  u8  kind: 'T' (0x54) transaction, 'O' (0x4F) oid reservation, 'F' (0x46) filler
 *    5  u8  status: ' ' (0x20)
 *    6  u16 zero
 *    8  u64 tid (transactions; 0 otherwise)
 *   16  u64 time, ms since the epoch
 *   24  u32 record count N
 *   28  u32 metadata length M
 *   32  u64 next oid: every oid below it has been handed out
 *   40  M   metadata: UTF-8 JSON {"note","user","meta"}
 *   40+M    N records (3.)
 *   L-8 u32 CRC-32 of the entry's own position (u64, see Positions) followed by bytes 0..L-8
 *   L-4 u32 L again, so the log can be walked backwards
 *
 *    The checksum covers where the entry stands. An entry's bytes found anywhere else (an old
 *    export of this log kept inside some object's state, say) fail it, so recovery, which looks
 *    for the next valid entry after damage, only ever resumes on entries the log itself wrote
 *    there. (Format version 1 checksummed the bytes alone.)
 *
 * 3. Record, inside a transaction entry
 *    0  u32 record length R
 *    4  u32 offset of the record from the start of its entry (to find the transaction)
 *    8  u64 oid
 *   16  u64 tid
 *   24  u64 position of the previous revision of this oid (0: none; 1: removed by pack)
 *   32  u16 class name length C
 *   34  u32 state length S
 *   38  u32 reference count K
 *   42  C   class name, UTF-8
 *   42+C S  state (opaque to storage)
 *   ..  K × u64 referenced oids
 *
 * 4. Manifest slot (manifest.0 / manifest.1)
 *    0  8  magic "SHELFMAN"
 *    8  u32 format version (2)
 *   12  u32 JSON length J
 *   16  u32 CRC-32 of the JSON
 *   20  J   UTF-8 JSON: Manifest below
 *
 * 5. Index checkpoint (index-<g>.idx): a header, then a dense table indexed by oid.
 *    0  8  magic "SHELFIDX"
 *    8  u32 format version (2)
 *   12  u32 zero
 *   16  u64 entry count E (= the next oid when written)
 *   24  8  zero
 *   32  E × u64: position of the newest revision of oid i (0: none)
 */
import { CorruptStorageError } from '../src/shared/errors.js';
import { crc32 } from '../src/shared/crc32.js';

export const FORMAT_VERSION = 2;
export const SEGMENT_MAGIC = 'SHELFLOG';
export const MANIFEST_MAGIC = 'SHELFMAN';
export const INDEX_MAGIC = 'SHELFIDX';
export const SEGMENT_HEADER_SIZE = 32;
export const ENTRY_HEADER_SIZE = 40;
export const ENTRY_TRAILER_SIZE = 8;
export const RECORD_HEADER_SIZE = 42;
/** `prev` of a revision whose older revisions pack removed. */
export const PREV_PACKED = 1;
export const INDEX_HEADER_SIZE = 32;
export const MANIFEST_HEADER_SIZE = 20;
export const KIND_TRANSACTION = 0x54;
export const KIND_OIDS = 0x4f;
export const KIND_FILLER = 0x46;
export const STATUS_COMMITTED = 0x20;
/** Positions are segment * SEGMENT_SPAN + offset. */
export const SEGMENT_SPAN = 2 ** 40;

export const position = (segment: number, offset: number): number =>
  segment * SEGMENT_SPAN + offset;
export const segmentOf = (pos: number): number => Math.floor(pos / SEGMENT_SPAN);
export const offsetOf = (pos: number): number => pos % SEGMENT_SPAN;
export const segmentName = (n: number): string => `seg-${String(n).padStart(6, '0')}.log`;
export const indexName = (generation: number): string =>
  `index-${String(generation).padStart(6, '0')}.idx`;
export const MANIFEST_SLOTS = ['manifest.0', 'manifest.1'] as const;

export interface Manifest {
  generation: number;
  /** Segment numbers in log order. */
  segments: number[];
  /** The index checkpoint, if any: the log up to `end` is in it. */
  checkpoint: {
    file: string;
    /** Position just past the last entry the checkpoint covers. */
    end: number;
    tid: number;
    nextOid: number;
    /** Oids with a revision, when written. */
    objects: number;
  } | null;
  /** Milliseconds since the epoch of the last pack. */
  lastPack?: number;
  /** Transactions in the log up to the checkpoint. */
  checkpointTransactions?: number;
  /** Garbage bytes in the log up to the checkpoint. */
  checkpointGarbage?: number;
  /**
   * The number the next new segment gets (default: one past the largest listed). Numbers are never
   * used twice, so a position in a segment pack removed never names a byte of a newer one.
   */
  nextSegment?: number;
  /**
   * Old revisions pack moved while a newer revision still pointed at their old place:
   * `[old position, new position]` pairs, followed when a `prev` names the old place.
   */
  relocated?: [number, number][];
  /**
   * Numbers of removed segments that may be used again once none of their witnesses (the segments
   * present when they were removed) is in the log (worker/shelf-numbers.ts).
   */
  retired?: [number, number[]][];
}

// ─── integers ─────────────────────────────────────────────────────────────

export function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}

export function getU64(view: DataView, at: number): number {
  const high = view.getUint32(at + 4, true);
  if (high >= 2 ** 21) throw new CorruptStorageError(`A 64-bit field at byte ${at} exceeds 2^53.`);
  return high * 2 ** 32 + view.getUint32(at, true);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const ascii = (s: string): Uint8Array => encoder.encode(s);

function hasMagic(bytes: Uint8Array, magic: string): boolean {
  if (bytes.byteLength < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic.charCodeAt(i)) return false;
  return true;
}

const viewOf = (bytes: Uint8Array): DataView =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** The checksum of an entry of `length` bytes standing at log position `pos` (see 2.). */
export function entryChecksum(bytes: Uint8Array, length: number, pos: number): number {
  const where = new Uint8Array(8);
  setU64(viewOf(where), 0, pos);
  return crc32(bytes, 0, length - ENTRY_TRAILER_SIZE, crc32(where));
}

// ─── segment header ───────────────────────────────────────────────────────

export function encodeSegmentHeader(segment: number): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_SIZE);
  bytes.set(ascii(SEGMENT_MAGIC), 0);
  const view = viewOf(bytes);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, segment, true);
  view.setUint32(16, crc32(bytes, 0, 16), true);
  return bytes;
}

/** @throws CorruptStorageError naming the file when it is not a shelfdb segment. */
export function checkSegmentHeader(bytes: Uint8Array, segment: number, file: string): void {
  if (!hasMagic(bytes, SEGMENT_MAGIC) || bytes.byteLength < SEGMENT_HEADER_SIZE) {
    throw new CorruptStorageError(
      `${file} is not a shelfdb log file (no SHELFLOG header). It was left untouched.`,
    );
  }
  const view = viewOf(bytes);
  if (view.getUint32(16, true) !== crc32(bytes, 0, 16)) {
    throw new CorruptStorageError(`${file}: the segment header checksum does not match (byte 16).`);
  }
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    throw new CorruptStorageError(
      `${file} has format version ${version}; this shelfdb reads version ${FORMAT_VERSION}. Open it with a shelfdb that matches.`,
    );
  }
  if (view.getUint32(12, true) !== segment) {
    throw new CorruptStorageError(
      `${file} says it is segment ${view.getUint32(12, true)}, expected ${segment}.`,
    );
  }
}

// ─── entries and records ──────────────────────────────────────────────────

export interface EntryRecord {
  oid: number;
  className: string;
  state: Uint8Array;
  refs: number[];
  /** Position of the previous revision (0: none). */
  prev: number;
}

/** What a transaction entry's metadata JSON holds. */
export interface TransactionMetadata {
  note: string;
  user: string;
  meta: Record<string, unknown>;
  /** The committing client's id for the transaction (see CommitRequest.txnId). */
  txnId?: string;
  /** The tid of the transaction this one undid (see CommitRequest.undoes). */
  undoes?: number;
}

export interface EntryInput {
  kind: number;
  tid: number;
  time: number;
  nextOid: number;
  metadata?: TransactionMetadata;
  /** The metadata already as JSON text (validateCommit makes it), instead of `metadata`. */
  metadataJson?: string;
  records: EntryRecord[];
}

/** Byte offsets of each record inside an encoded entry (from the entry's start). */
export interface EncodedEntry {
  bytes: Uint8Array;
  recordOffsets: number[];
  /** Each record's stored length (its header's R). */
  recordSizes: number[];
}

/**
 * Encodes one entry to stand at log position `pos` (the checksum covers it).
 * @throws RangeError when it cannot be stored (4 GiB or more; a class name of 64 KiB or more):
 *   validateCommit refuses such commits before they get here.
 */
export function encodeEntry(input: EntryInput, pos: number): EncodedEntry {
  const meta =
    input.metadataJson !== undefined
      ? encoder.encode(input.metadataJson)
      : input.metadata === undefined
        ? new Uint8Array(0)
        : encoder.encode(JSON.stringify(input.metadata));
  // Class names repeat: encode each once.
  const seen = new Map<string, Uint8Array>();
  const names = input.records.map((r) => {
    let bytes = seen.get(r.className);
    if (bytes === undefined) seen.set(r.className, (bytes = encoder.encode(r.className)));
    return bytes;
  });
  let length = ENTRY_HEADER_SIZE + meta.byteLength + ENTRY_TRAILER_SIZE;
  input.records.forEach((r, i) => {
    length +=
      RECORD_HEADER_SIZE +
      (names[i] as Uint8Array).byteLength +
      r.state.byteLength +
      8 * r.refs.length;
  });
  if (length >= 2 ** 32)
    throw new RangeError('A transaction of 4 GiB or more cannot be stored in one entry.');
  const bytes = new Uint8Array(length);
  const view = viewOf(bytes);
  view.setUint32(0, length, true);
  bytes[4] = input.kind;
  bytes[5] = STATUS_COMMITTED;
  setU64(view, 8, input.tid);
  setU64(view, 16, input.time);
  view.setUint32(24, input.records.length, true);
  view.setUint32(28, meta.byteLength, true);
  setU64(view, 32, input.nextOid);
  bytes.set(meta, ENTRY_HEADER_SIZE);
  let at = ENTRY_HEADER_SIZE + meta.byteLength;
  const recordOffsets: number[] = [];
  const recordSizes: number[] = [];
  input.records.forEach((r, i) => {
    const name = names[i] as Uint8Array;
    if (name.byteLength >= 2 ** 16)
      throw new RangeError(`Class name too long: ${r.className.slice(0, 40)}…`);
    const size = RECORD_HEADER_SIZE + name.byteLength + r.state.byteLength + 8 * r.refs.length;
    recordOffsets.push(at);
    recordSizes.push(size);
    view.setUint32(at, size, true);
    view.setUint32(at + 4, at, true);
    setU64(view, at + 8, r.oid);
    setU64(view, at + 16, input.tid);
    setU64(view, at + 24, r.prev);
    view.setUint16(at + 32, name.byteLength, true);
    view.setUint32(at + 34, r.state.byteLength, true);
    view.setUint32(at + 38, r.refs.length, true);
    bytes.set(name, at + RECORD_HEADER_SIZE);
    bytes.set(r.state, at + RECORD_HEADER_SIZE + name.byteLength);
    let refAt = at + RECORD_HEADER_SIZE + name.byteLength + r.state.byteLength;
    for (const ref of r.refs) {
      setU64(view, refAt, ref);
      refAt += 8;
    }
    at += size;
  });
  view.setUint32(length - 8, entryChecksum(bytes, length, pos), true);
  view.setUint32(length - 4, length, true);
  return { bytes, recordOffsets, recordSizes };
}

/** The fixed part of an entry, read from its first ENTRY_HEADER_SIZE bytes. */
export interface EntryHeader {
  length: number;
  kind: number;
  tid: number;
  time: number;
  recordCount: number;
  metaLength: number;
  nextOid: number;
}

export function decodeEntryHeader(bytes: Uint8Array): EntryHeader {
  const view = viewOf(bytes);
  return {
    length: view.getUint32(0, true),
    kind: bytes[4] as number,
    tid: getU64(view, 8),
    time: getU64(view, 16),
    recordCount: view.getUint32(24, true),
    metaLength: view.getUint32(28, true),
    nextOid: getU64(view, 32),
  };
}

/** True when `bytes` is one whole, undamaged entry written at log position `pos`. */
export function entryIsValid(bytes: Uint8Array, pos: number): boolean {
  if (bytes.byteLength < ENTRY_HEADER_SIZE + ENTRY_TRAILER_SIZE) return false;
  const view = viewOf(bytes);
  const length = view.getUint32(0, true);
  if (length !== bytes.byteLength || view.getUint32(length - 4, true) !== length) return false;
  const kind = bytes[4];
  if (kind !== KIND_TRANSACTION && kind !== KIND_OIDS && kind !== KIND_FILLER) return false;
  return view.getUint32(length - 8, true) === entryChecksum(bytes, length, pos);
}

export interface DecodedRecord extends EntryRecord {
  tid: number;
  /** Offset of the record inside its entry. */
  offset: number;
}

/** Length of the record whose first bytes (at least 4) are given. */
export const recordLength = (head: Uint8Array): number => viewOf(head).getUint32(0, true);

/** The metadata and records of a valid transaction entry. */
export function decodeEntry(bytes: Uint8Array): {
  header: EntryHeader;
  metadata: TransactionMetadata;
  records: DecodedRecord[];
} {
  const header = decodeEntryHeader(bytes);
  const metaBytes = bytes.subarray(ENTRY_HEADER_SIZE, ENTRY_HEADER_SIZE + header.metaLength);
  const metadata =
    header.metaLength === 0
      ? { note: '', user: '', meta: {} }
      : (JSON.parse(decoder.decode(metaBytes)) as {
          note: string;
          user: string;
          meta: Record<string, unknown>;
        });
  const records: DecodedRecord[] = [];
  let at = ENTRY_HEADER_SIZE + header.metaLength;
  for (let i = 0; i < header.recordCount; i++) {
    records.push(decodeRecord(bytes.subarray(at)));
    at += viewOf(bytes).getUint32(at, true);
  }
  return { header, metadata, records };
}

/** A record from bytes starting at its first byte (as many as its length says, at least). */
export function decodeRecord(bytes: Uint8Array): DecodedRecord {
  const view = viewOf(bytes);
  const size = view.getUint32(0, true);
  if (size < RECORD_HEADER_SIZE || size > bytes.byteLength) {
    throw new CorruptStorageError(
      `A record claims ${size} bytes where ${bytes.byteLength} remain.`,
    );
  }
  const nameLength = view.getUint16(32, true);
  const stateLength = view.getUint32(34, true);
  const refCount = view.getUint32(38, true);
  if (RECORD_HEADER_SIZE + nameLength + stateLength + 8 * refCount !== size) {
    throw new CorruptStorageError("A record's field lengths do not add up to its length.");
  }
  const nameStart = RECORD_HEADER_SIZE;
  const stateStart = nameStart + nameLength;
  const refs = new Array<number>(refCount);
  for (let i = 0; i < refCount; i++) refs[i] = getU64(view, stateStart + stateLength + 8 * i);
  return {
    offset: view.getUint32(4, true),
    oid: getU64(view, 8),
    tid: getU64(view, 16),
    prev: getU64(view, 24),
    className: decoder.decode(bytes.subarray(nameStart, stateStart)),
    // A view, not a copy: every caller reads records from a buffer of its own (BlockFile.read
    // returns fresh bytes), and the state is copied once more where it leaves the worker.
    state: bytes.subarray(stateStart, stateStart + stateLength),
    refs,
  };
}

// ─── manifest ─────────────────────────────────────────────────────────────

export function encodeManifest(manifest: Manifest): Uint8Array {
  const json = encoder.encode(JSON.stringify(manifest));
  const bytes = new Uint8Array(MANIFEST_HEADER_SIZE + json.byteLength);
  bytes.set(ascii(MANIFEST_MAGIC), 0);
  const view = viewOf(bytes);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, json.byteLength, true);
  view.setUint32(16, crc32(json), true);
  bytes.set(json, MANIFEST_HEADER_SIZE);
  return bytes;
}

/**
 * The manifest in a slot, or undefined when the slot is empty or torn (a crash while writing it:
 * the other slot is then current). A slot that is not a shelfdb manifest at all is an error.
 */
export function decodeManifest(bytes: Uint8Array, file: string): Manifest | undefined {
  // A write torn by a crash leaves a prefix of the slot and zeros (or nothing) after it.
  for (let i = 0; i < Math.min(MANIFEST_MAGIC.length, bytes.byteLength); i++) {
    if (bytes[i] === MANIFEST_MAGIC.charCodeAt(i)) continue;
    if (bytes.subarray(i).every((b) => b === 0)) return undefined;
    throw new CorruptStorageError(
      `${file} is not a shelfdb manifest. The directory was left untouched.`,
    );
  }
  if (bytes.byteLength < MANIFEST_HEADER_SIZE) return undefined;
  const view = viewOf(bytes);
  const version = view.getUint32(8, true);
  const length = view.getUint32(12, true);
  if (version === 0 || length === 0 || MANIFEST_HEADER_SIZE + length > bytes.byteLength)
    return undefined;
  const json = bytes.subarray(MANIFEST_HEADER_SIZE, MANIFEST_HEADER_SIZE + length);
  if (crc32(json) !== view.getUint32(16, true)) return undefined;
  // Whole and intact: a version this code does not read is an error, not a torn write.
  if (version !== FORMAT_VERSION) {
    throw new CorruptStorageError(
      `${file} has format version ${version}; this shelfdb reads version ${FORMAT_VERSION}. Open it with the shelfdb version that wrote it. The directory was left untouched.`,
    );
  }
  try {
    return JSON.parse(decoder.decode(json)) as Manifest;
  } catch (error) {
    throw new CorruptStorageError(`${file}: the manifest passes its checksum but is not JSON.`, {
      cause: error,
    });
  }
}

// ─── index checkpoint ─────────────────────────────────────────────────────

export function encodeIndexHeader(count: number): Uint8Array {
  const bytes = new Uint8Array(INDEX_HEADER_SIZE);
  bytes.set(ascii(INDEX_MAGIC), 0);
  const view = viewOf(bytes);
  view.setUint32(8, FORMAT_VERSION, true);
  setU64(view, 16, count);
  return bytes;
}

/** @returns the entry count. @throws CorruptStorageError */
export function checkIndexHeader(bytes: Uint8Array, file: string): number {
  if (!hasMagic(bytes, INDEX_MAGIC) || bytes.byteLength < INDEX_HEADER_SIZE) {
    throw new CorruptStorageError(`${file} is not a shelfdb index checkpoint.`);
  }
  return getU64(viewOf(bytes), 16);
}

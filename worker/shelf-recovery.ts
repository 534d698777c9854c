/**
 * Reading a segment forward at open, and what to do with damage (ShelfStorage's recovery): a torn
 * tail — nothing valid after the damage — is cut off; damage with intact transactions after it is a
 * CorruptStorageError naming file and offset, unless `recover` is set, which overwrites the damaged
 * span with a filler entry of the same length (so no position after it moves) and reports it.
 *
 * After damage, the scan looks for the next valid entry byte by byte. Only an entry the log wrote
 * at that very position can pass there (its checksum covers its position, shelf-format.ts 2.), so
 * entry-shaped bytes inside a record's state (an exported log kept as data) are never taken for
 * log entries: they are part of the damaged span, cut off or dropped with it.
 */
import { CorruptStorageError } from '../src/shared/errors.js';
import type { RecoveryReport } from '../src/shared/storage.js';
import type { BlockFile } from './block-file.js';
import {
  ENTRY_HEADER_SIZE,
  ENTRY_TRAILER_SIZE,
  KIND_FILLER,
  encodeEntry,
  entryChecksum,
  entryIsValid,
  position,
  recordLength,
} from './shelf-format.js';

/** Calls `apply` for each valid entry of `file` from `start`, dealing with damage as above. */
export function scanSegment(
  file: BlockFile,
  segment: number,
  name: string,
  start: number,
  options: { recover: boolean; last: boolean },
  apply: (entry: Uint8Array, offset: number) => void,
  report: RecoveryReport,
): void {
  const size = file.size();
  let off = start;
  while (off < size) {
    const head = file.read(off, 4);
    const length = head.byteLength === 4 ? recordLength(head) : 0;
    const bytes =
      length >= ENTRY_HEADER_SIZE + ENTRY_TRAILER_SIZE && off + length <= size
        ? file.read(off, length)
        : undefined;
    if (bytes !== undefined && entryIsValid(bytes, position(segment, off))) {
      apply(bytes, off);
      off += length;
      continue;
    }
    const next = findNextEntry(file, segment, off + 1, size);
    if (next === undefined) {
      if (!options.last && !options.recover) {
        throw new CorruptStorageError(
          `${name} is damaged at byte ${off} (a segment before the last). Open with { recover: true } to keep every readable transaction.`,
        );
      }
      report.truncated.push({ file: name, offset: off, length: size - off });
      file.truncate(off);
      file.flush();
      return;
    }
    if (!options.recover) {
      throw new CorruptStorageError(
        `${name} is damaged at byte ${off}: the transaction there fails its checksum and intact transactions follow. Nothing was changed. Open with { recover: true } to keep every readable transaction and drop the damaged one.`,
      );
    }
    const span = next - off;
    file.write(off, encodeFiller(span, position(segment, off)));
    file.flush();
    report.dropped.push({ file: name, offset: off, length: span });
    off = next;
  }
}

/** A filler entry of exactly `length` bytes, standing at `pos` where a damaged span was. */
function encodeFiller(length: number, pos: number): Uint8Array {
  const base = encodeEntry(
    { kind: KIND_FILLER, tid: 0, time: 0, nextOid: 0, records: [] },
    pos,
  ).bytes;
  if (length < base.byteLength) {
    throw new CorruptStorageError(
      `A damaged span of ${length} bytes is too short to mark as dropped.`,
    );
  }
  const bytes = new Uint8Array(length);
  bytes.set(base.subarray(0, ENTRY_HEADER_SIZE));
  const view = new DataView(bytes.buffer);
  view.setUint32(0, length, true);
  view.setUint32(length - 8, entryChecksum(bytes, length, pos), true);
  view.setUint32(length - 4, length, true);
  return bytes;
}

/** The offset of the first entry at or after `from` valid where it stands, or undefined. */
function findNextEntry(
  file: BlockFile,
  segment: number,
  from: number,
  size: number,
): number | undefined {
  const rest = file.read(from, size - from);
  const view = new DataView(rest.buffer, rest.byteOffset, rest.byteLength);
  for (let i = 0; i + ENTRY_HEADER_SIZE + ENTRY_TRAILER_SIZE <= rest.byteLength; i++) {
    const length = view.getUint32(i, true);
    if (length < ENTRY_HEADER_SIZE + ENTRY_TRAILER_SIZE || i + length > rest.byteLength) continue;
    if (view.getUint32(i + length - 4, true) !== length) continue;
    if (entryIsValid(rest.subarray(i, i + length), position(segment, from + i))) return from + i;
  }
  return undefined;
}

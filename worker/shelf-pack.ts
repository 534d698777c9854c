/**
 * Pack for ShelfStorage: marks from the root over the stored `refs` (state is never decoded),
 * copies the revisions still needed into a new segment, transaction by transaction (tids, times and
 * metadata kept; `prev` positions rewritten), writes an index checkpoint for it, publishes a new
 * manifest, and deletes the old files. A crash before the manifest is written leaves the old
 * database current (the new files are leftovers, deleted at the next open); after it, the new one.
 *
 * A failure before the manifest (a full disk, most likely) closes and removes the new files and
 * leaves the storage exactly as it was: the in-memory index is replaced only after the manifest
 * naming the new one is published.
 *
 * The storage stops while it copies: reads and commits wait for the pack to finish.
 */
import type { PackResult, Tid } from '../src/shared/storage.js';
import type { BlockFile } from './block-file.js';
import {
  KIND_TRANSACTION,
  PREV_PACKED,
  SEGMENT_HEADER_SIZE,
  decodeEntry,
  encodeEntry,
  encodeSegmentHeader,
  indexName,
  position,
  recordLength,
  segmentName,
  type EntryRecord,
} from './shelf-format.js';
import { ShelfIndex } from './shelf-index.js';
import type { ShelfStorage } from './shelf-storage.js';
import { markFromRoot } from './reachability.js';

/** Write the new segment in chunks of about this size. */
const CHUNK = 4 << 20;

export async function packShelf(s: ShelfStorage, keep: Tid): Promise<PackResult> {
  const segment = Math.max(...s.log.manifest.segments) + 1;
  const generation = s.log.manifest.generation + 1;
  const made: [BlockFile, string][] = [];
  let published = false;
  try {
    const out = await s.log.dir.open(segmentName(segment));
    made.push([out, segmentName(segment)]);
    const indexFile = await s.log.dir.open(indexName(generation));
    made.push([indexFile, indexName(generation)]);
    const result = copyAndPublish(s, keep, segment, generation, out, indexFile);
    published = true;
    // The old files are garbage now; what cannot be removed is removed at the next open.
    for (const name of result.oldFiles) await s.log.removeLeftover(name);
    return result.result;
  } catch (error) {
    if (!published) for (const [file, name] of made) await s.log.discard(file, name);
    throw error;
  }
}

/** Mark, copy, write the index and publish: synchronous, so no commit interleaves. */
function copyAndPublish(
  s: ShelfStorage,
  keep: Tid,
  segment: number,
  generation: number,
  out: BlockFile,
  indexFile: BlockFile,
): { result: PackResult; oldFiles: string[] } {
  s.flushNow();
  let bytesBefore = 0;
  for (const file of s.log.segments.values()) bytesBefore += file.size();

  // 1. Mark: the revisions each reachable object still needs, from the root over their refs.
  const keepPositions = new Set<number>();
  const { live } = markFromRoot((oids) => {
    const found = new Map<number, number[]>();
    for (const oid of oids) {
      let pos = s.index.get(oid);
      if (pos === 0) continue;
      const refs: number[] = [];
      found.set(oid, refs);
      while (pos > PREV_PACKED) {
        const record = s.readRecord(pos, oid);
        keepPositions.add(pos);
        refs.push(...record.refs);
        if (record.tid <= keep) break;
        pos = record.prev;
      }
    }
    return found;
  });

  // 2. Copy: every transaction in log order, keeping only the needed records.
  const moved = new Map<number, number>(); // old position → new position
  const newIndex = new Map<number, number>();
  out.truncate(0);
  out.write(0, encodeSegmentHeader(segment));
  let end = SEGMENT_HEADER_SIZE;
  let chunk: Uint8Array[] = [];
  let chunkStart = end;
  let chunkSize = 0;
  let revisionsKept = 0;
  let revisionsSeen = 0;
  for (const n of s.log.manifest.segments) {
    const file = s.log.segments.get(n) as BlockFile;
    const size = n === s.log.active ? s.log.end : file.size();
    let off = SEGMENT_HEADER_SIZE;
    while (off < size) {
      const length = recordLength(file.read(off, 4));
      const bytes = file.read(off, length);
      const entryPos = position(n, off);
      off += length;
      if (bytes[4] !== KIND_TRANSACTION) continue;
      const { header, metadata, records } = decodeEntry(bytes);
      revisionsSeen += records.length;
      const kept: EntryRecord[] = [];
      const keptOld: number[] = [];
      for (const r of records) {
        const oldPos = entryPos + r.offset;
        if (!keepPositions.has(oldPos)) continue;
        const prev = r.prev > PREV_PACKED ? (moved.get(r.prev) ?? PREV_PACKED) : r.prev;
        kept.push({ oid: r.oid, className: r.className, state: r.state, refs: r.refs, prev });
        keptOld.push(oldPos);
      }
      const entry = encodeEntry(
        {
          kind: KIND_TRANSACTION,
          tid: header.tid,
          time: header.time,
          nextOid: header.nextOid,
          metadata,
          records: kept,
        },
        position(segment, end),
      );
      kept.forEach((r, i) => {
        const newPos = position(segment, end + (entry.recordOffsets[i] as number));
        moved.set(keptOld[i] as number, newPos);
        newIndex.set(r.oid, newPos);
      });
      revisionsKept += kept.length;
      chunk.push(entry.bytes);
      chunkSize += entry.bytes.byteLength;
      end += entry.bytes.byteLength;
      if (chunkSize >= CHUNK) {
        writeChunk(out, chunkStart, chunk, chunkSize);
        chunk = [];
        chunkStart = end;
        chunkSize = 0;
      }
    }
  }
  writeChunk(out, chunkStart, chunk, chunkSize);
  out.flush();

  // 3. Index checkpoint and manifest: the new database becomes current.
  const objectsBefore = s.index.objects;
  const index = new ShelfIndex();
  index.replace(newIndex);
  const objects = index.write(indexFile, s.nextOidReserved);
  const oldFiles = s.log.manifest.segments.map(segmentName);
  if (s.log.manifest.checkpoint !== null) oldFiles.push(s.log.manifest.checkpoint.file);
  const time = Date.now();
  s.log.publish({
    generation,
    segments: [segment],
    checkpoint: {
      file: indexName(generation),
      end: position(segment, end),
      tid: s.lastTid,
      nextOid: s.nextOidReserved,
      objects,
    },
    lastPack: time,
    checkpointTransactions: s.transactionCount,
    checkpointGarbage: 0,
  });
  index.adopt(indexFile, indexName(generation), objects);
  s.adoptPackedSegment(segment, out, end, index);
  return {
    oldFiles,
    result: {
      objectsRemoved: objectsBefore - live.size,
      revisionsRemoved: revisionsSeen - revisionsKept,
      bytesBefore,
      bytesAfter: end,
      time,
    },
  };
}

function writeChunk(file: BlockFile, at: number, parts: Uint8Array[], size: number): void {
  if (size === 0) return;
  const buffer = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    buffer.set(p, o);
    o += p.byteLength;
  }
  file.write(at, buffer);
}

/**
 * exportTree: an object and what it owns, as a tree archive (design15 "The tree archive"): SNARF
 * entries `shelfdb-archive.json` (the header), then per object a BTree's item pages
 * (`objects/<id>.page-<n>.json`) and its entry (`objects/<id>.json`), then the end entry. A Blob's
 * record (class shelfdb.Blob) is an object of the tree, always inside with its owner; its blob
 * file goes just before its entry as `blobs/<hash>` (once per hash, streamed), and the header says
 * version 2 (TREE_BLOB_VERSION) then, 1 for a tree without blobs.
 *
 * The stream is pull-based and does its work as it is read, in two passes over records at one
 * snapshot (the connection's, kept pinned by a read-only connection at that tid for the whole
 * export, so commits and packs going on meanwhile change nothing of what is read):
 * 1. boundary.ts finds the oids inside (the header lists every id, so it comes first);
 * 2. the objects are loaded again in batches and written one entry at a time.
 * Memory: the oids inside and one batch of records, never the archive: a BTree of any size goes
 * out a page at a time.
 */
import { Database } from '../database.js';
import type { Connection } from '../connection.js';
import { Persistent } from '../persistent.js';
import { ShelfError } from '../shared/errors.js';
import type { Tid } from '../shared/storage.js';
import { findBoundary, type Boundary } from './boundary.js';
import { canonicalJson } from './canonical-json.js';
import { EntryText } from './entry-text.js';
import { renderRecord } from './object-entry.js';
import { snapshotReader, type SnapshotReader } from './snapshot-reader.js';
import { BLOB_CLASS, decodeBlobRecord } from '../shared/blob-record.js';
import { blobChunks, blobEntryPath } from './backup-blobs.js';
import { writeArchive, type ArchiveEntry, type StreamedEntry } from './snarf.js';
import { TREE_BLOB_VERSION, TREE_FORMAT, TREE_HEADER, TREE_VERSION } from './tree-format.js';

export type { Boundary, ObjectRef } from './boundary.js';

/** Options of `exportTree`. */
export interface ExportTreeOptions {
  /**
   * Which references the export follows: 'owned' (default: containers, and what containers and
   * BTrees hold), 'reachable' (every reference), or a function `(ref, from) => boolean` asked for
   * each reference met in an object inside. A reference not followed is written as external
   * (`{ "$ext": oid, "class": … }`).
   */
  boundary?: Boundary;
  /** Compress the whole archive with gzip. */
  gzip?: boolean;
  /** Stops the export: the stream errors with the signal's reason and reads nothing more. */
  signal?: AbortSignal;
}

/**
 * An archive of `start` and what it owns (see ExportTreeOptions.boundary), as read at the
 * connection's snapshot (a historical connection, `db.open({ at })`, exports the past). Returns
 * at once: the work happens as the stream is read, and its errors are the stream's (the read
 * rejects). `start` may be a ghost or an oid. The committed state is exported: changes not yet
 * committed are not in it.
 * @throws (as the stream's error) ShelfError when `start` was never committed (commit first), has
 *   no revision at the snapshot, belongs to another database, or is a BTree node; RangeError for an
 *   oid that is not a non-negative integer; TypeError for a bad `boundary`; ReadConflictError when
 *   pack removed what the snapshot reads; the signal's reason once it aborts.
 * @example
 * const stream = exportTree(conn, project, { gzip: true });
 * await stream.pipeTo(fileWritable); // or: new Response(stream).blob() for a download
 */
export function exportTree(
  conn: Connection,
  start: Persistent | number,
  options: ExportTreeOptions = {},
): ReadableStream<Uint8Array> {
  const { signal } = options;
  const stream = writeArchive(treeEntries(conn, start, options), {
    gzip: options.gzip === true,
  });
  return signal === undefined ? stream : abortable(stream, signal);
}

/** The archive's entries, made as they are asked for. */
async function* treeEntries(
  conn: Connection,
  start: Persistent | number,
  options: ExportTreeOptions,
): AsyncGenerator<ArchiveEntry | StreamedEntry> {
  const { signal } = options;
  signal?.throwIfAborted();
  const { host } = conn.archiveAccess;
  const startOid = startOidOf(conn, start);
  if (conn.snapshotTid === undefined) await conn.sync();
  const tid = conn.snapshotTid as Tid;
  // An ordinary connection's snapshot moves with others' commits (autoSync) and its pin with it:
  // a read-only connection at the export's tid keeps pack from removing what the export reads.
  const pin =
    conn.at === undefined && host instanceof Database ? host.open({ at: tid }) : undefined;
  try {
    const reader = checkedReader(snapshotReader(host.storage, tid), signal);
    const text = new EntryText();
    const blobsWritten = new Set<string>();
    const found = await findBoundary(reader, startOid, options.boundary ?? 'owned');
    const inside = new Set(found.oids);
    const idOf = (oid: number): string | undefined => (inside.has(oid) ? String(oid) : undefined);
    const { storage: kind } = await host.storage.stats();
    yield text.entry(TREE_HEADER, {
      format: TREE_FORMAT,
      version: found.blobRecords > 0 ? TREE_BLOB_VERSION : TREE_VERSION,
      kind: 'tree',
      created: Date.now(),
      snapshot: tid,
      start: String(startOid),
      entries: found.oids.map(String),
      counts: { objects: found.oids.length, btreeItems: found.btreeItems },
      source: { storage: kind },
    });
    for (let at = 0; at < found.oids.length; at += reader.batchSize) {
      const batch = found.oids.slice(at, at + reader.batchSize);
      const records = await reader.load(batch);
      if (records.length !== batch.length) {
        const got = new Set(records.map((r) => r.oid));
        const lost = batch.filter((oid) => !got.has(oid));
        throw new ShelfError(
          `exportTree: object ${lost.join(', ')} had a revision at transaction ${tid} and then had none: the storage lost it while the export read it. Run db.verify(). Nothing usable was written; export again.`,
        );
      }
      // One object at a time, rendered, hashed and written before the next is decoded: what an
      // entry allocates dies young (a batch's states held until all were hashed outlived the
      // young generation and made the collector copy them).
      for (const record of records) {
        if (record.className === BLOB_CLASS) {
          // Its blob file first, once per hash, streamed from storage a chunk at a time.
          const { hash, size } = decodeBlobRecord(record.state);
          if (!blobsWritten.has(hash)) {
            blobsWritten.add(hash);
            const where = `blob ${hash} (object ${record.oid})`;
            yield {
              path: blobEntryPath(hash),
              size,
              chunks: blobChunks(host.storage, hash, size, where),
            };
          }
        }
        const object = renderRecord(reader, record, idOf);
        if (!object.isBTree) {
          yield await text.objectEntry(object, undefined);
          continue;
        }
        const hashes: string[] = [];
        for await (const page of object.pages()) {
          hashes.push(await text.hash(canonicalJson(page)));
          yield text.entry(`objects/${object.id}.page-${hashes.length - 1}.json`, page);
        }
        yield await text.objectEntry(object, hashes);
      }
    }
  } finally {
    pin?.close();
  }
}

/** The oid of the start object, checked. */
function startOidOf(conn: Connection, start: Persistent | number): number {
  if (typeof start === 'number') {
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new RangeError(
        `exportTree: ${String(start)} is not an oid (a non-negative integer). Pass a stored object or its oid.`,
      );
    }
    return start;
  }
  if (!(start instanceof Persistent)) {
    throw new TypeError(
      `exportTree: the start must be a persistent object or an oid, got ${start === null ? 'null' : typeof start}.`,
    );
  }
  const oid = start._p_oid;
  if (oid === undefined) {
    throw new ShelfError(
      `exportTree: the ${start.constructor.name} to export was never committed (it has no oid). Commit it first (await conn.commit()), then export it.`,
    );
  }
  const owner = start._p_connection;
  if (owner !== undefined && owner !== conn && isOtherDatabase(owner, conn)) {
    throw new ShelfError(
      `exportTree: ${start.constructor.name} ${oid} belongs to another database than the connection's. Export it through a connection of its own database.`,
    );
  }
  return oid;
}

/** True when `owner` (an object's connection) is a connection of another database than `conn`'s. */
function isOtherDatabase(owner: unknown, conn: Connection): boolean {
  const access = (owner as Partial<Connection>).archiveAccess;
  return access !== undefined && access.host !== conn.archiveAccess.host;
}

/** `reader`, refusing to load once `signal` aborted (pass 1 of a large tree is one long step). */
function checkedReader(reader: SnapshotReader, signal: AbortSignal | undefined): SnapshotReader {
  if (signal === undefined) return reader;
  return {
    storage: reader.storage,
    tid: reader.tid,
    batchSize: reader.batchSize,
    decoder: reader.decoder,
    load(oids) {
      signal.throwIfAborted();
      return reader.load(oids);
    },
  };
}

/**
 * `stream`, erroring with the signal's reason as soon as it aborts (a read waiting on a long step
 * rejects at once) and cancelling `stream`, which ends the entries' iteration (the pin closes).
 */
function abortable(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let stop: (() => void) | undefined;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stop = () => {
          controller.error(signal.reason);
          // The stream already errored with the reason; cancelling only ends the work.
          reader.cancel(signal.reason).catch(() => undefined); // nothing waits for it
        };
        if (signal.aborted) stop();
        else signal.addEventListener('abort', stop, { once: true });
      },
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          signal.removeEventListener('abort', stop as () => void);
          throw error;
        }
        const { done, value } = next;
        if (signal.aborted) return; // errored by `stop` meanwhile
        if (done) {
          signal.removeEventListener('abort', stop as () => void);
          controller.close();
        } else controller.enqueue(value);
      },
      async cancel(reason) {
        signal.removeEventListener('abort', stop as () => void);
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * That every `$blob` marker of an archive names the same blob (hash and size) as the blob record
 * its `record` references — a `$ref` to a blob record entry of the archive, or an `$ext` to one in
 * the database — checked as the archive is read (tree-archive.ts), so check, commit and importCopy
 * all refuse a disagreement before anything is written.
 *
 * Why it matters: the page reads a Blob's bytes by its tag's hash (what the marker becomes), while
 * pack keeps the blob files that live blob RECORDS name. An owner whose tag says H1 while its
 * record says H2 reads H1's bytes, and once nothing else names H1 a pack (past the grace) removes
 * H1's file: the blob is lost, with nothing to say so until it is read. A size that disagrees makes
 * the page's Blob lie about its length (slices and streams read past or short of the file).
 *
 * Type, name and lastModified may differ, on purpose: they are the tag's, what the page shows (a
 * StoredFile's name, the type blobPath and `file()` use), while the storage reads only a record's
 * hash and size (pack, verify, the commit's check that the file is stored with that size). A
 * difference there loses no byte, and renaming a File or fixing its type in a checkout is an edit
 * a person means: the marker's are written into the tag, the record (immutable, and possibly
 * shared by several owners) keeps its own.
 *
 * Memory: per blob record entry its hash and size (a marker usually comes before its record: an
 * export lists owners before what they own), and the markers waiting for their record's entry.
 */
import { BLOB_CLASS, decodeBlobRecord } from '../shared/blob-record.js';
import { CorruptStorageError } from '../shared/errors.js';
import { blobFromJson } from './blob-json.js';
import type { Json, JsonObject } from './json-markers.js';
import type { SnapshotReader } from './snapshot-reader.js';

/** A `$blob` marker as read: where it is, the blob it names, and its record's reference. */
interface Marker {
  /** The path of the entry (or BTree page) it is in. */
  path: string;
  hash: string;
  size: number;
}

/** What a blob record says of its blob, and where it is. */
interface RecordFacts {
  /** `objects/<id>.json`, or `object <oid> in the database (shelfdb.Blob)`. */
  where: string;
  /** As the record's JSON has them: checked only for equality with the marker's. */
  hash: unknown;
  size: unknown;
}

/** The most disagreements an error names (each after the first is one line). */
const NAMED_AT_MOST = 5;

/** The `$blob` markers and blob records of one reading of a tree archive. */
export class BlobAgreement {
  /** The blob record entries read, by archive id. */
  private readonly records = new Map<string, RecordFacts>();
  /** Markers whose `$ref` names an entry not read yet, by that id. */
  private readonly waiting = new Map<string, Marker[]>();
  /** Markers whose record is an `$ext`, by its oid. */
  private readonly external = new Map<number, Marker[]>();
  private readonly problems: string[] = [];
  private problemCount = 0;

  /**
   * Notes a `$blob` marker met in the entry (or page) at `path`; `came(id)` says whether the entry
   * of archive id `id` was read already. Its `record` was checked by the caller's walk.
   * @throws CorruptStorageError naming the entry when the marker is malformed.
   */
  marker(json: JsonObject, path: string, came: (id: string) => boolean): void {
    const blob = blobFromJson(
      json,
      (record) => record,
      (problem) =>
        new CorruptStorageError(
          `Archive entry ${path}: a $blob marker is malformed: ${problem}. Fix the entry or check out (export) again. Nothing was written.`,
        ),
    );
    const ref = blob.record as { $ref?: unknown; $ext?: unknown };
    const marker: Marker = { path, hash: blob.hash, size: blob.size };
    if (typeof ref.$ref === 'string') {
      const id = ref.$ref;
      const record = this.records.get(id);
      if (record !== undefined) this.compare(marker, record);
      else if (came(id)) this.notBlob(marker, `objects/${id}.json`, undefined);
      else push(this.waiting, id, marker);
    } else if (typeof ref.$ext === 'number') {
      push(this.external, ref.$ext, marker);
    }
  }

  /** Notes the entry of archive id `id` (any class): the markers waiting for it are compared. */
  entry(id: string, className: string, state: JsonObject, path: string): void {
    let record: RecordFacts | undefined;
    if (className === BLOB_CLASS) {
      record = { where: path, hash: state.hash, size: state.size };
      this.records.set(id, record);
    }
    const waiting = this.waiting.get(id);
    if (waiting === undefined) return;
    this.waiting.delete(id);
    for (const marker of waiting) {
      if (record === undefined) this.notBlob(marker, path, className);
      else this.compare(marker, record);
    }
  }

  /**
   * Compares the markers whose record is an `$ext` with the records `reader` loads (an oid with no
   * revision is left to the check of externals, which refuses it), then refuses every
   * disagreement found.
   * @throws CorruptStorageError naming the first few disagreements and what to do.
   */
  async finish(reader: SnapshotReader | undefined): Promise<void> {
    if (reader !== undefined && this.external.size > 0) {
      for (const record of await reader.load([...this.external.keys()])) {
        const markers = this.external.get(record.oid) ?? [];
        const where = `object ${record.oid} in the database`;
        if (record.className !== BLOB_CLASS) {
          for (const marker of markers) this.notBlob(marker, where, record.className);
          continue;
        }
        const { hash, size } = decodeBlobRecord(record.state);
        const facts = { where: `${where} (a ${BLOB_CLASS})`, hash, size };
        for (const marker of markers) this.compare(marker, facts);
      }
    }
    this.external.clear();
    const [first, ...rest] = this.problems;
    if (first === undefined) return;
    const more = this.problemCount - this.problems.length;
    throw new CorruptStorageError(
      [first, ...rest, ...(more > 0 ? [`and ${more} more such $blob markers.`] : [])].join('\n'),
    );
  }

  /**
   * The markers in `json` (a state or value a merge function answered for the entry at `path`)
   * checked against the blob records this reading met (`$ref`) or the database holds (`$ext`).
   * @throws CorruptStorageError as `finish` does.
   */
  async checkJson(json: Json, path: string, reader: SnapshotReader): Promise<void> {
    const check = new BlobAgreement();
    for (const [id, record] of this.records) check.records.set(id, record);
    eachMarker(json, (marker) => check.marker(marker, path, () => true));
    await check.finish(reader);
  }

  private compare(marker: Marker, record: RecordFacts): void {
    if (marker.hash === record.hash && marker.size === record.size) return;
    const hash = typeof record.hash === 'string' ? record.hash : show(record.hash);
    const size = typeof record.size === 'number' ? String(record.size) : show(record.size);
    const harm =
      marker.hash === record.hash
        ? "The page's Blob would say a size its file does not have"
        : "The page would read the marker's blob while pack keeps the record's, so the blob would be lost";
    this.problem(
      `Archive entry ${marker.path}: a $blob marker names blob ${marker.hash} (${marker.size} bytes), but its "record", ${record.where}, names blob ${hash} (${size} bytes). ${harm}. Edit both to name the same blob (the marker's "$blob" and "size", the record's "hash" and "size"), or check out (export) again and redo the edit. Nothing was written.`,
    );
  }

  private notBlob(marker: Marker, where: string, className: string | undefined): void {
    const what = className === undefined ? '' : `, a ${className},`;
    this.problem(
      `Archive entry ${marker.path}: the "record" of the $blob marker of blob ${marker.hash} is ${where}${what} which is not a ${BLOB_CLASS} record: a Blob's "record" must reference the blob record of its blob. Point it at that record (check out (export) again to see it). Nothing was written.`,
    );
  }

  private problem(text: string): void {
    this.problemCount += 1;
    if (this.problems.length < NAMED_AT_MOST) this.problems.push(text);
  }
}

/**
 * Refuses an archive entry that would rewrite the live blob record `live` (the revision the
 * database holds at the entry's oid) to name another blob, or to be no blob record: a blob record
 * is never changed, because its owners are not all in the archive (a StoredBlob put into another
 * object shares its record) nor all written by the commit (a conflict kept live), and each owner
 * reads the blob its own tag names while pack keeps the one the record names. `className` and
 * `state` are what the commit would write (the entry's, or a merge function's answer).
 * @throws CorruptStorageError naming the entry, both blobs and what to do. Nothing is written.
 */
export function checkRecordKept(
  path: string,
  live: { oid: number; className: string; state: Uint8Array } | undefined,
  className: string,
  state: JsonObject,
): void {
  if (live === undefined || live.className !== BLOB_CLASS) return;
  const { hash, size } = decodeBlobRecord(live.state);
  if (className === BLOB_CLASS && state.hash === hash && state.size === size) return;
  const now =
    className === BLOB_CLASS
      ? `name blob ${typeof state.hash === 'string' ? state.hash : show(state.hash)} (${typeof state.size === 'number' ? String(state.size) : show(state.size)} bytes)`
      : `be a ${className}`;
  throw new CorruptStorageError(
    `Archive entry ${path}: it would change blob record ${live.oid}, which names blob ${hash} (${size} bytes), to ${now}. A blob record is never changed: its owners (some perhaps outside the archive, or kept live) read the blob their own tag names while pack keeps the one the record names, so their bytes would be lost. To give an owner another blob, point its $blob marker's "record" at a new blob record entry (one without "oid") or at that blob's record ({"$ext": <oid>, "class": "${BLOB_CLASS}"}), and leave this entry as exported. Nothing was written.`,
  );
}

/** Calls `visit` with each `$blob` marker in `json` (markers in a marker's keys included). */
function eachMarker(json: Json, visit: (marker: JsonObject) => void): void {
  if (Array.isArray(json)) {
    for (const item of json) eachMarker(item, visit);
    return;
  }
  if (typeof json !== 'object' || json === null) return;
  if ('$blob' in json) visit(json);
  for (const key of Object.keys(json)) eachMarker(json[key] as Json, visit);
}

function push<K>(map: Map<K, Marker[]>, key: K, marker: Marker): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [marker]);
  // The same blob named again waits once: a record shared by many owners costs one marker each
  // only when they disagree among themselves.
  else if (!list.some((m) => m.hash === marker.hash && m.size === marker.size)) list.push(marker);
}

const show = (x: unknown): string => (x === undefined ? 'nothing' : JSON.stringify(x));

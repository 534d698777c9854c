/**
 * The upload-before-capture step of a commit, and what a database knows of the Blobs it stored.
 *
 * A commit captures its transaction synchronously (pending-commit.ts), but a Blob's bytes take time
 * to store. So before it captures, the commit finds the Blobs in the states it will write that are
 * not stored yet and hands each to `storage.putBlob` (which streams it into a blob file named by its
 * SHA-256, flushed before it answers), then collects again (the app may have changed objects
 * meanwhile) until none is new; only then does it capture, giving each Blob object not recorded
 * yet an oid and a blob record (src/shared/blob-record.ts).
 *
 * The BlobCatalog remembers, per database:
 * - `uploaded`: Blob → its hash and size, once putBlob answered. Blob files are content-addressed
 *   and putBlob is idempotent, so this is only a saving: a Blob stored once is not stored again by
 *   a later try of the same commit (after a conflict) or by another connection.
 * - `committed`: Blob → its tag's fields (its record's oid), once a commit that recorded it landed:
 *   the same Blob object committed again (in another object, or by a later commit) references
 *   that record instead of writing a new one. Only landed commits add here: a commit that fails
 *   forgets the oids it gave, so no later commit references a record that was never stored.
 * A StoredBlob loaded from this database is both already (its record's oid is in its tag).
 *
 * Pack removes a blob record nothing reachable references (and then its file). A Blob the app
 * still holds (a StoredBlob of a deleted object, or a Blob it committed) may be put back into an
 * object later: its record is gone, so `fieldsOf` no longer answers for it, and the commit stores
 * it anew (its bytes, if the app's Blob still has them; a StoredBlob whose file went fails the
 * commit with StorageError saying so). `seen` keeps the record oids this catalog handed out, so
 * only those of pack's removals are kept in `gone` (a pack may remove millions of other objects).
 *
 * The 'removed' announcement of another tab's pack may arrive after this tab committed such a Blob
 * again, referencing the old record: the commit names the records it references without carrying
 * them (`CommitRequest.blobRefs`), and the storage refuses it if one has no revision. A refused
 * commit (pending-commit.ts `undo`) makes those records `doubtful`: the next commit holding one of
 * their Blobs loads them first (one call) and, for each that is gone, stores the Blob anew.
 */
import { ShelfError } from './shared/errors.js';
import type { BlobInfo, Storage, StoredRecord } from './shared/storage.js';
import { BLOB_CLASS, encodeBlobRecord } from './shared/blob-record.js';
import type { BlobTagFields } from './blob-tag.js';
import { isWhole, storedBlobState, type BlobReader } from './stored-blob.js';

/** What a commit's blobs need before it can capture. */
export interface BlobPlan {
  /** Blobs whose bytes are not stored yet: `upload` them, then collect again. */
  upload: Blob[];
  /** Blobs stored but with no record yet: each gets an oid and a blob record at capture. */
  record: Blob[];
}

/** A database's Blobs: where their bytes are read, and which are stored and recorded. */
export class BlobCatalog implements BlobReader {
  private readonly uploaded = new WeakMap<Blob, BlobInfo>();
  private readonly committed = new WeakMap<Blob, Readonly<BlobTagFields>>();
  /** Blob record oids handed out here (decoded or recorded by a landed commit). */
  private readonly seen = new Set<number>();
  /** Those of them pack removed. */
  private readonly gone = new Set<number>();
  /** Those a refused commit referenced: pack may have removed them (`doubt`). */
  private readonly doubtful = new Set<number>();

  constructor(private readonly storage: Storage) {}

  /** Bytes of a blob file (StoredBlob reads through this). */
  readBlob(hash: string, start: number, end: number): Promise<Uint8Array> {
    return this.storage.readBlob(hash, start, end);
  }

  /** A blob file as a platform Blob (StoredBlob.file reads through this). */
  blobFile(hash: string): Promise<Blob> {
    return this.storage.blobFile(hash);
  }

  /**
   * The tag of a Blob that has a record in this database: a whole StoredBlob loaded from it, or a
   * Blob a landed commit recorded. Undefined for any other (a new Blob, a slice, another
   * database's StoredBlob: their bytes are stored anew).
   */
  fieldsOf(blob: Blob): Readonly<BlobTagFields> | undefined {
    const state = storedBlobState(blob);
    const fields =
      state === undefined
        ? this.committed.get(blob)
        : state.reader === this && isWhole(state) && blob.type === state.fields.type
          ? state.fields
          : undefined;
    return fields === undefined || this.gone.has(fields.oid) ? undefined : fields;
  }

  /** A blob record read from a state: pack's removal of it is noted (see `removed`). */
  decoded(fields: Readonly<BlobTagFields>): void {
    this.seen.add(fields.oid);
  }

  /** Pack removed these oids: the blob records among them are recorded no more. */
  removed(oids: Iterable<number>): void {
    for (const oid of oids) {
      if (this.seen.delete(oid)) this.gone.add(oid);
      this.doubtful.delete(oid);
    }
  }

  /**
   * A commit that referenced these blob records was refused: pack may have removed them (the
   * storage said so) or not (a conflict). The next `upload` of one of their Blobs finds out.
   */
  doubt(oids: Iterable<number>): void {
    for (const oid of oids) if (this.seen.has(oid)) this.doubtful.add(oid);
  }

  /**
   * Sorts the Blobs a commit will write (each once) by what they still need. A Blob whose record
   * is doubtful goes to `upload`, which checks the record first.
   */
  plan(blobs: Iterable<Blob>): BlobPlan {
    const plan: BlobPlan = { upload: [], record: [] };
    for (const blob of new Set(blobs)) {
      const fields = this.fieldsOf(blob);
      if (fields !== undefined && !this.doubtful.has(fields.oid)) continue;
      (fields === undefined && this.uploaded.has(blob) ? plan.record : plan.upload).push(blob);
    }
    return plan;
  }

  /**
   * Stores the bytes of `blobs`, one after another (each streamed by the storage). The doubtful
   * records of those that have one are loaded first: a Blob whose record is still stored needs
   * nothing; one whose record pack removed is stored anew (its bytes again: the file may be gone).
   * @throws StorageFullError when one does not fit (those stored before it stay remembered);
   *   StorageError for a StoredBlob whose record and blob file pack removed.
   */
  async upload(blobs: readonly Blob[]): Promise<void> {
    const stored = await this.settleDoubts(blobs);
    for (const blob of blobs) {
      if (stored.has(blob)) continue;
      // A StoredBlob is a JavaScript subclass whose bytes the platform cannot see (a structured
      // clone of it to the storage worker would carry none): its platform Blob is sent instead.
      const source = storedBlobState(blob) === undefined ? blob : await platformOf(blob);
      const info = await this.storage.putBlob(source);
      if (info.size !== blob.size) {
        throw new ShelfError(
          `A Blob of ${blob.size} bytes was stored as ${info.size} bytes (hash ${info.hash}): it changed while it was read (a File edited on disk?). Nothing was committed; commit again.`,
        );
      }
      this.uploaded.set(blob, info);
    }
  }

  /**
   * The tag of a Blob given record `oid` at capture (it must be uploaded).
   * @throws Error when it is not (a bug: `plan` puts it among `upload` then).
   */
  newFields(blob: Blob, oid: number): BlobTagFields {
    const info = this.uploaded.get(blob);
    if (info === undefined) throw new Error('shelfdb: capturing a Blob that was not stored');
    const file = typeof File !== 'undefined' && blob instanceof File;
    return {
      oid,
      hash: info.hash,
      size: info.size,
      type: blob.type,
      name: file ? blob.name : null,
      lastModified: file ? blob.lastModified : null,
    };
  }

  /**
   * Loads the doubtful records of `blobs`: each still stored is doubtful no more; each gone is
   * recorded no more (`gone`), and its Blob's upload forgotten.
   * @returns the Blobs whose records are still stored.
   */
  private async settleDoubts(blobs: readonly Blob[]): Promise<Set<Blob>> {
    const stored = new Set<Blob>();
    const asked = new Map<number, Blob[]>();
    for (const blob of blobs) {
      const oid = this.fieldsOf(blob)?.oid;
      if (oid === undefined || !this.doubtful.has(oid)) continue;
      const those = asked.get(oid);
      if (those === undefined) asked.set(oid, [blob]);
      else those.push(blob);
    }
    if (asked.size === 0) return stored;
    const found = new Set((await this.storage.load([...asked.keys()])).map((r) => r.oid));
    for (const [oid, those] of asked) {
      this.doubtful.delete(oid);
      if (found.has(oid)) {
        for (const blob of those) stored.add(blob);
        continue;
      }
      this.seen.delete(oid);
      this.gone.add(oid);
      this.forgetUploads(those);
    }
    return stored;
  }

  /** The commit that recorded `blobs` landed: later commits reference those records. */
  landed(blobs: ReadonlyMap<Blob, Readonly<BlobTagFields>>): void {
    for (const [blob, fields] of blobs) {
      this.committed.set(blob, fields);
      this.seen.add(fields.oid);
    }
  }

  /**
   * A commit carrying these Blobs was refused for a reason other than a conflict: their bytes are
   * stored again by the next try (the storage may have refused because a blob file was missing).
   */
  forgetUploads(blobs: Iterable<Blob>): void {
    for (const blob of blobs) this.uploaded.delete(blob);
  }
}

/** The blob record of a Blob with these tag fields. */
export function blobRecord(fields: BlobTagFields): StoredRecord {
  const { oid, hash, size, type, name } = fields;
  return {
    oid,
    className: BLOB_CLASS,
    state: encodeBlobRecord({ hash, size, type, name }),
    refs: [],
  };
}

/**
 * The plan of a commit's Blobs; with no catalog (a Serializer made without one, as tests do) a
 * commit that writes a Blob is refused.
 * @throws ShelfError when there are Blobs and no catalog.
 */
export function planBlobs(catalog: BlobCatalog | undefined, blobs: Blob[]): BlobPlan {
  if (catalog !== undefined) return catalog.plan(blobs);
  if (blobs.length === 0) return { upload: [], record: [] };
  throw new ShelfError(
    'This connection cannot store Blobs: its database has no blob catalog. Open it with new Database(storage) or openDatabase().',
  );
}

async function platformOf(blob: Blob): Promise<Blob> {
  const file = (blob as { file?: () => Promise<Blob> }).file;
  if (typeof file !== 'function') throw new Error('shelfdb: a StoredBlob without file()');
  return file.call(blob);
}

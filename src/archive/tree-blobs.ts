/**
 * The blob files of a tree archive as it is read (tree-archive.ts): each `blobs/<hash>` entry's
 * bytes are checked against its name as they pass (blob-entry-reader.ts) and, for commit and
 * import, stored (`putBlob`) then and there — a blob of any size is never held, and the commit that
 * comes after the whole archive was read finds it stored. A blob put from an archive refused later
 * (a damaged entry elsewhere) references nothing: pack removes it after BLOB_GRACE_MS.
 *
 * Every blob record entry (class shelfdb.Blob) names the blob it stands for; once the archive is
 * read, each must have come as a `blobs/<hash>` entry or be stored in the database already (a
 * checkout without its blob files, committed back where it came from), else the archive is refused
 * naming the record's entry and the missing blob.
 */
import { BLOB_CLASS, isBlobHash } from '../shared/blob-record.js';
import { CorruptStorageError } from '../shared/errors.js';
import type { Storage } from '../shared/storage.js';
import { BLOB_ENTRY } from './backup-blobs.js';
import { HashedBlob, putBlobEntry } from './blob-entry-reader.js';
import type { SnapshotReader } from './snapshot-reader.js';
import type { ArchiveEntry, StreamedEntry } from './snarf.js';

/** What the reader does with blob entries: check them only, or store them too. */
export interface TreeBlobOptions {
  /** The database's storage: where blobs are looked for, and stored when `put`. */
  storage: Storage;
  /** Store each blob entry as it is read (commit, import); check only when false (check). */
  put: boolean;
  /**
   * The database at the snapshot the archive is compared with: where the blob records that
   * `$blob` markers reference by `$ext` are read (blob-agreement.ts). Without it they are not
   * checked.
   */
  reader?: SnapshotReader;
}

const corrupt = (path: string, what: string): CorruptStorageError =>
  new CorruptStorageError(
    `Archive entry ${path}: ${what}. The archive is damaged or was edited by hand wrongly: fix the entry or export again. Nothing was written.`,
  );

/** The blob entries and blob records of one reading of a tree archive. */
export class TreeBlobs {
  /** The hashes of the blob entries read. */
  private readonly entries = new Set<string>();
  /** The hashes blob records name → the first record entry naming each. */
  private readonly named = new Map<string, string>();

  constructor(private readonly options: TreeBlobOptions | undefined) {}

  /** True for the path of a blob entry. */
  static isBlobPath(path: string): boolean {
    return BLOB_ENTRY.test(path);
  }

  /**
   * Reads a blob entry whole (a streamed one from an archive, or one a directory gave whole),
   * checking its bytes against its name, and stores it when asked to.
   * @throws CorruptStorageError naming the entry when its bytes do not hash to its name.
   */
  async entry(entry: ArchiveEntry | StreamedEntry): Promise<void> {
    const hash = (BLOB_ENTRY.exec(entry.path) as RegExpExecArray)[1] as string;
    const chunks = 'chunks' in entry ? entry.chunks : once(entry.bytes);
    const size = 'chunks' in entry ? entry.size : entry.bytes.byteLength;
    const blob = new HashedBlob(entry.path, hash, size, chunks, corrupt);
    if (this.options?.put === true) await putBlobEntry(this.options.storage, blob);
    else await blob.skipRest();
    this.entries.add(hash);
  }

  /**
   * Notes the blob a blob record's entry names (`state.hash`).
   * @throws CorruptStorageError naming the entry when it names no SHA-256.
   */
  note(path: string, className: string, state: Record<string, unknown>): void {
    if (className !== BLOB_CLASS) return;
    const { hash } = state;
    if (!isBlobHash(hash)) {
      throw corrupt(
        path,
        `a ${BLOB_CLASS} whose "hash" is not a SHA-256 (${JSON.stringify(hash)})`,
      );
    }
    if (!this.named.has(hash)) this.named.set(hash, path);
  }

  /**
   * @throws CorruptStorageError naming a blob record's entry whose blob neither came as an entry
   *   nor is stored in the database.
   */
  async checkComplete(): Promise<void> {
    for (const [hash, path] of this.named) {
      if (this.entries.has(hash) || (await this.stored(hash))) continue;
      throw corrupt(
        path,
        `its blob ${hash} has no entry blobs/${hash} in the archive, and the database does not store it (export it again: exportTree writes the blobs of the objects it exports)`,
      );
    }
  }

  private async stored(hash: string): Promise<boolean> {
    if (this.options === undefined) return false;
    try {
      await this.options.storage.readBlob(hash, 0, 0);
      return true;
    } catch {
      return false; // a StorageError: no blob file has this hash
    }
  }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  if (bytes.byteLength > 0) yield bytes;
}

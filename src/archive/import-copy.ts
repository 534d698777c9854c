/**
 * importCopy: stores a copy of an archive's objects with new oids under `into` (a PersistentDict
 * or a BTree of the connection) at key `name`, in one transaction with the copied records.
 *
 * Every entry gets a fresh oid (`storage.newOids`), so the copy never touches the objects it was
 * exported from (a second import into the same database is a second copy); `$ref`s are remapped;
 * `$ext`s must resolve in this database (else ShelfError listing them, nothing written). The
 * archive is read as a stream and each entry turned into its record as it comes
 * (copy-records.ts): what is held is the records the commit writes, not the archive's JSON.
 *
 * How the copy and `into` land together: the connection carries the copy's records into its next
 * commit (Committer.carry) and hands out a ghost of the new start object, which is stored under
 * `into` the ordinary way (`into.set(name, ghost)`, or `await tree.set(name, ghost)`), and
 * `conn.commit()` writes both. The other way — re-encoding `into`'s record by hand with the key
 * set — works for a PersistentDict but not for a BTree, whose insert is the BTree's own code
 * (splits, counts, node loads); going through the connection keeps one path for both, gets the
 * connection's conflict checks, 'commit' event and snapshot move for free, and costs Committer a
 * list of extra records (dropped by abort, put back after a failed send).
 */
import { BTree } from '../btree.js';
import type { Connection } from '../connection.js';
import { metaOf, type Persistent } from '../persistent.js';
import { PersistentDict } from '../persistent-dict.js';
import { ShelfError, StorageBusyError } from '../shared/errors.js';
import { checkClasses } from './archive-writer.js';
import { snapshotOf } from './check-archive.js';
import { checkIdle } from './commit-archive.js';
import { copyRecords } from './copy-records.js';
import { snapshotReader } from './snapshot-reader.js';
import type { TreeSource } from './tree-archive.js';

/** Options of `importCopy`. */
export interface ImportCopyOptions {
  /** The transaction's note (default: `import of <start id> as <name>`). */
  note?: string;
  /** Who imported. */
  user?: string;
  /** Entries of classes this database has not registered: refused (default) or written. */
  unregistered?: 'refuse' | 'keep';
}

/**
 * Stores a copy of the archive under `into` at key `name` (see the module comment) and resolves
 * to the map of exported oid → new oid (entries added by hand have no exported oid).
 * @throws ShelfError for an `into` that is not a PersistentDict or BTree of `conn`, uncommitted
 *   changes on `conn`, or `$ext`s that do not resolve (naming them). Nothing is written.
 * @throws UnregisteredClassError naming the entry; CorruptStorageError naming the entry.
 * @example
 * const root = await conn.root();
 * const oids = await importCopy(conn, file, root, 'project copy');
 */
export async function importCopy(
  conn: Connection,
  source: TreeSource,
  into: PersistentDict | BTree,
  name: unknown,
  options: ImportCopyOptions = {},
): Promise<Map<number, number>> {
  checkInto(conn, into);
  checkIdle(conn, 'importCopy');
  const { host, carry } = conn.archiveAccess;
  const reader = snapshotReader(host.storage, await snapshotOf(conn));
  const copy = await copyRecords(host.storage, source, reader);
  checkClasses(copy.classes, host.registry, options.unregistered === 'keep');
  const unresolved = await copy.externals.unresolved(reader);
  if (unresolved.length > 0) {
    throw new ShelfError(
      `importCopy: external references do not resolve in this database: ${unresolved.join(' | ')}. Import into the database they belong to, or remove those references. Nothing was written.`,
    );
  }
  checkIdle(conn, 'importCopy');
  if (into._p_status === 'ghost') await conn.load(into);
  const ghost = carry(copy.records, copy.start.oid, copy.start.className);
  try {
    if (into instanceof BTree) await into.set(name as never, ghost as Persistent);
    else into.set(name, ghost);
    await conn.commit({
      note: options.note ?? `import of ${copy.startId} as ${String(name)}`,
      ...(options.user === undefined ? {} : { user: options.user }),
    });
  } catch (error) {
    // Not known whether it landed: conn.commit() resends it, conn.abort() drops it (as ever).
    if (error instanceof StorageBusyError) throw error;
    await conn.abort(); // drops the carried copy and the change to `into`: nothing was written
    throw error;
  }
  return copy.copied;
}

/** @throws ShelfError unless `into` is a stored PersistentDict or BTree of `conn`. */
function checkInto(conn: Connection, into: unknown): void {
  if (!(into instanceof PersistentDict) && !(into instanceof BTree)) {
    throw new ShelfError(
      'importCopy: `into` must be a PersistentDict or a BTree (the copy is stored under it at `name`).',
    );
  }
  const m = metaOf(into as Persistent);
  if (m.jar !== conn || m.oid === undefined) {
    throw new ShelfError(
      'importCopy: `into` must be a stored object of this connection (get it through conn, and commit it first if it is new).',
    );
  }
}

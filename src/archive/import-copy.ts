/**
 * importCopy: stores a copy of an archive's objects with new oids under `into` (a PersistentDict
 * or a BTree of the connection) at key `name`, in one transaction with the copied records.
 *
 * Every entry gets a fresh oid (`storage.newOids`), so the copy never touches the objects it was
 * exported from (a second import into the same database is a second copy); `$ref`s are remapped;
 * `$ext`s must resolve in this database (else ShelfError listing them, nothing written).
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
import { ArchiveWriter, checkClasses } from './archive-writer.js';
import { snapshotOf, unresolvedExternals } from './check-archive.js';
import { checkIdle } from './commit-archive.js';
import { snapshotReader } from './snapshot-reader.js';
import { readTreeArchive, type ArchiveObject, type TreeSource } from './tree-archive.js';

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
  const archive = await readTreeArchive(source);
  const { host, carry } = conn.archiveAccess;
  checkClasses(archive.objects.values(), host.registry, options.unregistered === 'keep');
  const reader = snapshotReader(host.storage, await snapshotOf(conn));
  const unresolved = await unresolvedExternals(reader, archive);
  if (unresolved.size > 0) {
    const list = [...unresolved].map(
      ([id, why]) => `${archive.objects.get(id)?.path}: ${why.join('; ')}`,
    );
    throw new ShelfError(
      `importCopy: external references do not resolve in this database: ${list.join(' | ')}. Import into the database they belong to, or remove those references. Nothing was written.`,
    );
  }
  const objects: ArchiveObject[] = [...archive.objects.values()];
  const fresh = await host.storage.newOids(objects.length);
  const writer = new ArchiveWriter(host.storage);
  const copied = new Map<number, number>();
  objects.forEach((obj, i) => {
    writer.assign(obj.id, fresh[i] as number, obj.className);
    if (obj.oid !== undefined) copied.set(obj.oid, fresh[i] as number);
  });
  for (const obj of objects) await writer.write(obj, undefined);
  checkIdle(conn, 'importCopy');
  if (into._p_status === 'ghost') await conn.load(into);
  const start = archive.objects.get(archive.header.start) as ArchiveObject;
  const ghost = carry(writer.records, writer.oidOf(start.id) as number, start.className);
  try {
    if (into instanceof BTree) await into.set(name as never, ghost as Persistent);
    else into.set(name, ghost);
    await conn.commit({
      note: options.note ?? `import of ${start.id} as ${String(name)}`,
      ...(options.user === undefined ? {} : { user: options.user }),
    });
  } catch (error) {
    // Not known whether it landed: conn.commit() resends it, conn.abort() drops it (as ever).
    if (error instanceof StorageBusyError) throw error;
    await conn.abort(); // drops the carried copy and the change to `into`: nothing was written
    throw error;
  }
  return copied;
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

/**
 * commitArchive (fssync's Commit): writes what an archive changed, in one transaction.
 *
 * 1. The connection must have nothing uncommitted (its snapshot is what the check reads at).
 * 2. The archive is read as a stream and checked (check-archive.ts) at the connection's snapshot,
 *    keeping the parsed entries it will write only (an edit changes few; the rest are dropped as
 *    soon as they compare unchanged).
 * 3. Refused, writing nothing: a start entry this database does not hold (that is importCopy's
 *    job), an `$ext` that does not resolve, an unregistered class (unless `unregistered: 'keep'`),
 *    and with `onConflict: 'fail'` any conflict (WriteConflictError naming them).
 * 4. Written: changed-archive, class-changed and added entries, and conflicts resolved by the
 *    policy ('archive': the entry; a MergeFunction: what it returns; 'live': nothing). Each
 *    record is based on the live revision checked (`record.tid`), a BTree's old nodes are pinned
 *    (`readCurrent`) at the snapshot, added entries get oids from `storage.newOids`: so a commit
 *    another connection made after the snapshot to anything written or to one BTree node makes
 *    the storage refuse the whole transaction (WriteConflictError), and nothing is written.
 * 5. One `storage.commit` with a txnId, resent as it is after StorageBusyError (it lands once);
 *    then the connection moves to see it (other connections get the ordinary 'change').
 */
import type { Connection } from '../connection.js';
import { TxnIds } from '../pending-commit.js';
import {
  ReadConflictError,
  ShelfError,
  StorageBusyError,
  WriteConflictError,
} from '../shared/errors.js';
import type { CommitRequest, Storage, Tid } from '../shared/storage.js';
import {
  ArchiveWriter,
  archiveItems,
  asObject,
  checkClasses,
  type TreeItems,
} from './archive-writer.js';
import { inspectArchive, type EntryStatus, type Inspection } from './check-archive.js';
import { checkRecordKept } from './blob-agreement.js';
import { unresolvedIn } from './externals.js';
import { checkKey, compareKeys, type BTreeKey, type KeyKind } from '../btree-keys.js';
import { jsonToValue, type Json, type JsonObject } from './json-value.js';
import { liveItems, type LiveObject } from './live-objects.js';
import { RecordRef } from './record-writer.js';
import type { ArchiveObject, TreeSource } from './tree-archive.js';

/** What a merge function is given for one conflicting entry. */
export interface MergeConflict {
  /** The entry's archive id. */
  id: string;
  /** Its oid. */
  oid: number;
  /** Its class (the archive's). */
  className: string;
  /** The state at export: not kept by an archive, so always undefined. */
  base?: undefined;
  /** The live state as JSON (a BTree's: its state fields and `items`, [key, value] in order). */
  live: Json;
  /** The archive's state as JSON (a BTree's likewise). */
  archive: Json;
}

/** Resolves a conflict: returns the state JSON to write (a BTree's with its `items`). */
export type MergeFunction = (conflict: MergeConflict) => Json | Promise<Json>;

/** Options of `commitArchive`. */
export interface CommitArchiveOptions {
  /** What a conflict does: 'fail' (default) rejects, 'archive' or 'live' wins, or a merge. */
  onConflict?: 'fail' | 'archive' | 'live' | MergeFunction;
  /** The transaction's note (default: `commit of archive <start id>`). */
  note?: string;
  /** Who committed. */
  user?: string;
  /** Entries of classes this database has not registered: refused (default) or written. */
  unregistered?: 'refuse' | 'keep';
}

/** How many times a commit is resent after StorageBusyError before giving up. */
const BUSY_RESENDS = 5;

/**
 * Commits what the archive changed (see the module comment) and resolves to the new tid; with
 * nothing to write, resolves to the snapshot's tid without committing.
 * @throws ShelfError for uncommitted changes on `conn`, a start entry not in this database, or
 *   unresolved external references (naming the entries). Nothing is written.
 * @throws WriteConflictError (`.oids`) for conflicts with `onConflict: 'fail'`, or a commit made
 *   since the snapshot to what this one writes. Nothing is written.
 * @throws UnregisteredClassError naming the entry; CorruptStorageError naming the entry.
 * @example
 * const tid = await commitArchive(conn, file, { onConflict: 'archive', note: 'edited offline' });
 */
export async function commitArchive(
  conn: Connection,
  source: TreeSource,
  options: CommitArchiveOptions = {},
): Promise<Tid> {
  checkIdle(conn, 'commitArchive');
  const policy = options.onConflict ?? 'fail';
  const insp = await inspectArchive(conn, source, (status) => writes(status, policy), true);
  checkIdle(conn, 'commitArchive');
  const { host } = conn.archiveAccess;
  const start = insp.start;
  if (!insp.startIsLive) {
    throw new ShelfError(
      `commitArchive: the archive's start object (${start.path}, ${start.oid === undefined ? 'no oid' : `oid ${start.oid}`}) is not in this database: it was exported from another one, or removed. Use importCopy(conn, source, into, name) to store a copy with new oids. Nothing was written.`,
    );
  }
  const unresolved = insp.entries.filter((e) => e.status === 'unresolved-external');
  if (unresolved.length > 0) {
    throw new ShelfError(
      `commitArchive: external references do not resolve in this database: ${unresolved.map((e) => `${e.path} (${e.detail ?? ''})`).join('; ')}. Fix or remove those references. Nothing was written.`,
    );
  }
  const conflicts = insp.entries.filter((e) => e.status === 'conflict');
  if (policy === 'fail' && conflicts.length > 0) {
    throw new WriteConflictError(
      conflicts.map((e) => e.oid as number),
      `commitArchive: ${conflicts.length} entr${conflicts.length === 1 ? 'y was' : 'ies were'} changed both in the archive and in the database since the export: ${conflicts.map((e) => e.path).join(', ')}. Pass onConflict ('archive', 'live' or a merge function), or export again and redo the edit. Nothing was written.`,
    );
  }
  const written = insp.kept;
  checkClasses(
    written.map(({ obj }) => obj),
    host.registry,
    options.unregistered === 'keep',
  );
  if (written.length === 0) return insp.tid;

  // Added entries get new oids; every other entry is written (or referenced) as its own oid.
  const added = written.filter(({ obj }) => insp.byId.get(obj.id)?.status === 'added');
  const fresh = added.length === 0 ? [] : await host.storage.newOids(added.length);
  const newOid = new Map(added.map(({ obj }, i) => [obj.id, fresh[i] as number]));
  const writer = new ArchiveWriter(host.storage, (id) => {
    const entry = insp.byId.get(id);
    const oid = newOid.get(id) ?? entry?.oid;
    return entry === undefined || oid === undefined
      ? undefined
      : new RecordRef(oid, entry.className);
  });
  const pins: { oid: number; tid: Tid }[] = [];
  const nodesOf = new Map<number, number>();
  for (const { obj, record, live } of written) {
    const status = insp.byId.get(obj.id)?.status;
    for (const node of live?.nodeOids ?? []) {
      pins.push({ oid: node, tid: insp.tid });
      nodesOf.set(node, obj.oid as number);
    }
    if (status === 'conflict' && typeof policy === 'function') {
      const merged = await merge(policy, obj, live, insp);
      checkRecordKept(obj.path, record, obj.className, merged.state);
      await writer.write(obj, record?.tid, merged.state, merged.items);
    } else {
      checkRecordKept(obj.path, record, obj.className, obj.state);
      await writer.write(obj, record?.tid);
    }
  }
  const request: CommitRequest = {
    baseTid: insp.tid,
    records: writer.records,
    readCurrent: pins,
    note: options.note ?? `commit of archive ${insp.startId}`,
    ...(options.user === undefined ? {} : { user: options.user }),
    txnId: new TxnIds().next(),
  };
  const tid = await send(host.storage, request, nodesOf);
  host.committed();
  await conn.sync();
  return tid;
}

/** True when commit writes an entry of `status` under `policy`. */
function writes(status: EntryStatus, policy: CommitArchiveOptions['onConflict']): boolean {
  if (status === 'changed-archive' || status === 'class-changed' || status === 'added') return true;
  return status === 'conflict' && policy !== 'live';
}

/** @throws ShelfError when `conn` cannot take a record-level commit now. */
export function checkIdle(conn: Connection, what: string): void {
  if (conn.at !== undefined) {
    throw new ShelfError(
      `${what}: this connection reads the past (db.open({ at })) and cannot write.`,
    );
  }
  const { changed } = conn.cacheInfo();
  if (changed > 0 || conn.hasUncertainCommit) {
    throw new ShelfError(
      `${what}: the connection has ${changed > 0 ? `${changed} uncommitted change(s)` : 'a commit whose fate is not known'}. Commit or abort them first (conn.commit() / conn.abort()). Nothing was written.`,
    );
  }
}

/** Asks the merge function, and reads its answer as a state (and a BTree's items). */
async function merge(
  fn: MergeFunction,
  obj: ArchiveObject,
  live: LiveObject | undefined,
  insp: Inspection,
): Promise<{ state: JsonObject; items?: TreeItems }> {
  if (live === undefined) throw new Error('shelfdb: merging an entry without a live revision');
  const isTree = obj.pages !== undefined;
  const liveJson: Json = isTree
    ? { ...live.state, items: await liveItems(insp.reader, live.record, insp.idOf) }
    : live.state;
  const archiveJson: Json = isTree ? { ...obj.state, items: [...archiveItems(obj)] } : obj.state;
  const result = asObject(
    await fn({
      id: obj.id,
      oid: obj.oid as number,
      className: obj.className,
      base: undefined,
      live: liveJson,
      archive: archiveJson,
    }),
  );
  if (result === undefined) {
    throw new ShelfError(
      `commitArchive: the merge function returned no state (a JSON object of fields) for ${obj.path}. Nothing was written.`,
    );
  }
  // Its `$ext`s must resolve as the archive's do (else it would write a dangling reference).
  const exts = new Map<number, { className: string; path: string }>();
  extsIn(result, exts, obj.path);
  const bad = (await unresolvedIn(insp.reader, [{ ...obj, exts }], new Map())).get(obj.id);
  if (bad !== undefined) {
    throw new ShelfError(
      `commitArchive: the merge function's answer for ${obj.path} references objects this database does not hold as named: ${bad.join('; ')}. Nothing was written.`,
    );
  }
  // Its `$blob` markers must name the blob their record names (blob-agreement.ts).
  await insp.agreement.checkJson(result, obj.path, insp.reader);
  if (!isTree) return { state: result };
  const { items, ...state } = result;
  if (!Array.isArray(items)) {
    throw new ShelfError(
      `commitArchive: the merge function's answer for BTree ${obj.path} has no "items" ([key, value] pairs in key order). Nothing was written.`,
    );
  }
  return {
    state,
    items: { items: items as [Json, Json][], count: items.length, kind: mergedKind(obj, items) },
  };
}

/** Collects the `$ext` markers of `json` (as tree-archive.ts reads an entry's). */
function extsIn(
  json: Json,
  out: Map<number, { className: string; path: string }>,
  path: string,
): void {
  if (Array.isArray(json)) {
    for (const item of json) extsIn(item, out, path);
    return;
  }
  if (typeof json !== 'object' || json === null || '$ref' in json) return;
  if ('$ext' in json) {
    const { $ext: oid, class: className } = json;
    if (typeof oid !== 'number' || typeof className !== 'string') {
      throw new ShelfError(
        `commitArchive: the merge function's answer for ${path} has an $ext without an oid and a class: ${JSON.stringify(json)}. Nothing was written.`,
      );
    }
    const named = out.get(oid)?.className;
    if (named !== undefined && named !== className) {
      throw new ShelfError(
        `commitArchive: the merge function's answer for ${path} names object ${oid} as both ${named} and ${className}. Nothing was written.`,
      );
    }
    out.set(oid, { className, path });
    return;
  }
  for (const key of Object.keys(json)) extsIn(json[key] as Json, out, path);
}

/**
 * Checks a merge function's BTree items as an archive's pages are checked (pairs whose keys are of
 * one kind, in strictly increasing order: the bulk build relies on it) and returns their key kind.
 * @throws ShelfError naming the entry and the item. Nothing was written.
 */
function mergedKind(obj: ArchiveObject, items: Json[]): KeyKind | null {
  let kind: KeyKind | undefined;
  let last: BTreeKey | undefined;
  items.forEach((item, i) => {
    const bad = (why: string): ShelfError =>
      new ShelfError(
        `commitArchive: the merge function's answer for BTree ${obj.path}: item ${i} ${why}. Return "items" as [key, value] pairs in increasing key order, each key once. Nothing was written.`,
      );
    if (!Array.isArray(item) || item.length !== 2) throw bad('is not a [key, value] pair');
    let key: BTreeKey;
    try {
      key = jsonToValue(item[0] as Json, () => {
        throw new Error('a key cannot be a reference');
      }) as BTreeKey;
      kind = checkKey(key, kind);
    } catch (error) {
      throw bad(`has no BTree key (${(error as Error).message})`);
    }
    if (last !== undefined && compareKeys(last, key) >= 0) {
      throw bad(`is out of key order or a key met before (${JSON.stringify(item[0])})`);
    }
    last = key;
  });
  return kind ?? obj.items?.kind ?? null;
}

/**
 * Sends the commit, resending the same request (same txnId: it lands once) after StorageBusyError.
 * A pin of an old BTree node that fails is reported as a write conflict on its tree.
 */
async function send(
  storage: Storage,
  request: CommitRequest,
  nodesOf: Map<number, number>,
): Promise<Tid> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await storage.commit(request);
    } catch (error) {
      if (error instanceof StorageBusyError && attempt < BUSY_RESENDS) continue;
      if (error instanceof ReadConflictError) {
        const trees = [...new Set(error.oids.map((oid) => nodesOf.get(oid) ?? oid))];
        throw Object.assign(
          new WriteConflictError(
            trees,
            `commitArchive: BTree ${trees.join(', ')} was changed by another commit since this connection's snapshot. Nothing was written: check the archive again (after conn.sync()) and commit.`,
          ),
          { cause: error },
        );
      }
      if (error instanceof WriteConflictError) {
        throw Object.assign(
          new WriteConflictError(
            error.oids,
            `commitArchive: object ${error.oids.join(', ')} was changed by another commit since this connection's snapshot. Nothing was written: check the archive again (after conn.sync()) and commit.`,
          ),
          { cause: error },
        );
      }
      throw error;
    }
  }
}

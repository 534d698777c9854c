/**
 * The refusals of a historical connection (`db.open({ at })`): it reads the database as it was at
 * one tid and writes nothing.
 *
 * A change is refused where the connection hears of it (`Jar.noteChanged`): an assignment or
 * `delete` on a loaded object throws before it happens, and the object stays as loaded. The
 * persistent containers and the BTree change their data first and note the change after
 * (`_p_noteChange`), so by the time the refusal comes their loaded state already differs from the
 * stored one: such an object is turned back into a ghost, and the next load reads the stored
 * revision again. The historical view never shows a change that was refused.
 */
import { ReadConflictError, ShelfError } from './shared/errors.js';
import type { Tid } from './shared/storage.js';
import { ghostify, metaOf, type Persistent } from './persistent.js';
import type { Cache } from './cache.js';

/** The error of a write (`what`) on the connection opened at `at`. */
export function readOnlyError(at: Tid, what: string): ShelfError {
  return new ShelfError(
    `${what}: this connection is read-only at tid ${at} (db.open({ at: ${at} }) shows the database as it was then). Use db.open() for a connection that writes.`,
  );
}

/**
 * Refuses a change of `obj` on the connection opened at `at`. A change already `applied` to its
 * loaded state is dropped with that state (the object becomes a ghost: load it again to read it).
 * @throws ShelfError always, naming the object and the tid.
 */
export function refuseChange(obj: Persistent, applied: boolean, at: Tid, cache: Cache): never {
  const m = metaOf(obj);
  if (applied && m.status === 'saved') {
    cache.noteGhost(obj);
    ghostify(m);
  }
  throw readOnlyError(at, `Changing ${m.className ?? 'an object'} ${m.oid ?? ''}`.trimEnd());
}

/**
 * The error of a load on the connection opened at `at` that needs revisions pack removed (`oids`):
 * the connection cannot move on, so the advice is to open a later tid.
 */
export function packedAt(oids: number[], at: Tid, cause?: unknown): ReadConflictError {
  const error = new ReadConflictError(
    oids,
    `Object ${oids.join(', ')} has no revision as of tid ${at} any more: pack removed it. This connection (db.open({ at: ${at} })) is older than what pack kept; open one at a later tid, or db.open() for the newest.`,
  );
  if (cause !== undefined) (error as { cause?: unknown }).cause = cause;
  return error;
}

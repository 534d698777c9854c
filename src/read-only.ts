/**
 * The refusals of a historical connection (`db.open({ at })`): it reads the database as it was at
 * one tid and writes nothing.
 *
 * A change is refused where the connection hears of it (`Jar.noteChanged`): an assignment or
 * `delete` on a loaded object throws before it happens. The persistent containers and the BTree
 * change their data first and note the change after, so by the time the refusal comes their
 * loaded state may already differ from the stored one: the object is turned back into a ghost,
 * and the next read loads the stored revision again. The historical view never shows a change
 * that was refused.
 */
import { ShelfError } from './shared/errors.js';
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
 * Refuses a change of `obj` on the connection opened at `at`: drops whatever the change already
 * did to its loaded state (it becomes a ghost) and throws.
 * @throws ShelfError always, naming the object and the tid.
 */
export function refuseChange(obj: Persistent, at: Tid, cache: Cache): never {
  const m = metaOf(obj);
  if (m.status === 'saved') {
    cache.noteGhost(obj);
    ghostify(m);
  }
  throw readOnlyError(at, `Changing ${m.className ?? 'an object'} ${m.oid ?? ''}`.trimEnd());
}

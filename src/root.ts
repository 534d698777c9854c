/**
 * The root object: oid 0 (ROOT_OID), the one object a connection finds without a reference, always
 * a PersistentDict. It does not exist in a new database: the first connection that asks for it
 * creates it, committing it alone. Two connections may race to create it; the loser's commit
 * conflicts or finds it there, and the next load reads the winner's. A historical connection
 * (`db.open({ at })`) writes nothing, so one opened before the root was first committed has no root.
 */
import { ShelfError } from './shared/errors.js';
import { ROOT_OID, type Tid } from './shared/storage.js';
import { metaOf, type Persistent } from './persistent.js';
import { PersistentDict } from './persistent-dict.js';

/** What finding the root needs from its connection. */
export interface RootSteps {
  /** The object stored under an oid, loaded; undefined if it was never stored. */
  get(oid: number): Promise<Persistent | undefined>;
  /** Makes the root (oid 0) if nobody has; losing the race is fine. */
  create(): Promise<void>;
}

/**
 * The root object, loaded, created first if there is none.
 * @throws ShelfError when oid 0 holds something other than a PersistentDict.
 */
export async function findRoot(steps: RootSteps): Promise<PersistentDict> {
  for (;;) {
    const root = await steps.get(ROOT_OID);
    if (root !== undefined) {
      if (!(root instanceof PersistentDict)) {
        throw new ShelfError(
          `The root object (oid 0) is a ${metaOf(root).className}, not a PersistentDict: this storage was not written by shelfdb's Connection.`,
        );
      }
      return root;
    }
    await steps.create();
  }
}

/** The error of a historical connection opened at `at`, before the root was first committed. */
export function noRootError(at: Tid): ShelfError {
  return new ShelfError(
    `The root object did not exist yet at tid ${at}: this read-only connection (db.open({ at: ${at} })) has nothing to read. Open it at a later tid.`,
  );
}

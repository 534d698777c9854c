/**
 * useObject and useRoot: a persistent object, loaded, for a component that re-renders whenever a
 * change to it is committed: by another connection or tab ('change'), or through its own
 * connection ('commit').
 *
 * Loading is shown as `undefined` (no Suspense): the hooks return undefined until the object is
 * loaded, and also for the moment between another commit ghosting it and its reload, should the
 * component render then. Errors are thrown from the hook, during render, so the nearest error
 * boundary shows them.
 */
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import type { Connection, Persistent, PersistentDict } from '../index.js';
import { ObjectWatch } from './object-watch.js';
import { reportOrphanError } from './report.js';

/** For no object: nothing to subscribe to, and a version that never changes. */
const subscribeNothing = (): (() => void) => () => undefined;
const noVersion = (): string => '';

/**
 * Returns `obj` loaded, and re-renders the component whenever a change to it is committed: by
 * another connection or tab (the connection's 'change' event names it; the hook loads it again
 * first), or through `conn` itself (its 'commit' event names it). Returns undefined while `conn` or
 * `obj` is undefined and while the object is loading (a ghost). While mounted, the hook holds the
 * object (`conn.hold`): the cache does not evict what is on screen.
 *
 * The object changes in place: its identity stays the same across renders, so a child memoized on
 * it (`React.memo`) does not re-render by itself; use the hook in the component that reads the
 * fields. Changes not committed yet re-render nothing: the component shows what is committed (and
 * what it rendered since).
 * @throws (to the error boundary) what loading it threw: DatabaseClosedError after `conn` closed,
 *   ShelfError if `obj` belongs to another connection, ReadConflictError if pack removed the
 *   revision the snapshot needs.
 * @example
 * function Title({ conn, todo }: { conn: Connection; todo: Todo }) {
 *   const t = useObject(conn, todo);
 *   return t === undefined ? 'Loading…' : t.title;
 * }
 */
export function useObject<T extends Persistent>(
  conn: Connection | undefined,
  obj: T | undefined,
): T | undefined {
  const watch = useMemo(
    () => (conn === undefined || obj === undefined ? undefined : new ObjectWatch(conn, obj)),
    [conn, obj],
  );
  useSyncExternalStore(
    watch?.subscribe ?? subscribeNothing,
    watch?.getSnapshot ?? noVersion,
    watch?.getSnapshot ?? noVersion,
  );
  // After every render: the object may have been ghosted without an event (abort).
  useEffect(() => watch?.ensureLoaded());
  return watch?.current();
}

/** The root of one connection, or the failure to get it. */
type RootState = { conn: Connection; root: PersistentDict } | { conn: Connection; error: unknown };

/**
 * Returns the connection's root object (a PersistentDict, created by the first connection that
 * asks), loaded, and re-renders whenever a change to it is committed, through `conn` or elsewhere,
 * as {@link useObject} does. Returns undefined while `conn` is undefined or the root is loading.
 * @throws (to the error boundary) what `conn.root()` threw (DatabaseClosedError, StorageError…).
 * @example
 * const root = useRoot(useConnection(db));
 * return <p>{root === undefined ? 'Loading…' : String(root.get('title'))}</p>;
 */
export function useRoot(conn: Connection | undefined): PersistentDict | undefined {
  const [state, setState] = useState<RootState | undefined>(undefined);
  useEffect(() => {
    if (conn === undefined) return undefined;
    let active = true;
    conn.root().then(
      (root) => {
        if (active) setState({ conn, root });
      },
      (error: unknown) => {
        if (active) setState({ conn, error });
        else reportOrphanError(conn, error);
      },
    );
    return () => {
      active = false;
    };
  }, [conn]);
  const mine = state !== undefined && state.conn === conn ? state : undefined;
  const root = useObject(conn, mine !== undefined && 'root' in mine ? mine.root : undefined);
  if (mine !== undefined && 'error' in mine) throw mine.error;
  return root;
}

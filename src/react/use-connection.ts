/**
 * useConnection: a Connection opened for as long as a component is mounted.
 *
 * The connection is opened in an effect, not during render: React may render a component more than
 * once without ever mounting it (StrictMode renders twice, a suspended render is thrown away), and a
 * connection opened in a render nobody commits would never be closed. Under StrictMode the effect
 * runs, is cleaned up and runs again: the first connection is closed and the second one is the one
 * the component keeps.
 */
import { useEffect, useState } from 'react';
import type { Connection, Database } from '../index.js';

/** Options of {@link useConnection}. */
export interface UseConnectionOptions {
  /** Sets the connection's `autoSync` (default true: an idle connection follows others' commits). */
  autoSync?: boolean;
}

/**
 * Opens a connection of `db` when the component mounts and closes it when it unmounts (or when
 * `db` or `options.autoSync` change, for a new one). Returns undefined until the connection is
 * open: during the first render, and while `db` is undefined (a database still being opened).
 * The other hooks accept undefined and wait for it.
 * @throws DatabaseClosedError (to the error boundary) if `db` is closed when the component mounts.
 * @example
 * function Notes({ db }: { db: Database }) {
 *   const conn = useConnection(db);
 *   const root = useRoot(conn);
 *   if (root === undefined) return 'Loading…';
 *   return `${root.size} entries`;
 * }
 */
export function useConnection(
  db: Database | undefined,
  options: UseConnectionOptions = {},
): Connection | undefined {
  const { autoSync } = options;
  const [conn, setConn] = useState<Connection | undefined>(undefined);
  useEffect(() => {
    if (db === undefined) return undefined;
    const opened = db.open();
    if (autoSync !== undefined) opened.autoSync = autoSync;
    setConn(opened);
    return () => {
      opened.close();
      setConn((current) => (current === opened ? undefined : current));
    };
  }, [db, autoSync]);
  return conn;
}

/**
 * Where the hooks send an error that no component is left to show: the load or scan of a component
 * that has unmounted since (or of a range it no longer shows) failed.
 */
import { ConnectionErrorEvent, DatabaseClosedError, type Connection } from '../index.js';

/**
 * Fires the error as the connection's 'error' event (ConnectionErrorEvent: an error of work the
 * app did not call itself). A DatabaseClosedError is not reported: the connection was closed while
 * the work ran (the component unmounted with its useConnection), so its result was not wanted.
 */
export function reportOrphanError(conn: Connection, error: unknown): void {
  if (error instanceof DatabaseClosedError) return;
  conn.dispatchEvent(new ConnectionErrorEvent(error));
}

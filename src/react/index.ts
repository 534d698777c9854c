/**
 * shelfdb/react: React hooks over shelfdb (React ≥ 18 is an optional peer dependency of shelfdb;
 * only this entry imports it).
 *
 * - `useConnection(db)`: a Connection for the component's life.
 * - `useRoot(conn)`, `useObject(conn, obj)`: an object, loaded, re-rendered on every commit that
 *   changes it: others' ('change') and the connection's own ('commit').
 * - `useRange(tree, range, { limit })`: a BTree range, live, on the same events.
 *
 * Every hook keeps its state in React (no module-level state), holds what it shows in the cache
 * (`conn.hold`) and removes its listeners and holds when the component unmounts.
 * @module shelfdb/react
 */
export { useConnection, type UseConnectionOptions } from './use-connection.js';
export { useObject, useRoot } from './use-object.js';
export { useRange, type UseRangeOptions, type RangeResult } from './use-range.js';

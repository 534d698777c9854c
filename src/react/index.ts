/**
 * shelfdb/react: React hooks over shelfdb (React ≥ 18 is an optional peer dependency of shelfdb;
 * only this entry imports it).
 *
 * - `useConnection(db)`: a Connection for the component's life.
 * - `useRoot(conn)`, `useObject(conn, obj)`: an object, loaded, re-rendered on others' commits.
 * - `useRange(tree, range, { limit })`: a BTree range, live.
 *
 * Every hook keeps its state in React (no module-level state) and removes its listeners when the
 * component unmounts.
 */
export { useConnection, type UseConnectionOptions } from './use-connection.js';
export { useObject, useRoot } from './use-object.js';
export { useRange, type UseRangeOptions, type RangeResult } from './use-range.js';

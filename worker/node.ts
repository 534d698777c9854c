/**
 * `shelfdb/storage` under Node: the browser's storage exports and the Node file directory
 * (a BlockDirectory of files in one folder, locked while open).
 * @example
 * import { Database } from 'shelfdb';
 * import { NodeBlockDirectory, ShelfStorage } from 'shelfdb/storage';
 * const db = new Database(await ShelfStorage.open(await NodeBlockDirectory.create('./data')));
 */
export * from './index.js';
export { NodeBlockDirectory, NodeBlockFile } from './node-file.js';

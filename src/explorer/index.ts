/**
 * The explorer: `import 'shelfdb/explorer'` defines the custom element `<shelf-explorer>`, a view
 * into a shelfdb database for developers (objects, named Blobs, the transaction log, verify, pack,
 * the databases of the origin), embeddable in an app. A separate entry: the core never loads it.
 * @module shelfdb/explorer
 */
export { ShelfExplorer } from './shelf-explorer.js';
export { NavigateEvent, OpenDatabaseEvent } from './explorer-events.js';

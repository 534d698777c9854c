/**
 * The options of `new Database(storage, options)` (and of `openDatabase`, which adds its own):
 * checked, with their defaults, and the class registry they make: shelfdb's own classes under their
 * fixed stored names, then the app's `classes`.
 */
import { ClassRegistry, globalRegistry } from './registry.js';
import type { PersistentClass } from './persistent.js';
import { PersistentDict } from './persistent-dict.js';
import { PersistentList } from './persistent-list.js';
import { PersistentSet } from './persistent-set.js';
import { BTree, BTreeNode } from './btree.js';
import { BlobRecord } from './blob-record-object.js';
import { BLOB_CLASS } from './shared/blob-record.js';
import { checkAutoPackOptions, type AutoPackSettings } from './auto-pack.js';

/** Options of `new Database(storage, options)` and of `openDatabase` (which adds its own). */
export interface DatabaseOptions {
  /** Target count of loaded objects kept per connection (default 10,000). */
  cacheSize?: number;
  /** Target sum of their stored sizes in bytes (default 64 MiB). */
  cacheBytes?: number;
  /**
   * Persistent classes this app stores, for this database (like registerClass for each): an array
   * of classes stored under their `static _p_name`, or a record of stored name → class
   * (`{ 'app.Todo': Todo }`). A class with neither is stored under its JavaScript name, which
   * minifiers change (a console warning says so).
   */
  classes?: PersistentClass[] | Record<string, PersistentClass>;
  /**
   * Pack automatically once garbage (superseded revisions) makes up `garbageRatio` of the stored
   * bytes (and at least `minBytes`, default 1 MiB). Checked after commits, at most every few seconds.
   */
  autoPack?: {
    /** The share of garbage in the stored bytes that starts a pack: more than 0, less than 1. */
    garbageRatio: number;
    /** Below this many stored bytes, never pack automatically (default 1 MiB). */
    minBytes?: number;
  };
}

/**
 * shelfdb's own classes, under the names they are stored with: literal strings, never `.name`, so
 * that every build of shelfdb (minified or not) stores and finds the same names.
 */
const BUILTIN_CLASSES: [PersistentClass, string][] = [
  [PersistentDict, 'shelfdb.PersistentDict'],
  [PersistentList, 'shelfdb.PersistentList'],
  [PersistentSet, 'shelfdb.PersistentSet'],
  [BTree, 'shelfdb.BTree'],
  [BTreeNode, 'shelfdb.BTreeNode'],
  [BlobRecord, BLOB_CLASS],
];

/**
 * The Database options, checked and with their defaults, and the class registry they make (so
 * `openDatabase` refuses a bad class before it opens any storage).
 * @throws RangeError naming the option that is wrong; TypeError for a class the registry refuses
 *   (see ClassRegistry.register) or a `classes` that is neither an array nor a record.
 */
export function checkDatabaseOptions(options: DatabaseOptions): {
  cacheSize: number;
  cacheBytes: number;
  autoPack: AutoPackSettings | undefined;
  registry: ClassRegistry;
} {
  const cacheSize = checkPositiveInteger('cacheSize', options.cacheSize ?? 10_000);
  const cacheBytes = checkPositiveInteger('cacheBytes', options.cacheBytes ?? 64 << 20);
  const registry = makeRegistry(options.classes);
  return { cacheSize, cacheBytes, autoPack: checkAutoPackOptions(options.autoPack), registry };
}

/**
 * A database's registry: shelfdb's own classes, then the `classes` option, over the global one.
 * @throws TypeError as ClassRegistry.register does, or for a `classes` of the wrong shape.
 */
function makeRegistry(classes: DatabaseOptions['classes']): ClassRegistry {
  const registry = new ClassRegistry(globalRegistry);
  for (const [cls, name] of BUILTIN_CLASSES) registry.register(cls, name);
  if (classes === undefined) return registry;
  if (Array.isArray(classes)) {
    for (const cls of classes) registry.register(cls);
  } else if (typeof classes === 'object' && classes !== null) {
    for (const [name, cls] of Object.entries(classes)) registry.register(cls, name);
  } else {
    throw new TypeError(
      `The classes option must be an array of persistent classes ([Todo]) or a record of stored name → class ({ 'app.Todo': Todo }), got ${typeof classes === 'function' ? `the class ${(classes as { name: string }).name || '(anonymous)'} alone` : String(classes)}.`,
    );
  }
  return registry;
}

function checkPositiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}.`);
  }
  return value;
}

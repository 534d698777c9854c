/**
 * The names that make a tree archive (exportTree) what it is, shared by its writer
 * (export-tree.ts), its reader (tree-archive.ts), checkouts (directory.ts) and the command line.
 * The layout is in docs/guide/export-and-backup.md.
 */

/** The first entry of a tree archive, and the header file of a checkout. */
export const TREE_HEADER = 'shelfdb-archive.json';
/** The header's `format`. */
export const TREE_FORMAT = 'shelfdb-archive';
/** The version of the tree archive format this shelfdb writes for a tree without blobs. */
export const TREE_VERSION = 1;
/**
 * The version written for a tree that holds blobs (its archive has `blobs/<hash>` entries): a
 * shelfdb that reads only 1 refuses it by its version instead of stumbling on those entries.
 */
export const TREE_BLOB_VERSION = 2;
/** The versions this shelfdb reads. */
export const TREE_VERSIONS: readonly number[] = [TREE_VERSION, TREE_BLOB_VERSION];
/** The folder of the object entries (`objects/<id>.json`, a BTree's `objects/<id>.page-<n>.json`). */
export const OBJECTS_FOLDER = 'objects';

/**
 * The names that make a tree archive (exportTree) what it is, shared by its writer
 * (export-tree.ts), its reader (tree-archive.ts), checkouts (directory.ts) and the command line.
 * The layout is in docs/guide/export-and-backup.md.
 */

/** The first entry of a tree archive, and the header file of a checkout. */
export const TREE_HEADER = 'shelfdb-archive.json';
/** The header's `format`. */
export const TREE_FORMAT = 'shelfdb-archive';
/** The version of the tree archive format this shelfdb writes and reads. */
export const TREE_VERSION = 1;
/** The folder of the object entries (`objects/<id>.json`, a BTree's `objects/<id>.page-<n>.json`). */
export const OBJECTS_FOLDER = 'objects';

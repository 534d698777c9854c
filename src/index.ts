/**
 * shelfdb's public API (the page side): persistent objects, connections, the BTree, openDatabase,
 * the errors, and MemoryStorage. A test pins this list.
 * @module shelfdb
 */
export {
  openDatabase,
  MemoryStorage,
  type MemoryStorageOptions,
  type OpenOptions,
  type StorageChoice,
} from './open-database.js';
export { listDatabases, type OriginDatabase } from './origin-databases.js';
export { Database, type DatabaseOptions, type OpenConnectionOptions } from './database.js';
export type { UndoOptions } from './undo.js';
export {
  BusyEvent,
  PackEvent,
  DatabaseErrorEvent,
  ChangeEvent,
  CommitEvent,
  StaleEvent,
  TransactionEvent,
  ConnectionErrorEvent,
} from './events.js';
export { Connection } from './connection.js';
export type { CacheInfo } from './cache.js';
export type { CommitOptions } from './pending-commit.js';
export type { TransactOptions } from './transact.js';
export type { Revision } from './loader.js';
export { Persistent, type PersistentClass, type PersistentStatus } from './persistent.js';
export { registerClass, ClassRegistry } from './registry.js';
export { BrokenObject } from './broken-object.js';
export { PersistentDict } from './persistent-dict.js';
export { PersistentList } from './persistent-list.js';
export { PersistentSet } from './persistent-set.js';
export { BTree, BTreeNode, type BTreeRange } from './btree.js';
export { checkBTree } from './btree-check.js';
export type { BTreeKey, ScalarKey } from './btree-keys.js';
export {
  ShelfError,
  ConflictError,
  WriteConflictError,
  ReadConflictError,
  GhostError,
  SerializationError,
  UnregisteredClassError,
  StorageError,
  CorruptStorageError,
  StorageFullError,
  StorageBusyError,
  DatabaseClosedError,
} from './shared/errors.js';
export {
  ROOT_OID,
  type Storage,
  type StoredRecord,
  type LoadedRecord,
  type CommitRequest,
  type SyncResult,
  type Invalidation,
  type Tid,
  type TransactionInfo,
  type RevisionInfo,
  type PackOptions,
  type PackProgress,
  type PackResult,
  type StorageKind,
  type StorageStats,
  type BlobInfo,
  type RecoveryReport,
  type LogSpan,
  type VerifyProblem,
  type VerifyReport,
} from './shared/storage.js';
export {
  exportTree,
  type ExportTreeOptions,
  type Boundary,
  type ObjectRef,
} from './archive/export-tree.js';
export {
  checkArchive,
  type CheckReport,
  type CheckEntry,
  type EntryStatus,
} from './archive/check-archive.js';
export {
  commitArchive,
  type CommitArchiveOptions,
  type MergeFunction,
  type MergeConflict,
} from './archive/commit-archive.js';
export { importCopy, type ImportCopyOptions } from './archive/import-copy.js';
export type { TreeSource } from './archive/tree-archive.js';
export type { ArchiveEntry, ArchiveSource, StreamedEntry } from './archive/snarf.js';
export { restoreDatabase, type RestoreResult } from './archive/restore.js';
export type { BackupOptions } from './archive/backup.js';
export type { RestoreMode } from './shared/storage.js';
export type { Json } from './archive/json-value.js';
export { writeCheckout, directoryEntries, type CheckoutResult } from './archive/directory.js';
export { StoredBlob, StoredFile, type BlobReader } from './stored-blob.js';
export { BlobNamespace, BLOBS_KEY } from './blob-namespace.js';
export { BlobRecord } from './blob-record-object.js';
export { BlobReference, type BlobTagFields } from './blob-tag.js';
export { blobPath, type BlobPathOptions } from './blob-path.js';
export { BLOB_CLASS, type BlobRecordState } from './shared/blob-record.js';

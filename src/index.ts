/**
 * shelfdb's public API, in the order of API.md. A test pins this list.
 */
export { openDatabase, type OpenOptions, type StorageChoice } from './open-database.js';
export { Database, BusyEvent, DatabaseErrorEvent, type DatabaseOptions } from './database.js';
export {
  Connection,
  ChangeEvent,
  ConnectionErrorEvent,
  type CommitOptions,
  type TransactOptions,
  type Revision,
} from './connection.js';
export { Persistent, type PersistentClass, type PersistentStatus } from './persistent.js';
export { registerClass, ClassRegistry } from './registry.js';
export { BrokenObject } from './broken-object.js';
export { PersistentDict } from './persistent-dict.js';
export { PersistentList } from './persistent-list.js';
export { PersistentSet } from './persistent-set.js';
export { BTree, BTreeNode, type BTreeRange } from './btree.js';
export { checkBTree } from './btree-check.js';
export type { BTreeKey } from './btree-keys.js';
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
  type PackResult,
  type StorageKind,
  type StorageStats,
  type VerifyProblem,
  type VerifyReport,
} from './shared/storage.js';
// Storage implementations apps may build a Database over (`new Database(new MemoryStorage())`).
// index.ts is a composition point like open-database.ts: the one other page module allowed to
// reach worker/, and only to re-export.
export { MemoryStorage } from '../worker/memory-storage.js';

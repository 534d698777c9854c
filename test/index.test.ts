import { expect, it } from 'vitest';
import * as shelfdb from '../src/index.js';

it('exports the public API of API.md, and nothing else by accident', () => {
  expect(Object.keys(shelfdb).sort()).toEqual(
    [
      'openDatabase',
      'listDatabases',
      'Database',
      'BusyEvent',
      'PackEvent',
      'DatabaseErrorEvent',
      'Connection',
      'ChangeEvent',
      'CommitEvent',
      'StaleEvent',
      'ConnectionErrorEvent',
      'Persistent',
      'registerClass',
      'ClassRegistry',
      'BrokenObject',
      'PersistentDict',
      'PersistentList',
      'PersistentSet',
      'BTree',
      'BTreeNode',
      'checkBTree',
      'ShelfError',
      'ConflictError',
      'WriteConflictError',
      'ReadConflictError',
      'GhostError',
      'SerializationError',
      'UnregisteredClassError',
      'StorageError',
      'CorruptStorageError',
      'StorageFullError',
      'StorageBusyError',
      'DatabaseClosedError',
      'ROOT_OID',
      'MemoryStorage',
    ].sort(),
  );
});

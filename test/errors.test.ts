import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  CorruptStorageError,
  DatabaseClosedError,
  GhostError,
  ReadConflictError,
  SerializationError,
  ShelfError,
  StorageBusyError,
  StorageError,
  StorageFullError,
  UnregisteredClassError,
  WriteConflictError,
} from '../src/index.js';
import { afterCleanup, errorFromWire, errorToWire, isWireError } from '../src/shared/errors.js';

/** Through the wire form and structured clone, as across a worker. */
const cross = (e: unknown): Error => {
  const wire = structuredClone(errorToWire(e));
  expect(isWireError(wire)).toBe(true);
  return errorFromWire(wire);
};

describe('errors', () => {
  it('form the tree of API.md', () => {
    expect(new WriteConflictError([1])).toBeInstanceOf(ConflictError);
    expect(new ReadConflictError([1])).toBeInstanceOf(ConflictError);
    expect(new UnregisteredClassError('X', 'p')).toBeInstanceOf(SerializationError);
    for (const E of [CorruptStorageError, StorageFullError, StorageBusyError]) {
      expect(new E('m')).toBeInstanceOf(StorageError);
    }
    for (const e of [
      new ConflictError('m', []),
      new GhostError(1, 'X'),
      new SerializationError('m', 'p'),
      new StorageError('m'),
      new DatabaseClosedError(),
    ]) {
      expect(e).toBeInstanceOf(ShelfError);
      expect(e).toBeInstanceOf(Error);
    }
    expect(new WriteConflictError([3]).name).toBe('WriteConflictError');
  });

  it('keep class and fields across the wire', () => {
    const w = cross(new WriteConflictError([4, 5]));
    expect(w).toBeInstanceOf(WriteConflictError);
    expect((w as WriteConflictError).oids).toEqual([4, 5]);
    const r = cross(new ReadConflictError([6], 'custom'));
    expect(r).toBeInstanceOf(ReadConflictError);
    expect(r.message).toBe('custom');
    const g = cross(new GhostError(7, 'Todo'));
    expect(g).toMatchObject({ oid: 7, className: 'Todo' });
    expect(g).toBeInstanceOf(GhostError);
    const u = cross(new UnregisteredClassError('Point', 'Todo 1 → .p'));
    expect(u).toBeInstanceOf(UnregisteredClassError);
    expect(u).toMatchObject({ className: 'Point', path: 'Todo 1 → .p' });
    expect(cross(new StorageFullError('full'))).toBeInstanceOf(StorageFullError);
    expect(cross(new DatabaseClosedError())).toBeInstanceOf(DatabaseClosedError);
    expect(cross(new RangeError('r'))).toBeInstanceOf(RangeError);
    const plain = cross('a string was thrown');
    expect(plain.message).toBe('a string was thrown');
  });

  it('say what happened, to which object, and what to do', () => {
    const w = new WriteConflictError([12]);
    expect(w.message).toMatch(/oid 12/);
    expect(w.message).toMatch(/abort/);
    expect(new GhostError(3, 'Todo').message).toMatch(/Todo 3.*conn\.load/);
  });
});

describe('afterCleanup: a failure, then the cleanup it needed', () => {
  it('reports the failure itself when the cleanup succeeds', async () => {
    const failure = new TypeError('the options clash');
    let cleaned = false;
    const reported = await afterCleanup(failure, async () => void (cleaned = true), 'closing');
    expect(reported).toBe(failure);
    expect(cleaned).toBe(true);
  });

  it('reports both, the failure as the cause, when the cleanup fails too', async () => {
    const failure = new TypeError('the options clash');
    const reported = await afterCleanup(
      failure,
      () => Promise.reject(new Error('the disk is gone')),
      'closing the storage',
    );
    expect(reported).toBeInstanceOf(StorageError);
    expect((reported as Error).message).toBe(
      'the options clash Then closing the storage failed too: the disk is gone',
    );
    expect((reported as Error).cause).toBe(failure);
  });
});

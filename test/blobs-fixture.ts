/**
 * What the blob tests share: the storages they run over (MemoryStorage, and ShelfStorage on a Node
 * directory, both with blobGraceMs 0), a Database with the test classes, a storage wrapper that
 * counts and holds back putBlob calls or refuses commits, and bytes to store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { type Connection, Database, Persistent } from '../src/index.js';
import { StorageError } from '../src/shared/errors.js';
import type { BlobInfo, CommitRequest, Storage, Tid } from '../src/shared/storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { NodeBlockDirectory } from '../worker/node-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { storedBlobState } from '../src/stored-blob.js';
import { CLASSES } from './fixtures.js';

/** An object holding whatever a test puts in it. */
export class Doc extends Persistent {
  static _p_name = 'Doc';
  title = '';
  photo: unknown = null;
  more: unknown = null;
}

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-blobs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let made = 0;

/** The storages every blob test runs over: a fresh one each call. */
export const BACKENDS: [string, () => Promise<Storage>][] = [
  ['MemoryStorage', async () => new MemoryStorage({ blobGraceMs: 0 })],
  [
    'ShelfStorage on a Node directory',
    async () =>
      ShelfStorage.open(await NodeBlockDirectory.create(join(scratch, `db-${made++}`)), {
        kind: 'file',
        blobGraceMs: 0,
        packSliceMs: 0,
      }),
  ],
];

/** What `hooked` lets a test see and steer. */
export interface Hooks {
  /** Every Blob putBlob was given, in order. */
  puts: Blob[];
  /** When set, putBlob waits for this before it stores. */
  gate?: Promise<void>;
  /** Called as soon as putBlob is called (before the gate). */
  onPut?: () => void;
  /** Commits refused with StorageError before one goes through. */
  refuseCommits: number;
  /** Every commit request that reached the storage, in order. */
  commits: CommitRequest[];
}

/** `inner`, with putBlob counted (and held back at `gate`) and commits refused while asked to. */
export function hooked(inner: Storage): { storage: Storage; hooks: Hooks } {
  const hooks: Hooks = { puts: [], refuseCommits: 0, commits: [] };
  const putBlob = async (blob: Blob): Promise<BlobInfo> => {
    hooks.puts.push(blob);
    hooks.onPut?.();
    await hooks.gate;
    return inner.putBlob(blob);
  };
  const commit = async (txn: CommitRequest): Promise<Tid> => {
    hooks.commits.push(txn);
    if (hooks.refuseCommits > 0) {
      hooks.refuseCommits--;
      throw new StorageError('The test storage refused this commit.');
    }
    return inner.commit(txn);
  };
  const storage = new Proxy(inner, {
    get(target, key) {
      if (key === 'putBlob') return putBlob;
      if (key === 'commit') return commit;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
  return { storage, hooks };
}

/** A Database over `storage` with the test classes and Doc. */
export function open(storage: Storage): Database {
  return new Database(storage, { classes: [...CLASSES, Doc] });
}

/** `n` bytes of a pattern that `seed` changes (not all zero, so misplaced ranges show). */
export function bytesOf(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return out;
}

/** The oid of the blob record a loaded Blob references. */
export function recordOf(blob: unknown): number | undefined {
  return storedBlobState(blob)?.fields.oid;
}

/** A promise and the function that resolves it. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * Whether `actual` holds exactly the bytes `expected` (compared natively: `toEqual` on megabytes
 * of bytes walks them one by one for seconds).
 */
export function sameBytes(actual: ArrayBuffer | Uint8Array, expected: Uint8Array): boolean {
  return Buffer.from(actual instanceof Uint8Array ? actual : new Uint8Array(actual)).equals(
    Buffer.from(expected),
  );
}

/** The connection that holds `obj`. */
export function connOf(obj: Persistent | undefined): Connection {
  return (obj as Persistent)._p_connection as unknown as Connection;
}

/**
 * What the runner-free Storage checks (test/storage-checks*.ts) share: the factory they take, the
 * check type, and small builders. Nothing here imports a test runner.
 */
import type { Storage, StoredRecord } from '../src/shared/storage.js';

/** A fresh storage whose database can be opened again after the check closes it. */
export interface ReopenableStorage {
  storage: Storage;
  /** Opens the same database again (the check calls it after closing `storage`). */
  reopen(): Promise<Storage> | Storage;
}

/** Makes a fresh, empty storage (reopenable when its data outlives it). */
export type StorageFactory = () =>
  Promise<Storage | ReopenableStorage> | Storage | ReopenableStorage;

/** A named check: runs against storages from the factory and throws on failure. */
export type StorageCheck = [name: string, run: (factory: StorageFactory) => Promise<void>];

const isReopenable = (made: Storage | ReopenableStorage): made is ReopenableStorage =>
  'reopen' in made && typeof made.reopen === 'function' && 'storage' in made;

/** A fresh storage from `factory`, with its `reopen` when it has one. */
export async function reopenable(
  factory: StorageFactory,
): Promise<ReopenableStorage | { storage: Storage }> {
  const made = await factory();
  return isReopenable(made) ? made : { storage: made };
}

/** A fresh storage from `factory`. */
export async function fresh(factory: StorageFactory): Promise<Storage> {
  return (await reopenable(factory)).storage;
}

export const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);

/** A record of class test.Thing; `tid` is the revision it is based on (none: not given). */
export function rec(
  oid: number,
  state: Uint8Array,
  refs: number[] = [],
  tid?: number,
): StoredRecord {
  const r: StoredRecord = { oid, className: 'test.Thing', state, refs };
  if (tid !== undefined) r.tid = tid;
  return r;
}

/**
 * Commits the root (state [1]) referencing `a` (state [aState]) at tid `t1`; `b` is handed out and
 * never stored.
 */
export async function rootAndA(
  s: Storage,
  aState = 1,
): Promise<{ a: number; b: number; t1: number }> {
  const [a, b] = (await s.newOids(2)) as [number, number];
  const t1 = await s.commit({
    baseTid: 0,
    records: [rec(0, bytes(1), [a]), rec(a, bytes(aState))],
  });
  return { a, b, t1 };
}

/** Commits the root (state [0]) referencing `a` and `b` (state [1] each) at tid `t1`. */
export async function rootAndAB(s: Storage): Promise<{ a: number; b: number; t1: number }> {
  const [a, b] = (await s.newOids(2)) as [number, number];
  const t1 = await s.commit({
    baseTid: 0,
    records: [rec(0, bytes(0), [a, b]), rec(a, bytes(1)), rec(b, bytes(1))],
  });
  return { a, b, t1 };
}

/** The state bytes of `oid` as of `atTid` (default: newest), as an array; [] when none. */
export async function stateOf(s: Storage, oid: number, atTid?: number): Promise<number[]> {
  return [...((await s.load([oid], atTid))[0]?.state ?? [])];
}

/** The newest tid of `s`. */
export async function newest(s: Storage): Promise<number> {
  return (await s.sync(Number.MAX_SAFE_INTEGER)).tid;
}

/**
 * The Storage contract suite under Vitest: every storage implementation runs it. The checks
 * themselves are runner-free (test/storage-checks.ts), so pages in Chromium run them too; this
 * file only gives each check a Vitest test.
 */
import { describe, it } from 'vitest';
import type { Storage } from '../src/shared/storage.js';
import { argumentChecks, storageChecks, type StorageFactory } from './storage-checks.js';
import { inProcessChecks } from './storage-checks-direct.js';

export type { ReopenableStorage, StorageFactory } from './storage-checks.js';

/** The contract, one Vitest test per check. `factory` makes a fresh, empty storage. */
export function describeStorage(name: string, factory: StorageFactory): void {
  describe(`Storage contract: ${name}`, () => {
    for (const [check, run] of storageChecks) it(check, () => run(factory));
  });
}

/** The argument checks of the contract. `make` returns a fresh, empty storage. */
export function describeStorageArguments(
  name: string,
  make: () => Promise<Storage> | Storage,
): void {
  describe(`Storage contract, arguments: ${name}`, () => {
    for (const [check, run] of argumentChecks) it(check, () => run(make));
  });
}

/**
 * The checks that hand a storage what no link carries (test/storage-checks-direct.ts), for
 * storages in this process. `make` returns a fresh, empty storage.
 */
export function describeStorageInProcess(
  name: string,
  make: () => Promise<Storage> | Storage,
): void {
  describe(`Storage contract, in process: ${name}`, () => {
    for (const [check, run] of inProcessChecks) it(check, () => run(make));
  });
}

/**
 * The Storage contract as runner-free checks (ZODB's storage test mixins are the model): named
 * async checks that take a factory of fresh, empty storages and throw on failure, so the same
 * checks run under Vitest (test/storage-contract.ts wraps them) and in a page or worker in
 * Chromium over OPFS and real IndexedDB. A storage whose data outlives it is made as
 * `{ storage, reopen }`, and the checks also test what must hold after reopening.
 *
 * Nothing here (or in what it imports) needs a test runner, Node or the DOM.
 */
import { toolChecks } from './storage-checks-tools.js';
import { commitChecks } from './storage-checks-commit.js';
import { blobChecks } from './storage-checks-blobs.js';
import type { StorageCheck, StorageFactory } from './storage-check-kit.js';

export type { ReopenableStorage, StorageCheck, StorageFactory } from './storage-check-kit.js';
export { argumentChecks } from './storage-checks-tools.js';
export { blobPackChecks } from './storage-checks-blobs.js';

/** Every check of the contract, in the order they run. */
export const storageChecks: StorageCheck[] = [...commitChecks, ...toolChecks, ...blobChecks];

/**
 * Runs `checks` (default: every contract check), each against storages from `factory`; resolves
 * to the failures as `name: error` (empty: passed).
 */
export async function runStorageChecks(
  factory: StorageFactory,
  checks: StorageCheck[] = storageChecks,
): Promise<string[]> {
  const failures: string[] = [];
  for (const [name, run] of checks) {
    try {
      await run(factory);
    } catch (error) {
      failures.push(`${name}: ${String(error)}`);
    }
  }
  return failures;
}

/**
 * The runner-free contract checks as a page in Chromium runs them: `runStorageChecks` with a
 * factory, no Vitest inside. They pass for a storage that keeps the contract, and name the check
 * a storage that breaks it fails.
 */
import { describe, expect, it } from 'vitest';
import { PackRun } from '../worker/pack-run.js';
import type { PackOptions, PackResult } from '../src/shared/storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { argumentChecks, runStorageChecks, storageChecks } from './storage-checks.js';

describe('runStorageChecks', () => {
  it('runs every contract check without a test runner and finds nothing wrong with MemoryStorage', async () => {
    expect(await runStorageChecks(() => new MemoryStorage())).toEqual([]);
    expect(await runStorageChecks(() => new MemoryStorage(), argumentChecks)).toEqual([]);
  });

  it('names the check a storage fails: a pack that does not join the running one', async () => {
    /** Packs once per call, as MemoryStorage did before packs joined. */
    class PackingTwice extends MemoryStorage {
      override async pack(options: PackOptions = {}): Promise<PackResult> {
        this.checkOpen();
        return this.packNow(options.keepTid, new PackRun());
      }
    }
    const failures = await runStorageChecks(() => new PackingTwice());
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(
      /^resolves a second pack while one runs .*: Error: the second pack's result/,
    );
    expect(storageChecks.map(([name]) => name)).toContain(failures[0]?.split(':')[0]);
  });
});

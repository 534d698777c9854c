/**
 * The Storage contract in real Chromium: every check the Node suite runs (test/storage-checks.ts),
 * through the page's link to a real storage worker, over OPFS and over real IndexedDB.
 */
import { expect, test } from '@playwright/test';

declare global {
  interface Window {
    runContract(kind: 'opfs' | 'indexeddb', which: 'contract' | 'arguments'): Promise<string[]>;
  }
}

for (const kind of ['opfs', 'indexeddb'] as const) {
  for (const which of ['contract', 'arguments'] as const) {
    test(`${kind}: the storage ${which} checks hold through the storage worker`, async ({
      page,
    }) => {
      test.setTimeout(180_000);
      await page.goto('/e2e/pages/contract.html');
      await expect(page.locator('body[data-ready="yes"]')).toBeAttached({ timeout: 30_000 });
      const failures = await page.evaluate(({ kind, which }) => window.runContract(kind, which), {
        kind,
        which,
      });
      expect(failures).toEqual([]);
    });
  }
}

/**
 * The OPFS blob folder in real Chromium: the BlobStore contract in a dedicated worker (sync access
 * handles), and in the page (writable streams, the path where no sync handle exists).
 */
import { expect, test } from '@playwright/test';

test('the BlobStore contract holds over the OPFS folder in a worker', async ({ page }) => {
  await page.goto('/e2e/pages/blank.html');
  const failures = await page.evaluate(
    () =>
      new Promise<unknown>((resolve) => {
        const worker = new Worker('/e2e/pages/blob-store-worker.ts', { type: 'module' });
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => resolve([`worker error: ${event.message}`]);
      }),
  );
  expect(failures).toEqual([]);
});

for (const move of [true, false]) {
  test(`the BlobStore contract holds over the OPFS folder in a page (writable streams${move ? '' : ', copied where move() is missing'})`, async ({
    page,
  }) => {
    await page.goto('/e2e/pages/blank.html');
    const failures = await page.evaluate(async (move) => {
      // Browsers without FileSystemHandle.move() publish by copying through a writable stream.
      if (!move) delete (FileSystemFileHandle.prototype as { move?: unknown }).move;
      const contract = '/test/blob-store-contract.ts';
      const opfs = '/worker/opfs-file.ts';
      const { runBlobStoreChecks } = (await import(
        /* @vite-ignore */ contract
      )) as typeof import('../test/blob-store-contract.js');
      const { OpfsBlockDirectory } = (await import(
        /* @vite-ignore */ opfs
      )) as typeof import('../worker/opfs-file.js');
      let n = 0;
      return runBlobStoreChecks(async () =>
        (await OpfsBlockDirectory.forDatabase(`blob-page-${Date.now()}-${n++}`)).blobStore(),
      );
    }, move);
    expect(failures).toEqual([]);
  });
}

/**
 * Note attachments by URL in the built sample app: an image attached to a note is shown by
 * `<img src="/shelfdb/blob/<hash>?type=image/png">`, answered by the app's service worker from the
 * blob file in the database's OPFS folder (demo/sw.ts, worker/blob-route.ts): after a reload, for a
 * Range request, and with the network and the server gone. The build takes a few seconds.
 */
import { readFile } from 'node:fs/promises';
import { expect, test as base, type Page } from '@playwright/test';
import { buildAndServeDemo, type ServedDemo } from './demo-build.js';

const test = base.extend<object, { demo: ServedDemo }>({
  demo: [
    // eslint-disable-next-line no-empty-pattern -- Playwright fixtures name what they use
    async ({}, use) => {
      const demo = await buildAndServeDemo();
      await use(demo);
      await demo.dispose();
    },
    { scope: 'worker', timeout: 60_000 },
  ],
});

/** A real 192×192 PNG: the demo's own icon. */
const ICON = new URL('../demo/public/icons/icon-192.png', import.meta.url);

/** Resolves once a service worker controls the page. */
async function controlled(page: Page): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        if (navigator.serviceWorker.controller !== null) resolve();
        else navigator.serviceWorker.addEventListener('controllerchange', () => resolve());
      }),
  );
}

test('an image attached to a note is served by the service worker by its hash: shown after a reload, a Range fetch answers 206 with its bytes, and it shows offline', async ({
  page,
  context,
  demo,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const png = await readFile(ICON);
  await page.goto(demo.url);
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await controlled(page);

  // Attach the image and a text file to the newest note, and save.
  const first = page.locator('#notes > li').first();
  const text = (await first.locator('span').first().textContent()) ?? '';
  await first.getByRole('button', { name: 'Edit' }).click();
  const editor = page.locator('#notes > li.editing');
  await editor.getByLabel('Attach', { exact: true }).setInputFiles([
    { name: 'icon.png', mimeType: 'image/png', buffer: png },
    { name: 'readme.txt', mimeType: 'text/plain', buffer: Buffer.from('hello, attachments') },
  ]);
  await expect(editor.getByRole('list', { name: 'Attached files' })).toContainText('icon.png');
  await editor.getByRole('button', { name: 'Save' }).click();
  const saved = page.locator('#notes > li', { hasText: text }).first();
  await expect(saved.locator('img.thumb')).toHaveAttribute('alt', 'icon.png');
  await expect(saved.getByRole('link', { name: 'readme.txt, 18 B' })).toBeVisible();

  // After a reload the list's image is the blob route's URL, and the browser shows it.
  await page.reload();
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  const img = page.locator('#notes > li img.thumb').first();
  await expect(img).toHaveAttribute('src', /^\/shelfdb\/blob\/[0-9a-f]{64}\?type=image%2Fpng$/);
  await expect.poll(() => img.evaluate((e: HTMLImageElement) => e.naturalWidth)).toBe(192);
  const link = page.getByRole('link', { name: 'readme.txt, 18 B' });
  await expect(link).toHaveAttribute('download', 'readme.txt');
  expect(await link.evaluate(async (a: HTMLAnchorElement) => (await fetch(a.href)).text())).toBe(
    'hello, attachments',
  );

  // A Range request: 206, the bytes asked for, the headers of the route.
  const src = (await img.getAttribute('src')) ?? '';
  const ranged = await page.evaluate(async (url) => {
    const response = await fetch(url, { headers: { Range: 'bytes=16-23' } });
    return {
      status: response.status,
      contentRange: response.headers.get('content-range'),
      type: response.headers.get('content-type'),
      etag: response.headers.get('etag'),
      bytes: [...new Uint8Array(await response.arrayBuffer())],
    };
  }, src);
  const hash = /[0-9a-f]{64}/.exec(src)?.[0];
  expect(ranged).toEqual({
    status: 206,
    contentRange: `bytes 16-23/${png.length}`,
    type: 'image/png',
    etag: `"${hash}"`,
    bytes: [...png.subarray(16, 24)],
  });
  await page.screenshot({ path: 'e2e/screenshots/blob-url-attachments.png' });

  // Offline, the server gone: the page and the image come from the service worker.
  await context.setOffline(true);
  await demo.stop();
  await page.reload();
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await expect(img).toHaveAttribute('src', src);
  await expect.poll(() => img.evaluate((e: HTMLImageElement) => e.naturalWidth)).toBe(192);
  expect(errors).toEqual([]);
});

test('without a service worker (the dev server) an attached image is shown by an object URL of its stored file, after a reload too', async ({
  page,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto('/demo/index.html');
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  const first = page.locator('#notes > li').first();
  await first.getByRole('button', { name: 'Edit' }).click();
  await page
    .locator('#notes > li.editing')
    .getByLabel('Attach', { exact: true })
    .setInputFiles({ name: 'icon.png', mimeType: 'image/png', buffer: await readFile(ICON) });
  await page.getByRole('button', { name: 'Save' }).click();
  const img = page.locator('#notes > li img.thumb').first();
  for (const when of ['saved', 'reloaded']) {
    if (when === 'reloaded') {
      await page.reload();
      await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
    }
    await expect(img, when).toHaveAttribute('src', /^blob:/);
    await expect.poll(() => img.evaluate((e: HTMLImageElement) => e.naturalWidth)).toBe(192);
  }
  // Drawn again (a note added): the earlier drawing's object URL is revoked, the new one shows.
  const before = await img.getAttribute('src');
  await page.getByPlaceholder('Write a note').fill('Another note');
  await page.keyboard.press('Enter');
  await expect(img).not.toHaveAttribute('src', before ?? '');
  await expect.poll(() => img.evaluate((e: HTMLImageElement) => e.naturalWidth)).toBe(192);
  const revoked = await page.evaluate(
    async (url) =>
      fetch(url).then(
        () => 'still readable',
        () => 'revoked',
      ),
    before ?? '',
  );
  expect(revoked).toBe('revoked');

  // The explorer beside the app shows the note's file: what it is, a preview, a download.
  const oid = await page
    .locator('#notes > li', { has: page.locator('img.thumb') })
    .getAttribute('data-oid');
  await page.getByRole('button', { name: 'Explorer' }).click();
  const panel = page.getByRole('complementary', { name: 'Explorer' });
  await panel.getByLabel('Object id').fill(String(oid));
  await panel.getByRole('button', { name: 'Open', exact: true }).click();
  const files = panel.getByRole('table', { name: 'Fields' }).getByRole('row', { name: /^files/ });
  const value = files.locator('shelf-blob-value');
  await expect(value).toContainText('File "icon.png"');
  await expect(value).toContainText('image/png');
  await expect(value).toContainText(`${(await readFile(ICON)).length.toLocaleString('en')} bytes`);
  const preview = value.getByRole('img', { name: 'Preview of icon.png' });
  await expect.poll(() => preview.evaluate((e: HTMLImageElement) => e.naturalWidth)).toBe(192);
  const download = page.waitForEvent('download');
  await value.getByRole('button', { name: 'Download icon.png' }).click();
  expect((await download).suggestedFilename()).toBe('icon.png');
  await page.screenshot({ path: 'e2e/screenshots/blob-url-explorer.png' });
  expect(errors).toEqual([]);
});

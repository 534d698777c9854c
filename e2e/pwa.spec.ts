/**
 * The built sample app as an offline-first PWA: a web app manifest, and a service worker that
 * precaches the app shell, so a reload with the network off still opens the app with its data.
 * The build takes a few seconds (once for this file).
 */
import { expect, test as base } from '@playwright/test';
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

test('the built demo links a web app manifest with a name, a start url and 192 and 512 pixel PNG icons', async ({
  page,
  demo,
}) => {
  await page.goto(demo.url);
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  const manifest = await page.evaluate(async () => {
    const link = document.querySelector<HTMLLinkElement>('link[rel="manifest"]');
    if (link === null) return 'no <link rel="manifest">';
    const response = await fetch(link.href);
    const json = (await response.json()) as {
      name: string;
      short_name: string;
      display: string;
      theme_color: string;
      background_color: string;
      start_url: string;
      icons: { src: string; sizes: string; type: string }[];
    };
    const icons = await Promise.all(
      json.icons.map(async (icon) => {
        const url = new URL(icon.src, link.href);
        const got = await fetch(url);
        const bytes = new DataView(await got.arrayBuffer());
        // A PNG's IHDR chunk: width and height at bytes 16 and 20.
        const png = bytes.getUint32(0) === 0x89504e47;
        return `${icon.sizes} ${icon.type}: ${got.headers.get('content-type')} ${png ? 'PNG' : 'not a PNG'} ${bytes.getUint32(16)}x${bytes.getUint32(20)}`;
      }),
    );
    return {
      name: json.name,
      short_name: json.short_name,
      display: json.display,
      colors: [json.theme_color, json.background_color].every((c) => /^#[0-9a-f]{6}$/i.test(c)),
      start_url: new URL(json.start_url, link.href).href,
      icons,
    };
  });
  expect(manifest).toEqual({
    name: 'shelfdb notes',
    short_name: 'Notes',
    display: 'standalone',
    colors: true,
    start_url: demo.url,
    icons: [
      '192x192 image/png: image/png PNG 192x192',
      '512x512 image/png: image/png PNG 512x512',
      '512x512 image/png: image/png PNG 512x512',
    ],
  });
  await page.screenshot({ path: 'e2e/screenshots/pwa-built-app.png' });
});

test('the built demo reloads with the network off: the service worker serves the app and the explorer page, and the notes are there', async ({
  page,
  context,
  demo,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(demo.url);
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  for (const text of ['Pack for the trip', 'Written before going offline']) {
    await page.getByPlaceholder('Write a note').fill(text);
    await page.keyboard.press('Enter');
    await expect(page.locator('#notes li span').first()).toHaveText(text);
  }
  await expect(page.locator('#count')).toHaveText('7 notes');
  // The service worker installs (precaching the shell) and takes control of this page.
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        if (navigator.serviceWorker.controller !== null) resolve();
        else navigator.serviceWorker.addEventListener('controllerchange', () => resolve());
      }),
  );

  // Offline: the browser has no network, and the server is gone too.
  await context.setOffline(true);
  await demo.stop();
  await page.reload();
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await expect(page.locator('#notes li span').first()).toHaveText('Written before going offline');
  await expect(page.locator('#notes li span').nth(1)).toHaveText('Pack for the trip');
  await expect(page.locator('#count')).toHaveText('7 notes');
  await expect(page.locator('#status')).toContainText('storage: opfs');
  // Still usable: a note added offline is stored.
  await page.getByPlaceholder('Write a note').fill('Written offline');
  await page.keyboard.press('Enter');
  await expect(page.locator('#count')).toHaveText('8 notes');
  await page.screenshot({ path: 'e2e/screenshots/pwa-offline-app.png' });

  // The explorer page opens offline as well, on the app's database.
  await page.goto(`${demo.url}explorer.html?db=notes&storage=opfs`);
  await expect(page.locator('body[data-ready="yes"]')).toBeAttached();
  await expect(page.getByRole('tab', { name: 'Objects' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('shelf-explorer header')).toContainText('notes');
  await expect(page.locator('shelf-explorer header')).toContainText('read-only');
  // It reads the database offline: the root's entries are shown.
  await expect(page.getByRole('row', { name: /"notesByDate"/ })).toContainText('shelfdb.BTree');
  await page.screenshot({ path: 'e2e/screenshots/pwa-offline-explorer.png' });
  expect(errors).toEqual([]);
});

// The explorer on a large database (issue 14): builds an OPFS database of N records
// (bench/pages/explorer-bench.ts; 1,000,000 by default, `--n=N`, `--quick` 100,000) in headless
// Chromium, then opens it in <shelf-explorer> with no app class registered and browses it as a
// developer would: the root, the BTree of N entries paged forward, a key range, a record and back,
// a list of 5,000 paged, the log paged, the stats. Prints each step's time (click → shown) and the
// page's long tasks while browsing (PerformanceObserver 'longtask'), against the goal: no long
// task over 100 ms. The reference in the same run is the platform's floor for one step: a
// requestAnimationFrame round trip in that page (what any UI change costs at least).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium.mjs';
import { startServer } from './bench-server.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const N = Number(args.find((a) => a.startsWith('--n='))?.slice(4) ?? (quick ? 100_000 : 1_000_000));
const PORT = Number(args.find((a) => a.startsWith('--port='))?.slice(7) ?? 5176);
const GOAL_MS = 100;
const url = (query) => `http://127.0.0.1:${PORT}/bench/pages/explorer-bench.html${query}`;
const fmt = (n) => Math.round(n).toLocaleString('en-US');

const server = await startServer(PORT);
const dir = mkdtempSync(join(tmpdir(), 'shelfdb-explorer-bench-'));
const context = await chromium.launchPersistentContext(dir, {
  executablePath: chromiumPath(),
  args: CHROMIUM_ARGS,
  headless: true,
  viewport: { width: 1280, height: 900 },
});
try {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const ready = async () => {
    await page.waitForSelector('body[data-ready]', { state: 'attached', timeout: 1_800_000 });
    const state = await page.evaluate(() => document.body.dataset.ready);
    if (state !== 'yes') throw new Error(`the page failed: ${await page.textContent('body')}`);
  };

  await page.goto(url(`?build=${N}`));
  await ready();
  const built = await page.evaluate(() => window.bench.built);

  await page.goto(url(''));
  await ready();
  const explorer = page.locator('shelf-explorer');
  const steps = [];
  /** Runs `act`, then waits for `shown`; records the wall time. */
  const step = async (name, act, shown) => {
    const start = Date.now();
    await act();
    if (typeof shown === 'function') await shown();
    else await shown.first().waitFor({ state: 'visible', timeout: 60_000 });
    steps.push({ name, ms: Date.now() - start });
  };
  const button = (name) => explorer.getByRole('button', { name, exact: true });
  const openedAt = Date.now();
  await explorer.getByRole('button', { name: /BTree #/ }).waitFor({ timeout: 120_000 });
  const openMs = Date.now() - openedAt;
  const browseFrom = await page.evaluate(() => performance.now());

  await step(
    'open the BTree of N records from the root',
    () => explorer.getByRole('button', { name: /BTree #/ }).click(),
    explorer.getByText(`rows 1–50 of ${N.toLocaleString('en-US')}`),
  );
  for (let i = 1; i <= 20; i++) {
    await step(
      'next page of 50 entries',
      () => button('Next').click(),
      explorer.getByText(`rows ${fmt(i * 50 + 1)}–${fmt(i * 50 + 50)} of`),
    );
  }
  const middle = Math.floor(N / 2);
  await step(
    'a key range in the middle of the tree',
    async () => {
      await explorer.getByLabel('From key').fill(String(middle));
      await explorer.getByLabel('To key').fill(String(middle + 20));
      await button('Range').click();
    },
    explorer.getByRole('cell', { name: String(middle + 20), exact: true }),
  );
  await step(
    'open a record of the page',
    () =>
      explorer
        .getByRole('button', { name: /bench\.Rec #/ })
        .first()
        .click(),
    explorer.getByRole('cell', { name: 'title', exact: true }),
  );
  await step('back to the tree', () => button('Back').click(), button('Range'));
  await step(
    'back to the root',
    () => button('Root').click(),
    explorer.getByRole('button', { name: /PersistentList #/ }),
  );
  await step(
    'open the list of 5,000 from the root',
    () => explorer.getByRole('button', { name: /PersistentList #/ }).click(),
    explorer.getByText('rows 1–50 of 5,000'),
  );
  for (let i = 1; i <= 5; i++) {
    await step(
      'next page of the list',
      () => button('Next').click(),
      explorer.getByText(`rows ${fmt(i * 50 + 1)}–${fmt(i * 50 + 50)} of 5,000`),
    );
  }
  await step(
    'the Log tab (newest transactions)',
    () => explorer.getByRole('tab', { name: 'Log' }).click(),
    explorer.getByRole('cell', { name: /records from/ }),
  );
  // 50 transactions a page: a database of fewer chunks has no older page.
  // The log's table (the first in the Log tab): its text changes when the page does.
  const newestShown = () => explorer.locator('table').first().textContent();
  for (let i = 1; i <= 3 && !(await button('Older').isDisabled()); i++) {
    const before = await newestShown();
    await step(
      'older transactions',
      () => button('Older').click(),
      async () => {
        while ((await newestShown()) === before) await page.waitForTimeout(5);
      },
    );
  }
  await step(
    'the Maintenance tab (stats)',
    () => explorer.getByRole('tab', { name: 'Maintenance' }).click(),
    explorer.getByRole('rowheader', { name: 'Objects', exact: true }),
  );
  const frame = await page.evaluate(async () => {
    const times = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b)[10];
  });
  const longTasks = await page.evaluate(
    (from) => window.bench.longTasks.filter((t) => t.start >= from).map((t) => t.ms),
    browseFrom,
  );
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);

  const byName = new Map();
  for (const s of steps) byName.set(s.name, [...(byName.get(s.name) ?? []), s.ms]);
  console.log(
    `Explorer on ${N.toLocaleString('en-US')} records (built in ${fmt(built.ms / 1000)} s), Chromium headless, ${new Date().toISOString().slice(0, 10)}\n`,
  );
  console.log('| step | times | median ms | max ms | × a frame |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| open the database, root shown | 1 | ${fmt(openMs)} | ${fmt(openMs)} | – |`);
  for (const [name, times] of byName) {
    const sorted = [...times].sort((a, b) => a - b);
    const med = sorted[sorted.length >> 1];
    console.log(
      `| ${name} | ${times.length} | ${fmt(med)} | ${fmt(sorted.at(-1))} | ${(med / frame).toFixed(1)}× |`,
    );
  }
  const longest = longTasks.length > 0 ? Math.max(...longTasks) : 0;
  console.log(`\nA frame (requestAnimationFrame round trip, median): ${frame.toFixed(1)} ms.`);
  console.log(
    `Long tasks while browsing: ${longTasks.length}, longest ${fmt(longest)} ms, over ${GOAL_MS} ms: ${longTasks.filter((t) => t > GOAL_MS).length} (goal: none over ${GOAL_MS} ms: ${longest <= GOAL_MS ? 'met' : 'missed'}).`,
  );
} finally {
  await context.close();
  rmSync(dir, { recursive: true, force: true });
  server.kill();
}

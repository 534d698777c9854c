/**
 * shelfdb as apps install it: packed (`npm pack`), installed into a fresh app outside the
 * repository, and used the ways apps use it — a Node script, a Vite app in dev mode, the same app
 * built for production (two builds minified differently, sharing one database), a page with no
 * bundler at all, and webpack 5. The app's strict TypeScript compiles against the shipped declarations.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import {
  installPackage,
  run,
  staticFiles,
  vite,
  type InstalledApp,
} from './installed/package-app.js';

interface Listed {
  title: string;
  isTodo: boolean;
  broken: boolean;
}
interface AppHandle {
  storage: string;
  className?: string;
  add(title: string): Promise<void>;
  list(): Promise<Listed[]>;
}

/**
 * Gzipped bytes of JavaScript a production build of the app loads to open its database on OPFS
 * (page and worker), at most. The goal in issue 11 is 30 kB; see BENCHMARKS.md for where it stands.
 * Issue 12's fast paths added ~3.2 kB (54.6 kB measured). Issue 13 added ~7.9 kB (62.5 kB): the
 * incremental pack in both storages (mark in slices, compaction runs, IndexedDB's chunked sweep),
 * its progress and abort across both links, time travel; undo loads on first use. Issue 14 added
 * ~1.6 kB (64.1 kB): the 'transaction' event, storedSize, the loader's pause and its 'stale'
 * bookkeeping, the damage checks of the header-only log listing, PersistentDict's upsert
 * (listDatabases loads on first use; the explorer is an entry of its own). Raised to 65 kB then,
 * ~0.9 kB of headroom. Issue 15 added ~2.5 kB (66.6 kB): every open looks for a restore's mark
 * (restore-mark.ts: a cut-off restore must not open as a whole database; the lookup runs on every
 * open, so loading it lazily would save no byte), the storages' restore mode, db.backup's stub
 * (the archive code itself loads on first use). Raised to 67 kB: the 30 kB goal stands. Issue 16
 * (blobs) added ~13.3 kB (79.9 kB here: page 36.0, worker 43.9; bench/size.mjs: +9.7 kB): the page's StoredBlob,
 * upload-before-capture and db.blobs (~3 kB), the worker's blob stores, the commit's blob check,
 * pack's sweep and an incremental SHA-256 (the OPFS store clears temporaries at every open, so it
 * is not lazy yet). Raised to 81 kB. The blob speed work after it added ~1.2 kB (81.0 kB here:
 * page 36.1, worker 44.9): the WebCrypto whole-blob put, StoredBlob's platform-file stream, the
 * IndexedDB one-transaction put and its repair of damaged copies. Raised to 82 kB.
 */
const SIZE_BUDGET = 82_000;

test.describe.configure({ mode: 'serial', timeout: 180_000 });

let app: InstalledApp;

test.beforeAll(async () => {
  test.setTimeout(300_000);
  app = installPackage();
});

test.afterAll(() => app?.remove());

/** Opens the app at `url` and waits until it has opened its database; fails with its errors. */
async function openApp(page: Page, url: string, errors: string[]): Promise<void> {
  await page.goto(url);
  await ready(page, errors);
}

async function ready(page: Page, errors: string[]): Promise<void> {
  await expect(page.locator('body[data-ready="yes"]'), errors.join('\n')).toBeAttached({
    timeout: 30_000,
  });
}

/** Runs `fn(window.app, arg)` in the page: `fn` is sent as source, so it closes over nothing. */
const call = <T, A = undefined>(
  page: Page,
  fn: (app: AppHandle, arg: A) => Promise<T> | T,
  arg?: A,
): Promise<T> =>
  page.evaluate(`(${fn.toString()})(window.app, ${JSON.stringify(arg ?? null)})`) as Promise<T>;

const todo = (title: string): Listed => ({ title, isTodo: true, broken: false });

function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // A module that fails to load (a bare specifier without a mapping) is a console error only.
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

test('a Node script commits to a file database and a second process reads it back', () => {
  const data = join(app.dir, 'node-data');
  run(process.execPath, ['node-app.mjs', data, 'add', 'written by one process'], app.dir);
  run(process.execPath, ['node-app.mjs', data, 'add', 'and by another'], app.dir);
  const listed = JSON.parse(run(process.execPath, ['node-app.mjs', data, 'list'], app.dir)) as {
    storage: string;
    verified: boolean;
    todos: { title: string; isTodo: boolean; attachment: string }[];
    blobs: number;
  };
  expect(listed).toEqual({
    storage: 'file',
    verified: true,
    todos: [
      {
        title: 'written by one process',
        isTodo: true,
        attachment: 'notes.txt: notes on written by one process',
      },
      { title: 'and by another', isTodo: true, attachment: 'notes.txt: notes on and by another' },
    ],
    blobs: 2,
  });
});

test('the installed package exports the blob route for service workers', () => {
  const probe =
    "const m = await import('shelfdb/service-worker'); console.log(typeof m.serveBlob, typeof m.blobRoute);";
  expect(run(process.execPath, ['--input-type=module', '-e', probe], app.dir).trim()).toBe(
    'function function',
  );
});

test("the installed shelfdb command line reads the Node script's database, and explains itself", () => {
  // The database the test above made with node-app.mjs (tests here run in order).
  const data = join(app.dir, 'node-data');
  const info = JSON.parse(
    run('npx', ['--no-install', 'shelfdb', 'info', data, '--json'], app.dir),
  ) as {
    objects: number;
    transactions: number;
  };
  expect(info.objects).toBeGreaterThanOrEqual(4); // the root, the list and two todos at least
  expect(info.transactions).toBeGreaterThanOrEqual(2);
  expect(run('npx', ['--no-install', 'shelfdb', 'verify', data], app.dir)).toContain('ok');
  const help = run('npx', ['--no-install', 'shelfdb', '--help'], app.dir);
  expect(help).toContain('Exit codes:');
  expect(help).toMatch(/^ {2}recover /m);
});

test("the app's strict TypeScript compiles against the shipped declarations", () => {
  run(process.execPath, [join(app.dir, 'node_modules/typescript/bin/tsc'), '-p', '.'], app.dir);
});

test('a Vite app in dev mode commits on OPFS and reads its data back after a reload', async ({
  page,
}) => {
  const errors = pageErrors(page);
  const server = await vite(app, [], 5185);
  try {
    await openApp(page, server.url, errors);
    expect(await call(page, (a) => a.storage)).toBe('opfs');
    await call(page, (a) => a.add('from the dev server'));
    await page.reload();
    await ready(page, errors);
    expect(await call(page, (a) => a.list())).toEqual([todo('from the dev server')]);
  } finally {
    await server.stop();
  }
  expect(errors).toEqual([]);
});

test('two production builds, minified differently, share one database: stored class names survive', async ({
  context,
}) => {
  run(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', 'build-a'], app.dir);
  run(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', '--outDir', 'build-b', '--minify', 'false'],
    app.dir,
  );
  // One port, so both builds are one origin and open one database.
  const preview = async (outDir: string, use: (page: Page) => Promise<void>): Promise<void> => {
    const server = await vite(app, ['preview', '--outDir', outDir], 5186);
    const page = await context.newPage();
    const errors = pageErrors(page);
    try {
      await openApp(page, server.url, errors);
      await use(page);
    } finally {
      await page.close();
      await server.stop();
    }
    expect(errors).toEqual([]);
  };
  let classNameA = '';
  const loaded: { url: string; gzipped: number }[] = [];
  context.on('response', (response) => {
    if (!response.url().endsWith('.js')) return;
    void response.body().then((body) => {
      loaded.push({ url: response.url(), gzipped: gzipSync(body, { level: 9 }).length });
    });
  });
  await preview('build-a', async (page) => {
    classNameA = (await call(page, (a) => a.className)) ?? '';
    expect(await call(page, (a) => a.storage)).toBe('opfs');
    await call(page, (a) => a.add('from build A'));
    recordSize(loaded.splice(0));
  });
  await preview('build-b', async (page) => {
    // The builds really differ in the class's name: only the stored name ties them together.
    expect(await call(page, (a) => a.className)).toBe('Todo');
    expect(classNameA).not.toBe('Todo');
    expect(await call(page, (a) => a.list())).toEqual([todo('from build A')]);
    await call(page, (a) => a.add('from build B'));
  });
  await preview('build-a', async (page) => {
    expect(await call(page, (a) => a.list())).toEqual([todo('from build A'), todo('from build B')]);
  });
});

test('the explorer, imported from shelfdb/explorer, shows the app database in a production build', async ({
  page,
}) => {
  // A production build: the bundler honours the package's sideEffects, which must keep the
  // explorer's element definitions.
  run(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', '--outDir', 'build-explorer'],
    app.dir,
  );
  const errors = pageErrors(page);
  const server = await vite(app, ['preview', '--outDir', 'build-explorer'], 5187);
  try {
    await openApp(page, server.url, errors);
    await call(page, (a) => a.add('seen in the explorer'));
    await openApp(page, `${server.url}explorer.html`, errors);
    const explorer = page.locator('shelf-explorer');
    await expect(explorer.getByRole('tab', { name: 'Objects' })).toHaveAttribute(
      'aria-selected',
      'true',
    );
    // The root's field, a link to the app's list, followed to a Todo shown as stored.
    await explorer.getByRole('button', { name: /PersistentList/ }).click();
    await explorer
      .getByRole('button', { name: /app\.Todo/ })
      .first()
      .click();
    await expect(explorer.getByText('seen in the explorer')).toBeVisible();
    await page.screenshot({ path: 'e2e/screenshots/installed-explorer.png' });
  } finally {
    await server.stop();
  }
  expect(errors).toEqual([]);
});

test('a page with no bundler imports shelfdb through an import map and keeps its data', async ({
  page,
}) => {
  // The import map names only shelfdb and its dependencies (none stale): what the page loads.
  const html = readFileSync(join(app.dir, 'plain.html'), 'utf8');
  const map = JSON.parse(/<script type="importmap">([^]*?)<\/script>/.exec(html)?.[1] ?? '{}') as {
    imports: Record<string, string>;
  };
  const installed = JSON.parse(
    readFileSync(join(app.dir, 'node_modules/shelfdb/package.json'), 'utf8'),
  ) as { dependencies?: Record<string, string> };
  for (const name of Object.keys(map.imports)) {
    expect(['shelfdb', ...Object.keys(installed.dependencies ?? {})]).toContain(name);
  }
  const errors = pageErrors(page);
  const server = await staticFiles(app, 5187);
  try {
    for (const storage of ['opfs', 'indexeddb']) {
      await openApp(page, `${server.url}plain.html?storage=${storage}`, errors);
      expect(await call(page, (a) => a.storage)).toBe(storage);
      await call(page, (a, title) => a.add(title), `without a bundler, on ${storage}`);
      await page.reload();
      await ready(page, errors);
      expect(await call(page, (a) => a.list())).toEqual([todo(`without a bundler, on ${storage}`)]);
    }
  } finally {
    await server.stop();
  }
  expect(errors).toEqual([]);
});

/**
 * Records what the first production page loaded (the size step of `npm test`): the figures go to
 * test-results/package-size.json and the test output; more than SIZE_BUDGET fails.
 */
function recordSize(loaded: { url: string; gzipped: number }[]): void {
  const worker = loaded.filter((file) => /\/worker-[^/]*\.js$/.test(file.url));
  const page = loaded.filter((file) => !worker.includes(file));
  const sum = (files: { gzipped: number }[]): number =>
    files.reduce((total, file) => total + file.gzipped, 0);
  const report = {
    page: sum(page),
    worker: sum(worker),
    total: sum(loaded),
    files: loaded.map((file) => ({ file: new URL(file.url).pathname, gzipped: file.gzipped })),
  };
  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/package-size.json', JSON.stringify(report, null, 2));
  console.log(
    `shelfdb in a production app: page ${report.page} B + worker ${report.worker} B = ${report.total} B gzipped (budget ${SIZE_BUDGET} B)`,
  );
  expect(worker, 'the worker was loaded').toHaveLength(1);
  expect(report.total).toBeLessThanOrEqual(SIZE_BUDGET);
}

test('webpack 5 bundles the app with no configuration for shelfdb, and it keeps its data', async ({
  page,
}) => {
  run(process.execPath, ['webpack-build.mjs'], app.dir);
  // webpack found the worker by itself: it emitted it (and its lazy chunk) beside the app.
  expect(
    readdirSync(join(app.dir, 'build-webpack')).filter((f) => f.endsWith('.js')).length,
  ).toBeGreaterThan(1);
  const errors = pageErrors(page);
  const server = await staticFiles(app, 5188);
  try {
    await openApp(page, `${server.url}webpack.html`, errors);
    expect(await call(page, (a) => a.storage)).toBe('opfs');
    await call(page, (a) => a.add('bundled by webpack'));
    await page.reload();
    await ready(page, errors);
    expect(await call(page, (a) => a.list())).toEqual([todo('bundled by webpack')]);
  } finally {
    await server.stop();
  }
  expect(errors).toEqual([]);
});

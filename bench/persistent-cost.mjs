// Micro-benchmark: what a persistent object costs per object on the bulk-commit path (issue 12),
// with src/persistent.ts and src/cache.ts as they are, bundled with rolldown as an app would
// (the round itself is bench/persistent-cost-round.js):
// - construct: `Object.assign(new Rec(), fields)`, Rec having 7 class fields (the bench's records);
// - commit: the bookkeeping a landed commit does per new object (oid, status, `cache.add`,
//   `cache.noteLoaded`), as src/pending-commit.ts does it;
// - shrink: `cache.shrink()` with cacheSize N/10 after N new objects: 90% become ghosts;
// - reload: `setState` on those ghosts (what a later load does);
// - read: reads of every field of the reloaded objects, through the proxy.
// Times are main-thread CPU time (the machine may be shared: time spent waiting for a core says
// nothing of the code), the best of the rounds, in ns per object (read: per property read); they
// include the garbage collector's work on the main thread. `--browser` runs the rounds in headless
// Chromium (V8 as apps get it), timed by CDP's ThreadTime; else in this Node.
// `--compare=DIR[,DIR2…]` bundles the same modules from each DIR too (copies of an older src/) and
// alternates rounds between them, so that a change in the machine's load falls on both.
// Run: node --expose-gc bench/persistent-cost.mjs [--quick] [--browser] [--n=100000] [--cache=N/10]
//   [--compare=DIR[,DIR2…]]
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { build } from 'rolldown';

const arg = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = process.argv.includes('--quick');
const inBrowser = process.argv.includes('--browser');
const N = Number(arg('n') ?? (quick ? 20_000 : 100_000));
const ROUNDS = quick ? 3 : 9;
const CACHE_SIZE = Number(arg('cache') ?? Math.floor(N / 10));
const READS = 10;

/** Bundles the round with persistent.ts and cache.ts from `srcDir` (minified): its code. */
async function bundle(srcDir, format) {
  const dir = await mkdtemp(join(tmpdir(), 'shelfdb-persistent-'));
  try {
    const lib = join(dir, 'lib.mjs');
    const file = (name) => JSON.stringify(join(srcDir, name));
    await writeFile(
      lib,
      `export * from ${file('persistent.ts')};\nexport { Cache } from ${file('cache.ts')};\n`,
    );
    const roundSource = await readFile(
      new URL('./persistent-cost-round.js', import.meta.url),
      'utf8',
    );
    const entry = join(dir, 'entry.mjs');
    await writeFile(
      entry,
      roundSource.replace("'shelfdb-persistent-under-test'", JSON.stringify(lib)),
    );
    const out = await build({
      input: entry,
      platform: 'browser',
      write: false,
      output: { format, name: 'persistentCost', minify: true },
      logLevel: 'silent',
    });
    return out.output[0].code;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const PHASES = ['construct', 'commit', 'shrink', 'reload', 'read'];

/**
 * CPU time of this process's main thread in ms (Linux: /proc schedstat, in ns), or wall time
 * elsewhere. CPU time leaves out the time the thread waited for a core: the machines these run on
 * are shared, and waiting says nothing of the code.
 */
function threadTime() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8');
    return Number(stat.split(' ')[0]) / 1e6;
  } catch {
    return performance.now();
  }
}

/** Runs rounds in this process: `run(name)` gives one round's ns per item of each phase. */
async function nodeRunner(codes) {
  const rounds = new Map();
  const dir = await mkdtemp(join(tmpdir(), 'shelfdb-persistent-run-'));
  for (const [name, code] of codes) {
    const file = join(dir, `${rounds.size}.mjs`);
    await writeFile(file, code);
    rounds.set(name, (await import(pathToFileURL(file).href)).round);
  }
  await rm(dir, { recursive: true, force: true });
  return {
    async run(name) {
      globalThis.gc?.();
      const phases = rounds.get(name)(N, CACHE_SIZE, READS);
      const result = {};
      for (const phase of PHASES) {
        const start = threadTime();
        const count = phases[phase]();
        result[phase] = count > 0 ? ((threadTime() - start) * 1e6) / count : NaN;
      }
      return result;
    },
    async close() {},
  };
}

/**
 * Runs rounds in headless Chromium, timed by the page's main thread CPU time. Each variant gets a
 * browser of its own: pages of one browser may share a renderer process, hence a V8 heap, and
 * one variant's garbage would be collected on another's time.
 */
async function browserRunner(codes) {
  const { chromium } = await import('@playwright/test');
  const { CHROMIUM_ARGS, chromiumPath } = await import('../scripts/chromium.mjs');
  const browsers = [];
  const pages = new Map();
  for (const [name, code] of codes) {
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: [...CHROMIUM_ARGS, '--js-flags=--expose-gc'],
    });
    browsers.push(browser);
    const page = await browser.newPage();
    await page.addScriptTag({ content: code });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    pages.set(name, { page, cdp });
  }
  /** The page's main thread CPU time, in ms. */
  const threadTimeOf = async (cdp) => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return metrics.find((m) => m.name === 'ThreadTime').value * 1e3;
  };
  return {
    async run(name) {
      const { page, cdp } = pages.get(name);
      await page.evaluate(
        ([n, cacheSize, reads]) => {
          globalThis.gc?.();
          globalThis.phases = globalThis.persistentCost.round(n, cacheSize, reads);
        },
        [N, CACHE_SIZE, READS],
      );
      const result = {};
      for (const phase of PHASES) {
        const start = await threadTimeOf(cdp);
        const count = await page.evaluate((p) => globalThis.phases[p](), phase);
        result[phase] = count > 0 ? (((await threadTimeOf(cdp)) - start) * 1e6) / count : NaN;
      }
      return result;
    },
    close: () => Promise.all(browsers.map((b) => b.close())),
  };
}

const format = inBrowser ? 'iife' : 'es';
const variants = [
  ['src', await bundle(fileURLToPath(new URL('../src/', import.meta.url)), format)],
];
for (const dir of arg('compare')?.split(',').reverse() ?? []) {
  variants.unshift([dir, await bundle(resolve(dir), format)]);
}
const runner = await (inBrowser ? browserRunner : nodeRunner)(variants);
const runs = new Map(variants.map(([name]) => [name, []]));
try {
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name] of variants) runs.get(name).push(await runner.run(name));
  }
} finally {
  await runner.close();
}

/** The best round, or '–' for a phase with nothing to do (no ghosts when the cache holds all). */
const best = (xs) => (xs.some(Number.isNaN) ? '–' : Math.min(...xs).toFixed(1));
const labels = {
  construct: 'new Rec() + Object.assign, per object',
  commit: 'commit bookkeeping, cache.add, noteLoaded, per object',
  shrink: 'cache.shrink, per object ghosted',
  reload: 'setState on a ghost, per object',
  read: 'property read on a reloaded object',
};
const engine = inBrowser ? 'Chromium' : `Node ${process.version}`;
process.stdout.write(
  `${engine}, ${N} objects of 7 fields, cacheSize ${CACHE_SIZE}, main thread CPU time, best of ${ROUNDS} rounds\n\n`,
);
process.stdout.write(
  `| phase (ns) | ${variants.map(([n]) => n).join(' | ')} |\n|---|${variants.map(() => '---').join('|')}|\n`,
);
for (const phase of PHASES) {
  const cells = variants.map(([name]) => best(runs.get(name).map((x) => x[phase])));
  process.stdout.write(`| ${labels[phase]} | ${cells.join(' | ')} |\n`);
}

// The browser benchmark (issue 5): shelfdb against raw OPFS, IndexedDB (idb), Dexie 4 and
// SQLite-WASM (opfs-sahpool) in headless Chromium, each case in a fresh on-disk profile, a warm-up
// first, then several runs; prints medians and ratios as markdown and writes the raw samples to
// bench/results/. `--quick`: small N, one run (about a minute). `--smoke`: tiny N, for the test.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium.mjs';

const args = new Set(process.argv.slice(2));
const smoke = args.has('--smoke');
const quick = smoke || args.has('--quick');
const PORT = 5175;
const RUNS = quick ? 1 : 3;
const SIZES = smoke ? [200] : quick ? [10_000] : [10_000, 100_000];
const SMALL = smoke ? 20 : 1000;
const OPEN_SIZES = smoke ? [200, 2000] : quick ? [10_000, 100_000] : [10_000, 1_000_000];
const BTREE_N = smoke ? 2000 : 100_000;
const MEMORY_N = smoke ? 2000 : quick ? 30_000 : 100_000;
const SYSTEMS = ['shelfdb', 'raw', 'idb', 'dexie', 'sqlite'];

const FLAGS = [...CHROMIUM_ARGS, '--enable-precise-memory-info', '--js-flags=--expose-gc'];

async function startServer() {
  const server = spawn(
    process.execPath,
    [
      'node_modules/vite/bin/vite.js',
      '--config',
      'e2e/vite.config.ts',
      '--port',
      String(PORT),
      '--strictPort',
      '--host',
      '127.0.0.1',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${PORT}/bench/pages/bench.html`);
      if (r.ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  server.kill();
  throw new Error('the benchmark server did not start');
}

/**
 * Runs one case: a fresh profile, a warm-up, then RUNS measured runs. With `setup`, that case runs
 * first and the page is reloaded before each measured run, so the setup's garbage is not timed.
 */
async function runCase(name, n, runs = RUNS, warmup = true, setup = undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'shelfdb-bench-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: chromiumPath(),
    args: FLAGS,
    headless: true,
  });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${PORT}/bench/pages/bench.html`);
    await page.waitForSelector('body[data-ready="yes"]', { state: 'attached', timeout: 60_000 });
    const exec = (size, run) =>
      page.evaluate(([c, s, r]) => window.bench.run(c, s, r), [name, size, run]);
    if (warmup) await exec(Math.max(10, Math.min(n, 1000)), 1000);
    const samples = [];
    for (let r = 0; r < runs; r++) {
      if (setup !== undefined) {
        await page.evaluate(([c, s, r]) => window.bench.run(c, s, r), [setup, n, r]);
        await page.reload();
        await page.waitForSelector('body[data-ready="yes"]', {
          state: 'attached',
          timeout: 60_000,
        });
      }
      samples.push(await exec(n, r));
    }
    if (errors.length > 0) throw new Error(`${name}: ${errors.join('; ')}`);
    return samples;
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const med = (samples, key) => median(samples.map((s) => s[key]));
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(x >= 10 ? 1 : 2));
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : '–');

const raw = { date: new Date().toISOString(), quick, smoke, cases: {} };
const server = await startServer();
// `--case=NAME --n=N`: one case alone, for profiling (prints its samples).
const only = process.argv.find((a) => a.startsWith('--case='))?.slice(7);
if (only !== undefined) {
  const n = Number(process.argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 10_000);
  try {
    const setup = process.argv.find((a) => a.startsWith('--setup='))?.slice(8);
    console.log(JSON.stringify(await runCase(only, n, RUNS, setup === undefined, setup)));
  } finally {
    server.kill();
  }
  process.exit(0);
}
const version = await (async () => {
  const b = await chromium.launch({ executablePath: chromiumPath(), args: FLAGS });
  const v = b.version();
  await b.close();
  return v;
})();
const out = [];
const log = (line = '') => {
  out.push(line);
  console.log(line);
};
try {
  const rate = {}; // rate[workload][system][n] = ops/s
  for (const n of SIZES) {
    for (const system of SYSTEMS) {
      for (const workload of ['bulk', 'small', 'reads']) {
        const size = workload === 'small' ? SMALL : n;
        if (workload === 'small' && n !== SIZES[0]) continue;
        const name = `${system}.${workload}`;
        const samples = await runCase(name, size);
        raw.cases[`${name}@${size}`] = samples;
        ((rate[workload] ??= {})[system] ??= {})[n] = size / (med(samples, 'ms') / 1000);
        if (samples[0].inWorkerMs !== undefined) {
          ((rate.inWorker ??= {})[system] ??= {})[n] = size / (med(samples, 'inWorkerMs') / 1000);
        }
        process.stderr.write(`  ${name} n=${size}: ${fmt(med(samples, 'ms'))} ms\n`);
      }
    }
  }
  const floor = await runCase('floor', 1000);
  const open = [];
  for (const n of OPEN_SIZES)
    open.push([n, await runCase('shelfdb.open', n, 1, false, 'shelfdb.openSetup')]);
  const btree = await runCase('shelfdb.btree', BTREE_N, 1, false);
  const memory = await runCase('shelfdb.memory', MEMORY_N, 1, false);
  Object.assign(raw.cases, { floor, open, btree, memory });

  log(
    `### ${raw.date.slice(0, 10)} — Chromium ${version}, headless, fresh on-disk profile per case, ${RUNS} run(s) after a warm-up${smoke ? ' (smoke)' : quick ? ' (quick)' : ''}`,
  );
  log();
  const names = {
    shelfdb: 'shelfdb',
    raw: 'raw OPFS (limit)',
    idb: 'IndexedDB (idb)',
    dexie: 'Dexie 4',
    sqlite: 'SQLite-WASM opfs-sahpool',
  };
  const table = (title, workload, unit, sizes) => {
    log(`| ${title} | ${SYSTEMS.map((s) => names[s]).join(' | ')} |`);
    log(`|---|${SYSTEMS.map(() => '---').join('|')}|`);
    for (const n of sizes) {
      log(
        `| ${unit}${sizes.length > 1 || workload !== 'small' ? `, N = ${n.toLocaleString('en-US')}` : ''} | ${SYSTEMS.map((s) => (rate[workload]?.[s]?.[n] === undefined ? '–' : fmt(rate[workload][s][n]))).join(' | ')} |`,
      );
    }
    log();
  };
  table('bulk commit, one transaction', 'bulk', 'objects/s', SIZES);
  table(`small durable commits (${SMALL} of one object)`, 'small', 'commits/s', [SIZES[0]]);
  table('cold batched reads into the page (batches of 100)', 'reads', 'objects/s', SIZES);
  const nMax = SIZES.at(-1);
  const s = (w, sys, n = nMax) => rate[w]?.[sys]?.[n] ?? NaN;
  log('| target | measured | met |');
  log('|---|---|---|');
  const target = (what, value, goal) =>
    log(`| ${what} | ${ratio(value, 1)} | ${value >= goal ? 'yes' : `no (goal ${goal}×)`} |`);
  target('bulk commit ≥ 2× SQLite-WASM', s('bulk', 'shelfdb') / s('bulk', 'sqlite'), 2);
  target('bulk commit ≥ 20× Dexie', s('bulk', 'shelfdb') / s('bulk', 'dexie'), 20);
  target('bulk commit ≥ 30% of raw OPFS', s('bulk', 'shelfdb') / s('bulk', 'raw'), 0.3);
  const n0 = SIZES[0];
  target('small commits ≥ 3× Dexie', s('small', 'shelfdb', n0) / s('small', 'dexie', n0), 3);
  target(
    'small commits ≥ 3× IndexedDB strict',
    s('small', 'shelfdb', n0) / s('small', 'idb', n0),
    3,
  );
  target('small commits ≥ 4× SQLite-WASM', s('small', 'shelfdb', n0) / s('small', 'sqlite', n0), 4);
  target(
    'small commits ≥ 50% of raw write+flush',
    s('small', 'shelfdb', n0) / s('small', 'raw', n0),
    0.5,
  );
  target(
    "cold reads ≥ SQLite-WASM's in-worker point reads",
    s('reads', 'shelfdb') / s('inWorker', 'sqlite'),
    1,
  );
  target('cold reads ≥ 6× Dexie bulkGet', s('reads', 'shelfdb') / s('reads', 'dexie'), 6);
  const [small, large] = open.map(([n, samples]) => [n, med(samples, 'ms')]);
  log(
    `| open ${large[0].toLocaleString('en-US')} objects in < 2× the time of ${small[0].toLocaleString('en-US')} | ${(large[1] / small[1]).toFixed(2)}× the time | ${large[1] / small[1] < 2 ? 'yes' : 'no'} |`,
  );
  const m = memory[0];
  target(
    `heap after reading ${MEMORY_N.toLocaleString('en-US')} objects within 2× of after 10,000 (cacheSize 10,000)`,
    (2 * m.afterFewMB) / m.afterManyMB,
    1,
  );
  log();
  log('| other measurements | value |');
  log('|---|---|');
  log(`| messaging floor: page ↔ worker round trip | ${fmt(med(floor, 'roundTripUs'))} µs |`);
  log(`| the same round trip over a MessagePort | ${fmt(med(floor, 'portUs'))} µs |`);
  log(
    `| the same round trip over Comlink on such a port (what Comlink adds) | ${fmt(med(floor, 'comlinkUs'))} µs (+${fmt(med(floor, 'comlinkUs') - med(floor, 'portUs'))} µs) |`,
  );
  log(
    `| a shelfdb storage call through the link (sync, answered from memory) | ${fmt(med(floor, 'shelfdbCallUs'))} µs |`,
  );
  log(
    `| raw OPFS point reads inside the worker, N = ${nMax.toLocaleString('en-US')} | ${fmt(s('inWorker', 'raw'))} /s |`,
  );
  log(
    `| SQLite-WASM point reads inside its worker, N = ${nMax.toLocaleString('en-US')} | ${fmt(s('inWorker', 'sqlite'))} /s |`,
  );
  for (const [n, ms] of [small, large])
    log(
      `| open a database of ${n.toLocaleString('en-US')} objects → first object read | ${fmt(ms)} ms |`,
    );
  const b = btree[0];
  log(
    `| BTree: insert ${BTREE_N.toLocaleString('en-US')} keys in commits of 1,000 | ${fmt(BTREE_N / (b.insertMs / 1000))} keys/s |`,
  );
  log(
    `| BTree: ${b.gets.toLocaleString('en-US')} random gets, cold cache | ${fmt(b.gets / (b.getMs / 1000))} gets/s |`,
  );
  log(
    `| BTree: range scan of ${b.scanned.toLocaleString('en-US')} entries | ${fmt(b.scanned / (b.scanMs / 1000))} entries/s |`,
  );
  log(
    `| JS heap: after setup / after reading 10,000 / after reading ${MEMORY_N.toLocaleString('en-US')} (cacheSize 10,000) | ${m.baseMB.toFixed(1)} / ${m.afterFewMB.toFixed(1)} / ${m.afterManyMB.toFixed(1)} MB |`,
  );
  mkdirSync('bench/results', { recursive: true });
  const file = join('bench/results', `${raw.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ ...raw, chromium: version, table: out }, null, 2));
  console.error(`raw samples: ${file}`);
} finally {
  server.kill();
}

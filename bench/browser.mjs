// The browser benchmark (issue 5): shelfdb against raw OPFS, IndexedDB (idb), Dexie 4 and
// SQLite-WASM (opfs-sahpool) in headless Chromium, each case in a fresh on-disk profile, a warm-up
// first, then several runs; prints medians and ratios as markdown and writes the raw samples to
// bench/results/. `--quick`: small N, one run (a few minutes). `--smoke`: tiny N.
// `--case=NAME --n=N [--setup=NAME]`: one case alone, its samples printed (profiling, checks).
// `--port=N`: the Vite server's port (5175), so that two runs do not share one server.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium.mjs';
import { startServer } from './bench-server.mjs';

const args = new Set(process.argv.slice(2));
const smoke = args.has('--smoke');
const quick = smoke || args.has('--quick');
const PORT = Number(process.argv.find((a) => a.startsWith('--port='))?.slice(7) ?? 5175);
const RUNS = quick ? 1 : 3;
const SIZES = smoke ? [200] : quick ? [10_000] : [10_000, 100_000];
const SMALL = smoke ? 20 : 1000;
const OPEN_SIZES = smoke ? [200, 2000] : quick ? [10_000, 100_000] : [10_000, 1_000_000];
const BTREE_N = smoke ? 2000 : 100_000;
const MEMORY_N = smoke ? 2000 : quick ? 30_000 : 100_000;
const IMPORT_N = smoke ? 2000 : quick ? 100_000 : 1_000_000;
const PACK_N = smoke ? 2000 : 100_000;
const SYSTEMS = ['shelfdb', 'raw', 'idb', 'dexie', 'sqlite', 'shelfdbIdb'];
const RELAXED = ['shelfdb', 'raw', 'idb', 'dexie'];

/**
 * The cases that run in several pages of one context at once (bench/pages/tab-sync.ts): how many,
 * and how the pages' results make one sample.
 */
const TABS = {
  // Every tab commits n times at once: the total rate is over the first start to the last end.
  'shelfdb.tabs': {
    count: 3,
    combine: (results) => ({
      ms: Math.max(...results.map((r) => r.endAt)) - Math.min(...results.map((r) => r.startAt)),
      ...Object.fromEntries(results.map((r, i) => [`tab${i}Ms`, r.ms])),
      ...Object.fromEntries(results.map((r, i) => [`tab${i}Ghosts`, r.ghosts])),
    }),
  },
  // Tab 1 (not the owner) commits n times after tab 0 (the owner) did.
  'shelfdb.notOwner': {
    count: 2,
    combine: ([owner, follower]) => ({ ms: follower.ms, ownerMs: owner.ownerMs }),
  },
};

const FLAGS = [...CHROMIUM_ARGS, '--enable-precise-memory-info', '--js-flags=--expose-gc'];

const ready = (page) =>
  page.waitForSelector('body[data-ready="yes"]', { state: 'attached', timeout: 60_000 });

/**
 * Runs one case: a fresh profile, a warm-up, then `runs` measured runs. With `setup`, that case runs
 * first and the pages are reloaded before each measured run, so the setup's garbage is not timed.
 * A case of TABS runs in that many pages of the context at once (`runTabs`), one sample per run.
 */
async function runCase(name, n, options = {}) {
  const { runs = RUNS, warmup = true, setup = undefined } = options;
  const tabs = TABS[name];
  const dir = mkdtempSync(join(tmpdir(), 'shelfdb-bench-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: chromiumPath(),
    args: FLAGS,
    headless: true,
  });
  try {
    const errors = [];
    const pages = [];
    for (let i = 0; i < (tabs?.count ?? 1); i++) {
      const page = await context.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${PORT}/bench/pages/bench.html`);
      await ready(page);
      pages.push(page);
    }
    const exec = async (size, run) =>
      tabs === undefined
        ? await pages[0].evaluate(([c, s, r]) => window.bench.run(c, s, r), [name, size, run])
        : tabs.combine(await runTabs(pages, name, size, run));
    if (warmup) await exec(Math.max(10, Math.min(n, 1000)), 1000);
    const samples = [];
    for (let r = 0; r < runs; r++) {
      if (setup !== undefined) {
        await pages[0].evaluate(([c, s, r]) => window.bench.run(c, s, r), [setup, n, r]);
        for (const page of pages) {
          await page.reload();
          await ready(page);
        }
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

/**
 * Runs case `name` in every page at once, as tab i of pages.length (bench/pages/tab-sync.ts): page
 * i starts once page i − 1 reached its first sync point; then each sync point is released once
 * every page reached it or ended. Resolves to the pages' results, in page order.
 */
async function runTabs(pages, name, n, run) {
  const ended = pages.map(() => false);
  const results = pages.map(() => undefined);
  // Resolves once page i reached `point` or ended; rejects if its case threw.
  const reached = (i, point) =>
    Promise.race([
      results[i],
      pages[i].evaluate(([r, p]) => window.bench.reached(r, p), [run, point]),
    ]);
  for (let i = 0; i < pages.length; i++) {
    results[i] = pages[i].evaluate(
      ([c, s, r, index, count]) => window.bench.run(c, s, r, { index, count }),
      [name, n, run, i, pages.length],
    );
    results[i].then(
      () => (ended[i] = true),
      () => (ended[i] = true), // the rejection is reported by the Promise.all below
    );
    await reached(i, 1);
  }
  for (let point = 1; ; point++) {
    await Promise.all(pages.map((_, i) => reached(i, point)));
    if (ended.every(Boolean)) break;
    await pages[0].evaluate(([r, p]) => window.bench.release(r, p), [run, point]);
  }
  return await Promise.all(results);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const med = (samples, key) => median(samples.map((s) => s[key]));
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(x >= 10 ? 1 : 2));
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : '–');

const raw = { date: new Date().toISOString(), quick, smoke, cases: {} };
const server = await startServer(PORT);
// `--case=NAME --n=N`: one case alone, for profiling (prints its samples).
const only = process.argv.find((a) => a.startsWith('--case='))?.slice(7);
if (only !== undefined) {
  const n = Number(process.argv.find((a) => a.startsWith('--n='))?.slice(4) ?? 10_000);
  try {
    const setup = process.argv.find((a) => a.startsWith('--setup='))?.slice(8);
    console.log(JSON.stringify(await runCase(only, n, { warmup: setup === undefined, setup })));
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
  const measure = async (system, workload, size, n = size, runs = RUNS) => {
    const name = `${system}.${workload}`;
    const samples = await runCase(name, size, { runs });
    raw.cases[`${name}@${size}`] = samples;
    ((rate[workload] ??= {})[system] ??= {})[n] = size / (med(samples, 'ms') / 1000);
    if (samples[0].inWorkerMs !== undefined) {
      ((rate.inWorker ??= {})[system] ??= {})[n] = size / (med(samples, 'inWorkerMs') / 1000);
    }
    process.stderr.write(`  ${name} n=${size}: ${fmt(med(samples, 'ms'))} ms\n`);
    return samples;
  };
  const n0 = SIZES[0];
  for (const n of SIZES) {
    for (const system of SYSTEMS) {
      for (const workload of ['bulk', 'small', 'reads']) {
        if (workload === 'small' && n !== n0) continue;
        // shelfdb on IndexedDB commits 100,000 objects in about a minute: one run at that size.
        const runs = system === 'shelfdbIdb' && n > n0 ? 1 : RUNS;
        await measure(system, workload, workload === 'small' ? SMALL : n, n, runs);
      }
    }
  }
  for (const system of RELAXED) await measure(system, 'smallRelaxed', SMALL, n0);
  const tabs = await measure('shelfdb', 'tabs', SMALL, n0);
  const notOwner = await measure('shelfdb', 'notOwner', SMALL, n0);
  // The import runs once (a million objects), after a warm-up of 1,000.
  const imported = await runCase('shelfdb.import', IMPORT_N, { runs: 1 });
  const sqliteImport = await runCase('sqlite.import', IMPORT_N, { runs: 1 });
  const floor = await runCase('floor', 1000);
  const open = [];
  for (const n of OPEN_SIZES)
    open.push([
      n,
      await runCase('shelfdb.open', n, { runs: 1, warmup: false, setup: 'shelfdb.openSetup' }),
    ]);
  const btree = await runCase('shelfdb.btree', BTREE_N, { runs: 1, warmup: false });
  const memory = await runCase('shelfdb.memory', MEMORY_N, { runs: 1, warmup: false });
  const packed = await runCase('shelfdb.pack', PACK_N, { runs: 1, warmup: false });
  Object.assign(raw.cases, {
    [`shelfdb.import@${IMPORT_N}`]: imported,
    [`sqlite.import@${IMPORT_N}`]: sqliteImport,
    floor,
    open,
    btree,
    memory,
    [`shelfdb.pack@${PACK_N}`]: packed,
  });

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
    shelfdbIdb: `shelfdb on IndexedDB (fallback${SIZES.length > 1 ? `; one run at N = ${SIZES.at(-1).toLocaleString('en-US')}` : ''})`,
  };
  const table = (title, workload, unit, sizes, systems = SYSTEMS, heads = names) => {
    log(`| ${title} | ${systems.map((s) => heads[s]).join(' | ')} |`);
    log(`|---|${systems.map(() => '---').join('|')}|`);
    for (const n of sizes) {
      log(
        `| ${unit}${sizes.length > 1 || workload === 'bulk' || workload === 'reads' ? `, N = ${n.toLocaleString('en-US')}` : ''} | ${systems.map((s) => (rate[workload]?.[s]?.[n] === undefined ? '–' : fmt(rate[workload][s][n]))).join(' | ')} |`,
      );
    }
    log();
  };
  table('bulk commit, one transaction', 'bulk', 'objects/s', SIZES);
  table(`small durable commits (${SMALL} of one object)`, 'small', 'commits/s', [n0]);
  table('cold batched reads into the page (batches of 100)', 'reads', 'objects/s', SIZES);
  table(
    `small relaxed commits (${SMALL} of one object, acknowledged before the flush)`,
    'smallRelaxed',
    'commits/s',
    [n0],
    RELAXED,
    {
      shelfdb: "shelfdb, durability: 'relaxed'",
      raw: 'raw OPFS write, no flush (limit)',
      idb: "IndexedDB (idb), durability: 'relaxed'",
      dexie: "Dexie 4, chromeTransactionDurability: 'relaxed'",
    },
  );
  const nMax = SIZES.at(-1);
  const s = (w, sys, n = nMax) => rate[w]?.[sys]?.[n] ?? NaN;
  const oneTab = s('small', 'shelfdb', n0);
  const tabsRate = (TABS['shelfdb.tabs'].count * SMALL) / (med(tabs, 'ms') / 1000);
  const notOwnerRate = s('notOwner', 'shelfdb', n0);
  const ownerRate = SMALL / (med(notOwner, 'ownerMs') / 1000);
  log(
    `| tabs of one database, small durable commits (${SMALL} of one object per tab) | commits/s | × one tab |`,
  );
  log('|---|---|---|');
  log(`| one tab (shelfdb above) | ${fmt(oneTab)} | 1.00× |`);
  log(
    `| three tabs committing at once (each its own object), total | ${fmt(tabsRate)} | ${ratio(tabsRate, oneTab)} |`,
  );
  log(
    `| a tab that is not the owner (commits forwarded over BroadcastChannel) | ${fmt(notOwnerRate)} | ${ratio(notOwnerRate, oneTab)} |`,
  );
  log(
    `| the owner tab of that case, before the other tab commits | ${fmt(ownerRate)} | ${ratio(ownerRate, oneTab)} |`,
  );
  const ghosts = [0, 1, 2].map((i) => Math.max(...tabs.map((t) => t[`tab${i}Ghosts`])));
  if (ghosts.some((g) => g > 0)) {
    log(
      `| three tabs: times a tab found its own object a ghost before its next commit (tab 0 / 1 / 2; each costs a load; should be 0) | ${ghosts.join(' / ')} | – |`,
    );
  }
  log();
  const imp = imported[0];
  const importRate = IMPORT_N / (imp.ms / 1000);
  const sqliteImportRate = IMPORT_N / (sqliteImport[0].ms / 1000);
  const chunk = imp.chunk.toLocaleString('en-US');
  const longTasks = imp.longTasksSupported
    ? `${imp.longTasks} / ${imp.longTasks === 0 ? '–' : `${fmt(imp.longestTaskMs)} ms`}`
    : 'not reported by this browser';
  log(
    `| import of ${IMPORT_N.toLocaleString('en-US')} objects in chunks of ${chunk}, one commit per chunk | shelfdb (cacheSize 10,000, cacheBytes 16 MiB) | SQLite-WASM opfs-sahpool (in its worker) |`,
  );
  log('|---|---|---|');
  log(`| objects/s | ${fmt(importRate)} | ${fmt(sqliteImportRate)} |`);
  log(
    `| long tasks in the page (PerformanceObserver 'longtask'): count / longest | ${longTasks} | – |`,
  );
  log(
    `| longest gap between the page's zero-delay timer ticks | ${fmt(imp.longestGapMs)} ms | – |`,
  );
  log(
    `| longest chunk: its ${chunk} awaited tree.set / its commit (wall time) | ${fmt(imp.longestInsertMs)} / ${fmt(imp.longestCommitMs)} ms | – |`,
  );
  log(
    `| JS heap after gc: after the first chunk / the third / the middle one / the last | ${imp.firstMB.toFixed(1)} / ${imp.fewMB.toFixed(1)} / ${imp.middleMB.toFixed(1)} / ${imp.endMB.toFixed(1)} MB | – |`,
  );
  log();

  const pk = packed[0];
  const MiB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  log(
    `| pack of ${PACK_N.toLocaleString('en-US')} objects, half unreachable (OPFS) | shelfdb | SQLite-WASM opfs-sahpool VACUUM, same rows, every other one deleted |`,
  );
  log('|---|---|---|');
  log(
    `| time (nothing else running) | ${fmt(pk.packMs)} ms (${ratio(pk.packMs, pk.vacuumMs)} VACUUM) | ${fmt(pk.vacuumMs)} ms |`,
  );
  log(
    `| bytes before → after | ${MiB(pk.bytesBefore)} → ${MiB(pk.bytesAfter)} (${pk.objectsRemoved.toLocaleString('en-US')} objects removed) | ${MiB(pk.sqliteBytesBefore)} → ${MiB(pk.sqliteBytesAfter)} |`,
  );
  log(
    `| small durable commits from a second connection: p50 / p99 without a pack (${pk.commitsWithout}) | ${fmt(pk.withoutP50)} / ${fmt(pk.withoutP99)} ms | – |`,
  );
  log(
    `| the same during the pack (${pk.commitsDuring}; the pack then took ${fmt(pk.busyPackMs)} ms) | ${fmt(pk.duringP50)} / ${fmt(pk.duringP99)} ms (${ratio(pk.duringP50, pk.withoutP50)} / ${ratio(pk.duringP99, pk.withoutP99)}) | – |`,
  );
  const phase = (x) => ['–', 'mark', 'copy', 'done'][x];
  log(
    `| longest commit during the pack / longest time without a 'pack' event (where: phase, progress) | ${fmt(pk.duringMax)} ms (${phase(pk.longestCommitPhase)} ${Math.round(pk.longestCommitProgress * 100)}%) / ${fmt(pk.longestEventGapMs)} ms (${phase(pk.longestEventGapPhase)} ${Math.round(pk.longestEventGapProgress * 100)}%) | – |`,
  );
  log();

  log('| target | measured | met |');
  log('|---|---|---|');
  const target = (what, value, goal) =>
    log(`| ${what} | ${ratio(value, 1)} | ${value >= goal ? 'yes' : `no (goal ${goal}×)`} |`);
  const N = (n) => `N = ${n.toLocaleString('en-US')}`;
  for (const n of SIZES) {
    target(
      `bulk commit ≥ 1.2× SQLite-WASM, ${N(n)}`,
      s('bulk', 'shelfdb', n) / s('bulk', 'sqlite', n),
      1.2,
    );
    target(`bulk commit ≥ 10× Dexie, ${N(n)}`, s('bulk', 'shelfdb', n) / s('bulk', 'dexie', n), 10);
  }
  target('small durable commits ≥ 0.8× raw OPFS write+flush', oneTab / s('small', 'raw', n0), 0.8);
  target('small durable commits ≥ 4× Dexie', oneTab / s('small', 'dexie', n0), 4);
  target('small durable commits ≥ 4× IndexedDB (idb, strict)', oneTab / s('small', 'idb', n0), 4);
  target('small durable commits ≥ 4× SQLite-WASM', oneTab / s('small', 'sqlite', n0), 4);
  target('three tabs committing at once ≥ 2× one tab', tabsRate / oneTab, 2);
  target(
    'small commits from a tab that is not the owner ≥ 0.5× the owner tab',
    notOwnerRate / oneTab,
    0.5,
  );
  const packP99 = pk.duringP99 / pk.withoutP99;
  log(
    `| small durable commits during a pack: p99 ≤ 2× without | ${packP99.toFixed(2)}× | ${packP99 <= 2 ? 'yes' : 'no'} |`,
  );
  const blocked = imp.longTasksSupported
    ? [`${imp.longTasks} long tasks (PerformanceObserver)`, imp.longTasks === 0]
    : [
        `longest timer gap ${fmt(imp.longestGapMs)} ms (no longtask entries)`,
        imp.longestGapMs < 50,
      ];
  log(
    `| import of ${IMPORT_N.toLocaleString('en-US')} objects: the page never blocked ≥ 50 ms | ${blocked[0]} | ${blocked[1] ? 'yes' : 'no'} |`,
  );
  log(
    `| import: heap at the end within 2× of after the first few (3) chunks (cacheSize 10,000) | ${(imp.endMB / imp.fewMB).toFixed(2)}× | ${imp.endMB <= 2 * imp.fewMB ? 'yes' : 'no'} |`,
  );
  target(
    `IndexedDB fallback: bulk commit ≥ 2× Dexie, ${N(nMax)}`,
    s('bulk', 'shelfdbIdb') / s('bulk', 'dexie'),
    2,
  );
  target(
    'IndexedDB fallback: small durable commits ≥ 2× Dexie',
    s('small', 'shelfdbIdb', n0) / s('small', 'dexie', n0),
    2,
  );
  target(
    `IndexedDB fallback: cold reads ≥ 2× Dexie bulkGet, ${N(nMax)}`,
    s('reads', 'shelfdbIdb') / s('reads', 'dexie'),
    2,
  );
  target(
    `cold reads ≥ 1.5× SQLite-WASM's batched reads into the page, ${N(nMax)}`,
    s('reads', 'shelfdb') / s('reads', 'sqlite'),
    1.5,
  );
  target(
    `cold reads ≥ 8× Dexie bulkGet, ${N(nMax)}`,
    s('reads', 'shelfdb') / s('reads', 'dexie'),
    8,
  );
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

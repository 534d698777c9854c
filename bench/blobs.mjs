// The blob benchmark (issue 16): one Blob of 10 MiB and of 200 MiB, made in the page from
// pseudo-random parts of 1 MiB, written and read by shelfdb (OPFS storage through its worker; its
// IndexedDB storage), raw OPFS (createWritable from the page; a sync access handle in a worker: the
// limit) and IndexedDB storing the Blob natively in one put; and the parts of shelfdb's write path
// alone in a worker (reading the Blob's stream, @noble/hashes SHA-256, WebCrypto's SHA-256). Each
// case in a fresh on-disk Chromium profile, a 1 MiB warm-up first, then several runs; a read case
// stores its Blob first and the page is reloaded before the timed read. Prints medians in MB/s
// (10^6 bytes per second) and ratios to raw OPFS as markdown; raw samples go to bench/results/.
//
// Run: node bench/blobs.mjs [--quick | --smoke] [--runs=R] [--port=N] [--case=NAME --mib=M]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium.mjs';
import { startServer } from './bench-server.mjs';

const args = process.argv.slice(2);
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const smoke = args.includes('--smoke');
const quick = smoke || args.includes('--quick');
const PORT = Number(option('port') ?? 5176);
const RUNS = Number(option('runs') ?? (quick ? 1 : 3));
const MiB = 2 ** 20;
const SIZES = smoke ? [100_000] : [10 * MiB, 200 * MiB];
const WARMUP = smoke ? 10_000 : MiB;

const WRITES = [
  ['shelfdb.write', 'shelfdb: db.blobs.put + commit (OPFS, in its worker)'],
  ['shelfdbIdb.write', 'shelfdb on IndexedDB storage: db.blobs.put + commit'],
  ['rawWritable.write', 'raw OPFS from the page: stream piped into createWritable()'],
  ['rawSync.write', 'raw OPFS sync access handle in a worker, flushed (limit)'],
  ['idb.write', 'IndexedDB: the Blob in one put (strict durability)'],
];
const READS = [
  ['shelfdb.readStream', 'shelfdb: get, await file(), read through stream()'],
  ['shelfdb.readStoredStream', 'shelfdb: get, read through StoredBlob.stream()'],
  ['shelfdb.readBuffer', 'shelfdb: get, StoredBlob.arrayBuffer()'],
  ['shelfdbIdb.readStream', 'shelfdb on IndexedDB: get, await file(), stream()'],
  ['shelfdbIdb.readStoredStream', 'shelfdb on IndexedDB: get, StoredBlob.stream()'],
  ['shelfdbIdb.readBuffer', 'shelfdb on IndexedDB: get, StoredBlob.arrayBuffer()'],
  ['raw.readStream', 'raw OPFS: getFile(), read through stream()'],
  ['raw.readBuffer', 'raw OPFS: getFile().arrayBuffer() (limit)'],
  ['idb.readBuffer', 'IndexedDB: get + arrayBuffer()'],
];
const PARTS = [
  ['worker.streamRead', "reading the Blob's stream(), nothing else"],
  ['worker.nobleStream', '@noble/hashes SHA-256 over the stream (as a put hashes; no write)'],
  ['worker.nobleMemory', '@noble/hashes SHA-256 alone, bytes in memory, 1 MiB updates'],
  ['worker.subtleMemory', "WebCrypto's native SHA-256, one shot over the bytes in memory"],
];
const FLAGS = CHROMIUM_ARGS;

const ready = (page) =>
  page.waitForSelector('body[data-ready="yes"]', { state: 'attached', timeout: 60_000 });

/**
 * Runs case `name` on Blobs of `bytes` bytes: a fresh on-disk profile, a warm-up of WARMUP bytes,
 * then RUNS timed runs. A read case runs its setup phase first and reloads the page before each
 * timed phase (the warm-up's too).
 */
async function runCase(name, bytes, reads) {
  const dir = mkdtempSync(join(tmpdir(), 'shelfdb-blob-bench-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: chromiumPath(),
    args: FLAGS,
    headless: true,
  });
  try {
    const errors = [];
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${PORT}/bench/pages/blobs.html`);
    await ready(page);
    const exec = (size, run, phase) =>
      page.evaluate(([c, s, r, p]) => window.blobBench.run(c, s, r, p), [name, size, run, phase]);
    const once = async (size, run) => {
      if (reads.includes(name)) {
        await exec(size, run, 'setup');
        await page.reload();
        await ready(page);
      }
      return await exec(size, run, 'timed');
    };
    await once(WARMUP, 1000);
    const samples = [];
    for (let r = 0; r < RUNS; r++) samples.push(await once(bytes, r));
    if (errors.length > 0) throw new Error(`${name}: ${errors.join('; ')}`);
    return samples;
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mbps = (samples) => median(samples.map((s) => s.bytes / 1e6 / (s.ms / 1000)));
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(x >= 10 ? 1 : 2));
const sizeName = (b) => (b >= MiB ? `${b / MiB} MiB` : `${b.toLocaleString('en-US')} B`);

const server = await startServer(PORT);
const reads = READS.map(([name]) => name);
try {
  const only = option('case');
  if (only !== undefined) {
    const bytes = Math.round(Number(option('mib') ?? 10) * MiB);
    console.log(JSON.stringify(await runCase(only, bytes, reads)));
  } else await all();
} finally {
  server.kill();
}

/** Every case at every size; prints the tables and writes the raw samples. */
async function all() {
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: FLAGS });
  const version = browser.version();
  await browser.close();
  const raw = { date: new Date().toISOString(), quick, smoke, chromium: version, cases: {} };
  const loadBefore = loadavg();
  const rate = {}; // rate[case][bytes] = MB/s (median)
  for (const [name] of [...WRITES, ...READS, ...PARTS]) {
    for (const bytes of SIZES) {
      const samples = await runCase(name, bytes, reads);
      raw.cases[`${name}@${bytes}`] = samples;
      (rate[name] ??= {})[bytes] = mbps(samples);
      process.stderr.write(`  ${name} ${sizeName(bytes)}: ${fmt(rate[name][bytes])} MB/s\n`);
    }
  }
  const loadAfter = loadavg();
  raw.load = { before: loadBefore, after: loadAfter };

  const out = [];
  const log = (line = '') => {
    out.push(line);
    console.log(line);
  };
  const load = (l) => l.map((x) => x.toFixed(2)).join(', ');
  log(
    `### ${raw.date.slice(0, 10)} — Chromium ${version}, headless, fresh on-disk profile per case, ${RUNS} run(s) after a warm-up${smoke ? ' (smoke)' : quick ? ' (quick)' : ''}`,
  );
  log();
  log(`Load average (1, 5, 15 min): ${load(loadBefore)} before, ${load(loadAfter)} after.`);
  log();
  const table = (title, rows, limit) => {
    const heads = SIZES.flatMap((b) =>
      limit === undefined ? [sizeName(b)] : [sizeName(b), `× limit`],
    );
    log(`| ${title}, MB/s | ${heads.join(' | ')} |`);
    log(`|---|${heads.map(() => '---:').join('|')}|`);
    for (const [name, label] of rows) {
      const cells = SIZES.flatMap((b) => {
        const v = rate[name][b];
        return limit === undefined ? [fmt(v)] : [fmt(v), `${(v / rate[limit][b]).toFixed(2)}×`];
      });
      log(`| ${label} | ${cells.join(' | ')} |`);
    }
    log();
  };
  table('write one Blob', WRITES, 'rawSync.write');
  table('read one stored Blob', READS, 'raw.readBuffer');
  table("the write path's parts alone, in a worker", PARTS);

  mkdirSync('bench/results', { recursive: true });
  const file = join('bench/results', `blobs-${raw.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ ...raw, table: out }, null, 2));
  console.error(`raw samples: ${file}`);
}

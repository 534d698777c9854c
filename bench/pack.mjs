// Pack benchmark (issue 13), in Node over real files: a 'file' database (ShelfStorage over a
// NodeBlockDirectory, segments of `--segment-size` bytes, 8 MiB by default) of N = 100,000 records
// (bench/pages/records.ts' fields, as Persistent objects through a Connection, committed in chunks
// of 10,000), half of them (every other one, so every segment holds both) in a BTree that is then
// unlinked from the root in one commit: 50% of the objects unreachable. Per round, on copies of the
// same database:
//   - the platform limit: copying the database's bytes once (read + write + fsync of every file)
//     into a sibling directory of the same file system (that copy is the second database below);
//   - a quiet pack: `db.pack()` time, bytes before/after, and the peak EXTRA bytes on disk during
//     it (over the bytes at its start), measured two ways: the sum of the directory's file sizes
//     (fs.stat) sampled at every 'pack' event and at the end, as an app could watch it; and exactly,
//     by a BlockDirectory wrapper that tracks every file's size at every write, truncate and remove;
//   - small durable commits (one object changed per commit, from a second connection, back to
//     back, each asked for in a new turn of the event loop and timed from that ask): `--commits`
//     of them without a pack, then as many as fit while a pack runs on the copy; p50/p99 of each;
//   - a probe on a third copy: a pack while commits follow each other without the event loop
//     turning (each answer starts the next commit in a microtask): how far the pack gets;
//   - the peer, when a `sqlite3` executable is on the PATH (native SQLite: SQLite-WASM runs only
//     in memory in Node): the same rows (id, JSON text) inserted in chunks of 10,000, every other
//     row deleted, then VACUUM, timed by the sqlite3 shell's `.timer` (no process start-up).
// Prints medians over the rounds and the ratios. Bundles src/ and worker/ with rolldown (as
// bench/btree-insert.mjs does), so it needs no `npm run build`.
//
// Run: node bench/pack.mjs [--quick] [--n=N] [--rounds=R] [--commits=C] [--segment-size=BYTES]
//   [--keep] (leaves the database directories in the temp dir and prints where)
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setImmediate } from 'node:timers';
import { join } from 'node:path';
import { URL } from 'node:url';
import { bundleAndImport } from './bundle-import.mjs';
import { defineRecord } from './record-class.mjs';

const option = (name) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes('--quick');
const N = Number(option('n') ?? (quick ? 20_000 : 100_000));
const ROUNDS = Number(option('rounds') ?? (quick ? 1 : 3));
const COMMITS = Number(option('commits') ?? (quick ? 300 : 1000));
const SEGMENT_SIZE = Number(option('segment-size') ?? 8 << 20);
const CHUNK = Math.min(10_000, Math.max(1, Math.ceil(N / 10)));
const keepFiles = process.argv.includes('--keep');
/** How long the starvation probe commits without letting the event loop turn. */
const PROBE_MS = 2000;

/** shelfdb's page side, its Node storage and the bench's record fields, bundled. */
const path = (p) => JSON.stringify(new URL(p, import.meta.url).pathname);
const shelfdb = await bundleAndImport(
  {
    source:
      `export * from ${path('../src/index.ts')};\n` +
      `export { NodeBlockDirectory, ShelfStorage } from ${path('../worker/node.ts')};\n` +
      `export { fields } from ${path('./pages/records.ts')};\n`,
  },
  'node',
);

const { BTree, Database, NodeBlockDirectory, ShelfStorage, fields } = shelfdb;

const Rec = defineRecord(shelfdb);
const rec = (id) => Object.assign(new Rec(), fields(id));

/**
 * A BlockDirectory over `inner` that knows every file's size at every moment (updated at each
 * write, truncate and remove), so the peak of their sum is exact, not sampled.
 */
class SizeTrackingDirectory {
  sizes = new Map();
  total = 0;
  peak = 0;
  constructor(inner) {
    this.inner = inner;
  }
  set(name, size) {
    this.total += size - (this.sizes.get(name) ?? 0);
    this.sizes.set(name, size);
    if (this.total > this.peak) this.peak = this.total;
  }
  /** Starts a new peak from the bytes there are now. */
  resetPeak() {
    this.peak = this.total;
  }
  async open(name) {
    const file = await this.inner.open(name);
    this.set(name, file.size());
    return {
      read: (offset, length) => file.read(offset, length),
      write: (offset, data) => {
        file.write(offset, data);
        this.set(name, Math.max(this.sizes.get(name) ?? 0, offset + data.byteLength));
      },
      size: () => file.size(),
      truncate: (size) => {
        file.truncate(size);
        this.set(name, size);
      },
      flush: () => file.flush(),
      close: () => file.close(),
    };
  }
  list() {
    return this.inner.list();
  }
  async remove(name) {
    await this.inner.remove(name);
    this.set(name, 0);
    this.sizes.delete(name);
  }
  close() {
    return this.inner.close?.();
  }
}

/** Opens the database in `path` over a size-tracking directory. */
async function open(path) {
  const dir = new SizeTrackingDirectory(await NodeBlockDirectory.create(path));
  const storage = await ShelfStorage.open(dir, { kind: 'file', segmentSize: SEGMENT_SIZE });
  return { db: new Database(storage), dir };
}

/** The Node directory's lock files (worker/node-lock-file.ts): not the database's. */
const LOCK_FILES = new Set(['shelfdb.lock', 'shelfdb.lock.takeover']);

/** The bytes of the database's files (fs.stat of each; the lock file is not one of them). */
function diskBytes(path) {
  let sum = 0;
  for (const name of readdirSync(path)) {
    if (LOCK_FILES.has(name)) continue;
    try {
      sum += statSync(join(path, name)).size;
    } catch (error) {
      if (error.code !== 'ENOENT') throw error; // removed between readdir and stat: 0 bytes
    }
  }
  return sum;
}

/**
 * Builds the database: root 'keep' and 'drop' BTrees, records 1..N alternately in each (chunks of
 * CHUNK, one commit each), and root 'hot', the record the small commits change; then 'drop' is
 * unlinked in one commit.
 */
async function buildDatabase(path) {
  const { db } = await open(path);
  const conn = db.open();
  const root = await conn.root();
  const keep = new BTree();
  const drop = new BTree();
  root.set('keep', keep);
  root.set('drop', drop);
  root.set('hot', rec(0));
  await conn.commit();
  for (let start = 1; start <= N; start += CHUNK) {
    for (let i = start; i < Math.min(N + 1, start + CHUNK); i++)
      await (i % 2 === 0 ? keep : drop).set(i, rec(i));
    await conn.commit();
  }
  (await conn.root()).delete('drop'); // the root may have been evicted meanwhile
  await conn.commit({ note: 'half of the records unlinked' });
  const stats = await db.storage.stats();
  await db.close(); // writes the index checkpoint
  return stats;
}

/** Copies every file of `from` into `to` (read, write, fsync each), as the platform limit. */
function copyDatabase(from, to) {
  const t0 = performance.now();
  let bytes = 0;
  for (const name of readdirSync(from)) {
    if (LOCK_FILES.has(name)) continue;
    const data = readFileSync(join(from, name));
    const fd = openSync(join(to, name), 'w');
    let done = 0;
    while (done < data.byteLength) done += writeSync(fd, data, done, data.byteLength - done);
    fsyncSync(fd);
    closeSync(fd);
    bytes += data.byteLength;
  }
  const dfd = openSync(to, 'r');
  fsyncSync(dfd); // the new names, as the Node directory does after creating a file
  closeSync(dfd);
  return { ms: performance.now() - t0, bytes };
}

/** A quiet pack (nothing else runs): time, bytes, peak extra bytes sampled and exact. */
async function quietPack(path) {
  const { db, dir } = await open(path);
  const statsBefore = await db.storage.stats();
  const diskBefore = diskBytes(path);
  let sampledPeak = diskBefore;
  let events = 0;
  const phases = new Set();
  db.addEventListener('pack', (e) => {
    events++;
    phases.add(e.phase);
    sampledPeak = Math.max(sampledPeak, diskBytes(path));
  });
  dir.resetPeak();
  const trackedBefore = dir.total;
  const t0 = performance.now();
  const result = await db.pack();
  const ms = performance.now() - t0;
  sampledPeak = Math.max(sampledPeak, diskBytes(path));
  const diskAfter = diskBytes(path);
  const statsAfter = await db.storage.stats();
  await db.close();
  return {
    ms,
    result,
    statsBefore,
    statsAfter,
    diskBefore,
    diskAfter,
    sampledExtra: sampledPeak - diskBefore,
    exactExtra: dir.peak - trackedBefore,
    events,
    phases: [...phases].join(','),
  };
}

/**
 * Small commits back to back while `more(i)`: each one's latency in ms. With `turn`, each commit
 * is asked for in a new turn of the event loop (setImmediate), as a request an app serves, and its
 * latency runs from that ask to the commit's answer: a commit waits for whatever holds the thread
 * (a pack's step) as a request would. (Timing the commit call alone would hide that: in Node the
 * whole commit runs in microtasks, so once started it finishes before the pack's next step.)
 * Without `turn`, a commit's answer starts the next commit at once, all in microtasks.
 */
async function smallCommits(conn, hot, more, turn = true) {
  const latencies = [];
  for (let i = 0; more(i); i++) {
    const t0 = performance.now();
    if (turn) await new Promise((resolve) => setImmediate(resolve));
    hot.priority = i;
    await conn.commit();
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

/** Opens `path` with a reader connection and a writer holding the 'hot' record. */
async function openWithWriter(path) {
  const { db, dir } = await open(path);
  const reader = db.open(); // the first connection: reads, as an app's other views would
  await (await reader.root()).get('keep').get(2);
  const writer = db.open();
  const hot = await writer.load((await writer.root()).get('hot'));
  return { db, dir, writer, hot };
}

/** Small commits without a pack, then during one, on the database in `path`. */
async function busyPack(path) {
  const { db, writer, hot } = await openWithWriter(path);
  const without = await smallCommits(writer, hot, (i) => i < COMMITS);
  let packing = true;
  const t0 = performance.now();
  const pack = db.pack().finally(() => {
    packing = false;
  });
  const during = await smallCommits(writer, hot, () => packing);
  const result = await pack;
  const ms = performance.now() - t0;
  // The pack's own extra bytes cannot be told from the commits' here: see quietPack.
  await db.close();
  return { ms, without, during, result };
}

/**
 * Starts a pack, then commits back to back for PROBE_MS without letting the event loop turn:
 * how far the pack got meanwhile (its 'pack' events), and how long it took after.
 */
async function starvationProbe(path) {
  const { db, writer, hot } = await openWithWriter(path);
  let events = 0;
  let lastPhase = '–';
  db.addEventListener('pack', (e) => {
    events++;
    lastPhase = `${e.phase} ${e.done.toLocaleString('en-US')}/${e.total.toLocaleString('en-US')}`;
  });
  let packing = true;
  const pack = db.pack().finally(() => {
    packing = false;
  });
  const t0 = performance.now();
  const commits = await smallCommits(
    writer,
    hot,
    () => packing && performance.now() - t0 < PROBE_MS,
    false,
  );
  const during = { events, lastPhase, finished: !packing, commits: commits.length };
  const t1 = performance.now();
  await pack;
  const afterMs = performance.now() - t1;
  await db.close();
  return { ...during, afterMs };
}

/** SQLite's VACUUM of the same rows, half deleted, through the sqlite3 shell (undefined without). */
function sqliteVacuum(dir) {
  const which = spawnSync('sqlite3', ['-version'], { encoding: 'utf8' });
  if (which.status !== 0) return undefined;
  mkdirSync(dir);
  const file = join(dir, 'peer.sqlite3');
  const insertChunk = (start) =>
    `BEGIN; WITH RECURSIVE k(i) AS (SELECT ${start} UNION ALL SELECT i + 1 FROM k WHERE i < ${Math.min(N, start + CHUNK - 1)}) ` +
    `INSERT INTO t (id, data) SELECT i, json_object('id', i, 'title', 'Todo item number ' || i, ` +
    `'done', json(CASE WHEN i % 2 = 0 THEN 'true' ELSE 'false' END), 'priority', i % 5, ` +
    `'tags', json_array('work', 'home', 't' || (i % 10)), 'created', 1700000000000 + i, ` +
    `'note', 'Some longer text describing the todo item in a few words.') FROM k; COMMIT;`;
  const setup = [
    'PRAGMA journal_mode=DELETE;',
    'PRAGMA synchronous=FULL;',
    'CREATE TABLE t (id INTEGER PRIMARY KEY, data TEXT NOT NULL);',
  ];
  for (let start = 1; start <= N; start += CHUNK) setup.push(insertChunk(start));
  setup.push('DELETE FROM t WHERE id % 2 = 1;');
  const made = spawnSync('sqlite3', [file], { input: setup.join('\n'), encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`sqlite3 setup failed: ${made.stderr}`);
  const before = statSync(file).size;
  const vacuum = spawnSync('sqlite3', [file], {
    input: 'PRAGMA synchronous=FULL;\n.timer on\nVACUUM;\n',
    encoding: 'utf8',
  });
  const real = /Run Time: real ([\d.]+)/.exec(vacuum.stdout);
  if (vacuum.status !== 0 || real === null)
    throw new Error(`sqlite3 VACUUM failed: ${vacuum.stderr}${vacuum.stdout}`);
  const rows = spawnSync('sqlite3', [file, 'SELECT count(*) FROM t'], { encoding: 'utf8' });
  return {
    ms: Number(real[1]) * 1000,
    before,
    after: statSync(file).size,
    rows: Number(rows.stdout.trim()),
    version: which.stdout.split(' ')[0],
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
/** The q-quantile of `xs` (nearest rank). */
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const MiB = (b) => `${(b / 2 ** 20).toFixed(2)} MiB`;
const ms = (x) =>
  `${x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(x >= 10 ? 1 : 2)} ms`;
const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : '–');

const work = await mkdtemp(join(tmpdir(), 'shelfdb-pack-bench-'));
const rounds = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    const a = join(work, `r${r}-a`);
    const b = join(work, `r${r}-b`);
    const c = join(work, `r${r}-c`);
    for (const d of [a, b, c]) await mkdir(d);
    const tBuild = performance.now();
    const built = await buildDatabase(a);
    const buildMs = performance.now() - tBuild;
    const copy = copyDatabase(a, b);
    copyDatabase(a, c);
    const quiet = await quietPack(a);
    const busy = await busyPack(b);
    const probe = r === 0 ? await starvationProbe(c) : undefined;
    await rm(c, { recursive: true, force: true });
    const peer = sqliteVacuum(join(work, `r${r}-sqlite`));
    rounds.push({ buildMs, built, copy, quiet, busy, peer, probe });
    process.stderr.write(
      `  round ${r + 1}/${ROUNDS}: build ${ms(buildMs)}, copy ${ms(copy.ms)}, pack ${ms(quiet.ms)}, ` +
        `pack with commits ${ms(busy.ms)} (${busy.during.length} commits)` +
        `${peer === undefined ? '' : `, VACUUM ${ms(peer.ms)}`}\n`,
    );
  }
} finally {
  if (keepFiles) console.error(`databases kept in ${work}`);
  else await rm(work, { recursive: true, force: true });
}

const med = (f) => median(rounds.map(f));
const last = rounds.at(-1);
const packMs = med((x) => x.quiet.ms);
const copyMs = med((x) => x.copy.ms);
const busyMs = med((x) => x.busy.ms);
const without = rounds.flatMap((x) => x.busy.without);
const during = rounds.flatMap((x) => x.busy.during);
const p = (xs, q) => quantile(xs, q);
const peer = rounds.every((x) => x.peer !== undefined) ? rounds.map((x) => x.peer) : undefined;
const sampledExtra = Math.max(...rounds.map((x) => x.quiet.sampledExtra));
const exactExtra = Math.max(...rounds.map((x) => x.quiet.exactExtra));
const q = last.quiet;

console.log(
  `Pack, N = ${N.toLocaleString('en-US')} objects (50% unreachable), 'file' storage, segmentSize ${MiB(SEGMENT_SIZE)}, ` +
    `durability strict, ${ROUNDS} round(s) (medians; latencies pooled over the rounds), Node ${process.version}`,
);
console.log();
console.log('| measure | value | ratio |');
console.log('|---|---|---|');
console.log(
  `| database before pack: disk bytes / stats().bytes / stats().garbageBytes / objects | ${MiB(q.diskBefore)} / ${MiB(q.statsBefore.bytes)} / ${MiB(q.statsBefore.garbageBytes)} / ${q.statsBefore.objects.toLocaleString('en-US')} | – |`,
);
console.log(
  `| after pack: disk bytes / objects removed / revisions removed | ${MiB(q.diskAfter)} / ${q.result.objectsRemoved.toLocaleString('en-US')} / ${q.result.revisionsRemoved.toLocaleString('en-US')} | ${ratio(q.diskAfter, q.diskBefore)} of before |`,
);
console.log(
  `| platform limit: copy the database's bytes once (read + write + fsync per file) | ${ms(copyMs)} | 1.00× |`,
);
console.log(
  `| shelfdb db.pack(), nothing else running | ${ms(packMs)} | ${ratio(packMs, copyMs)} the copy |`,
);
if (peer !== undefined) {
  const vac = median(peer.map((x) => x.ms));
  console.log(
    `| SQLite ${last.peer.version} (native sqlite3 shell) VACUUM of the same rows, every other one deleted: ${MiB(last.peer.before)} → ${MiB(last.peer.after)} | ${ms(vac)} | ${ratio(vac, copyMs)} the copy; shelfdb pack = ${ratio(packMs, vac)} VACUUM |`,
  );
} else {
  console.log(
    '| SQLite VACUUM | no sqlite3 on the PATH (SQLite-WASM runs in memory only in Node) | – |',
  );
}
console.log(
  `| peak extra bytes during the pack, exact (every write/truncate/remove tracked) | ${MiB(exactExtra)} | ${ratio(exactExtra, SEGMENT_SIZE)} one segment; ${ratio(exactExtra, q.diskBefore)} the database |`,
);
console.log(
  `| peak extra bytes, sampled (fs.stat sum of the directory at each of ${q.events} 'pack' events (${q.phases}) and at the end) | ${MiB(sampledExtra)} | ${ratio(sampledExtra, SEGMENT_SIZE)} one segment |`,
);
console.log(
  `| db.pack() while a second connection commits back to back | ${ms(busyMs)} | ${ratio(busyMs, packMs)} the quiet pack |`,
);
console.log(
  `| small durable commit without a pack (each asked for in a new event-loop turn, timed from the ask): p50 / p99 (${without.length.toLocaleString('en-US')} commits) | ${ms(p(without, 0.5))} / ${ms(p(without, 0.99))} | 1.00× |`,
);
console.log(
  `| small durable commit during the pack: p50 / p99 / max (${during.length.toLocaleString('en-US')} commits) | ${ms(p(during, 0.5))} / ${ms(p(during, 0.99))} / ${ms(Math.max(...during))} | ${ratio(p(during, 0.5), p(without, 0.5))} / ${ratio(p(during, 0.99), p(without, 0.99))} (goal ≤ 2×) |`,
);
const probe = rounds[0].probe;
console.log(
  `| pack while one connection commits back to back WITHOUT letting the event loop turn (each answer starts the next commit in a microtask), for ${ms(PROBE_MS)}: ${probe.commits.toLocaleString('en-US')} commits; 'pack' events meanwhile / last one / pack finished | ${probe.events} / ${probe.lastPhase} / ${probe.finished ? 'yes' : 'no'} | the pack then took ${ms(probe.afterMs)} more |`,
);
console.log(
  `| build: ${N.toLocaleString('en-US')} objects in commits of ${CHUNK.toLocaleString('en-US')}, then unlink half | ${ms(med((x) => x.buildMs))} | – |`,
);

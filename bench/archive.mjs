// Export, import, backup and restore benchmark (issue 15), in Node over real files: a 'file'
// database (ShelfStorage over a NodeBlockDirectory) holding a BTree of N = 100,000 records
// (bench/pages/records.ts' fields, as Persistent objects: the BTree and its records are what
// `exportTree` exports, 100,001 entries). Per round:
//   - exportTree of the BTree, gzip off, read to the end (objects/s, archive bytes, peak heap);
//   - importCopy of that archive into a second, empty 'file' database (objects/s, peak heap);
//   - db.backup() of the first database (objects/s, bytes, peak heap);
//   - restoreDatabase of that backup into a third 'file' database (objects/s, peak heap);
//   - the platform floor: JSON.stringify of the same N records as plain objects, one line each
//     (what any JSON export must at least do), and copying the database's files (read + write +
//     fsync: what any backup must at least do);
//   - the peer, when a `sqlite3` executable is on the PATH: the same rows (id, JSON text) in a
//     file database, then `.dump` (SQLite's text export) and `.backup` (its online backup), timed
//     around the sqlite3 process (its start-up included).
// Archives and backups are written to files as they stream and read back as file Blobs, so no
// step holds a whole archive. Peak heap: process.memoryUsage().heapUsed sampled every 10 ms during
// the step, minus the heap at its start (after a gc when Node runs with --expose-gc, as
// `npm run bench` does not).
//
// Run: node bench/archive.mjs [--quick] [--n=N] [--rounds=R]
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  fsyncSync,
  mkdirSync,
  openAsBlob,
  openSync,
  readdirSync,
} from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { clearInterval, setInterval } from 'node:timers';
import { join } from 'node:path';
import { URL } from 'node:url';
import { bundleAndImport } from './bundle-import.mjs';
import { defineRecord } from './record-class.mjs';

const option = (name) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes('--quick');
const N = Number(option('n') ?? (quick ? 20_000 : 100_000));
const ROUNDS = Number(option('rounds') ?? (quick ? 1 : 3));
const CHUNK = 10_000;

const path = (p) => JSON.stringify(new URL(p, import.meta.url).pathname);
const shelfdb = await bundleAndImport(
  {
    source:
      `export * from ${path('../src/index.ts')};\n` +
      `export { fields } from ${path('./pages/records.ts')};\n`,
  },
  'node',
);
const { BTree, exportTree, fields, importCopy, openDatabase, restoreDatabase } = shelfdb;

const Rec = defineRecord(shelfdb);

/** Runs `step`, sampling the heap; resolves to [result, ms, peak heap growth in bytes]. */
async function measured(step) {
  globalThis.gc?.();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 10);
  const start = performance.now();
  try {
    const result = await step();
    const ms = performance.now() - start;
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    return [result, ms, peak - base];
  } finally {
    clearInterval(timer);
  }
}

/**
 * Writes a stream to `file` as it comes, in writes of about 1 MiB (as a file sink would buffer;
 * nothing more is kept in memory); resolves to its bytes.
 */
async function toFile(stream, file) {
  const handle = await open(file, 'w');
  let bytes = 0;
  let pending = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pending.length > 0) await handle.writev(pending);
    pending = [];
    pendingBytes = 0;
  };
  try {
    for await (const chunk of stream) {
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      bytes += chunk.byteLength;
      if (pendingBytes >= 1 << 20) await flush();
    }
    await flush();
    await handle.sync();
  } finally {
    await handle.close();
  }
  return bytes;
}

/** Copies every file of `from` into `to` and fsyncs each: the floor of any backup. */
function copyFiles(from, to) {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    copyFileSync(join(from, name), join(to, name));
    const fd = openSync(join(to, name), 'r+');
    fsyncSync(fd);
    closeSync(fd);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const perSecond = (count, ms) => Math.round((count / ms) * 1000).toLocaleString('en-US');
const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function sqlitePeer(dir) {
  if (spawnSync('sqlite3', ['-version']).status !== 0) return undefined;
  const db = join(dir, 'peer.sqlite');
  const rows = [];
  for (let id = 0; id < N; id++)
    rows.push(`(${id},'${JSON.stringify(fields(id)).replaceAll("'", "''")}')`);
  const insert = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    insert.push(`BEGIN; INSERT INTO rec VALUES ${rows.slice(i, i + CHUNK).join(',')}; COMMIT;`);
  }
  const sqlFile = join(dir, 'load.sql');
  await writeFile(
    sqlFile,
    `CREATE TABLE rec (id INTEGER PRIMARY KEY, doc TEXT);\n${insert.join('\n')}\n`,
  );
  spawnSync('sqlite3', [db, `.read ${sqlFile}`]);
  // Timed around the sqlite3 process: its start-up (a few ms) is in both figures.
  const timed = (args) => {
    const t = performance.now();
    const r = spawnSync('sqlite3', [db, ...args], { maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`sqlite3 ${args.join(' ')}: ${r.stderr}`);
    return performance.now() - t;
  };
  const dumpMs = timed([`.output ${join(dir, 'dump.sql')}`, '.dump']);
  const backupMs = timed([`.backup ${join(dir, 'backup.sqlite')}`]);
  return { dumpMs, backupMs };
}

const results = { export: [], import: [], backup: [], restore: [], json: [], copy: [], peer: [] };
for (let round = 0; round < ROUNDS; round++) {
  const dir = await mkdtemp(join(tmpdir(), 'shelfdb-archive-bench-'));
  try {
    const source = await openDatabase('source', { storage: 'file', path: join(dir, 'source') });
    const conn = source.open();
    const root = await conn.root();
    const tree = new BTree();
    root.set('records', tree);
    for (let i = 0; i < N; i += CHUNK) {
      const batch = [];
      for (let id = i; id < Math.min(N, i + CHUNK); id++)
        batch.push([id, Object.assign(new Rec(), fields(id))]);
      await tree.update(batch);
      await conn.commit();
    }
    const treeOid = tree._p_oid;

    const archiveFile = join(dir, 'tree.shelf');
    const [exported, exportMs, exportHeap] = await measured(() =>
      toFile(exportTree(conn, treeOid), archiveFile),
    );
    results.export.push({ ms: exportMs, heap: exportHeap, bytes: exported });
    const archive = await openAsBlob(archiveFile);

    const target = await openDatabase('target', { storage: 'file', path: join(dir, 'target') });
    const tconn = target.open();
    const troot = await tconn.root();
    const [, importMs, importHeap] = await measured(() =>
      importCopy(tconn, archive, troot, 'copy'),
    );
    results.import.push({ ms: importMs, heap: importHeap });
    await target.close();

    const backupFile = join(dir, 'db.backup');
    const [backedUp, backupMs, backupHeap] = await measured(() =>
      toFile(source.backup(), backupFile),
    );
    results.backup.push({ ms: backupMs, heap: backupHeap, bytes: backedUp });
    const backupBytes = await openAsBlob(backupFile);
    await source.close();

    const [restored, restoreMs, restoreHeap] = await measured(() =>
      restoreDatabase('restored', backupBytes, { storage: 'file', path: join(dir, 'restored') }),
    );
    results.restore.push({ ms: restoreMs, heap: restoreHeap });
    await restored.close();

    const [, jsonMs] = await measured(async () => {
      let bytes = 0;
      for (let id = 0; id < N; id++) bytes += JSON.stringify(fields(id)).length + 1;
      return bytes;
    });
    results.json.push({ ms: jsonMs });
    const [, copyMs] = await measured(async () =>
      copyFiles(join(dir, 'source'), join(dir, 'copy')),
    );
    results.copy.push({ ms: copyMs });
    const peer = await sqlitePeer(dir);
    if (peer) results.peer.push(peer);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const objects = N + 1; // the records and the tree
const m = (list, key) => median(list.map((r) => r[key]));
console.log(
  `N = ${N.toLocaleString('en-US')} records in a BTree (${objects.toLocaleString('en-US')} archive entries), ${ROUNDS} round(s), medians\n`,
);
console.log('| step | time | objects/s | peak heap | bytes |');
console.log('|---|---:|---:|---:|---:|');
const row = (name, list, count = objects) =>
  console.log(
    `| ${name} | ${Math.round(m(list, 'ms'))} ms | ${perSecond(count, m(list, 'ms'))} | ${list[0].heap === undefined ? '' : mib(m(list, 'heap'))} | ${list[0].bytes === undefined ? '' : mib(m(list, 'bytes'))} |`,
  );
row('exportTree (read to the end)', results.export);
row('importCopy into an empty database', results.import);
row('db.backup() (read to the end)', results.backup);
row('restoreDatabase', results.restore);
row('floor: JSON.stringify of the records', results.json, N);
row('floor: copy the database files + fsync', results.copy);
if (results.peer.length > 0) {
  console.log(
    `| peer: sqlite3 .dump | ${Math.round(m(results.peer, 'dumpMs'))} ms | ${perSecond(N, m(results.peer, 'dumpMs'))} | | |`,
  );
  console.log(
    `| peer: sqlite3 .backup | ${Math.round(m(results.peer, 'backupMs'))} ms | ${perSecond(N, m(results.peer, 'backupMs'))} | | |`,
  );
}
console.log(
  `\nRatios: export / JSON floor ${(m(results.export, 'ms') / m(results.json, 'ms')).toFixed(1)}×, backup / file copy ${(m(results.backup, 'ms') / m(results.copy, 'ms')).toFixed(1)}×` +
    (results.peer.length > 0
      ? `, export / sqlite3 .dump ${(m(results.export, 'ms') / m(results.peer, 'dumpMs')).toFixed(1)}×, backup / sqlite3 .backup ${(m(results.backup, 'ms') / m(results.peer, 'backupMs')).toFixed(1)}×`
      : ''),
);

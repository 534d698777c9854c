// Chooses BTree's default minimum degree (issue 4): for several degrees, 100,000 inserts in
// commits of 1,000 and 10,000 random gets through a cold connection, over ShelfStorage in memory.
// Counts storage round trips (each costs ~80 µs across the worker in the browser, PERFORMANCE.md)
// and the bytes each commit writes. Needs `npm run build` (bench/run.mjs does it).
import { BTree, Database } from '../dist/src/index.js';
import { MemoryBlockDirectory } from '../dist/worker/block-file.js';
import { ShelfStorage } from '../dist/worker/shelf-storage.js';

const quick = process.argv.includes('--quick');
const N = quick ? 5_000 : 100_000;
const GETS = quick ? 500 : 10_000;
const ROUND_TRIP_US = 80;

/** Counts calls of `load` and the bytes committed. */
function counting(storage) {
  const stats = { loads: 0, commitBytes: 0, commits: 0 };
  const load = storage.load.bind(storage);
  const commit = storage.commit.bind(storage);
  storage.load = (oids, at) => {
    stats.loads++;
    return load(oids, at);
  };
  storage.commit = (txn) => {
    stats.commits++;
    stats.commitBytes += txn.records.reduce((n, r) => n + r.state.byteLength, 0);
    return commit(txn);
  };
  return stats;
}

const rows = [];
for (const degree of [8, 16, 32, 64, 128]) {
  const storage = await ShelfStorage.open(new MemoryBlockDirectory());
  const stats = counting(storage);
  const db = new Database(storage);
  const conn = db.open();
  const tree = new BTree({ minimumDegree: degree });
  (await conn.root()).set('tree', tree);
  await conn.commit();
  stats.commitBytes = 0;
  stats.commits = 0;
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    await tree.set((i * 7919) % N, { title: `item ${i}`, n: i });
    if (i % 1000 === 999) await conn.commit();
  }
  await conn.commit();
  const insertMs = performance.now() - t;
  const bytesPerCommit = stats.commitBytes / stats.commits;

  const cold = db.open();
  const coldTree = await cold.load((await cold.root()).get('tree'));
  stats.loads = 0;
  t = performance.now();
  for (let i = 0; i < GETS; i++) await coldTree.get((i * 104729) % N);
  const getMs = performance.now() - t;
  const tripsPerGet = stats.loads / GETS;
  rows.push({
    degree,
    depth: await coldTree.depth(),
    insertPerSec: N / (insertMs / 1000),
    bytesPerCommit,
    getUs: (getMs * 1000) / GETS,
    tripsPerGet,
    browserGetUs: (getMs * 1000) / GETS + tripsPerGet * ROUND_TRIP_US,
  });
  await db.close();
}
console.log(
  `| minimum degree | depth | inserts/s (commits of 1,000) | bytes written per commit | cold get, µs (Node) | round trips per cold get | cold get in a browser, µs (+${ROUND_TRIP_US} µs per trip) |`,
);
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.degree} | ${r.depth} | ${r.insertPerSec.toFixed(0)} | ${(r.bytesPerCommit / 1024).toFixed(0)} KiB | ${r.getUs.toFixed(1)} | ${r.tripsPerGet.toFixed(2)} | ${r.browserGetUs.toFixed(0)} |`,
  );
}

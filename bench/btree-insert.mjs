// Micro-benchmark (issue 12): what one BTree insert costs in the page, apart from serialization
// and the commit. 100,000 inserts of increasing integer keys (the bulk import of bench/browser)
// into a fresh BTree of a MemoryStorage database, through `await tree.set(k, v)` in a loop and
// through one `tree.update(entries)`; then the same with keys in random order. The commit after
// the inserts is timed apart. Bundles src/ with rolldown (as bench/serializer.mjs does), so it
// needs no `npm run build`.
//
// Run: node bench/btree-insert.mjs [--quick] [--n=N] [--case=set] [--inserts-only]
//   --baseline=DIR  also bundles DIR/index.ts (another version of src/, e.g. from
//                   `git archive HEAD src | tar -x -C /tmp/base`) and runs both, round by round,
//                   so the two columns share the machine's load.
//   --inserts-only  leaves out the commit: for `node --cpu-prof` of the inserts alone.
import { join, resolve } from 'node:path';
import { URL } from 'node:url';
import { bundleAndImport } from './bundle-import.mjs';
import { defineRecord } from './record-class.mjs';

const option = (name) =>
  process.argv.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes('--quick');
const N = Number(option('n') ?? (quick ? 10_000 : 100_000));
const ROUNDS = quick ? 2 : 5;
const insertsOnly = process.argv.includes('--inserts-only');
const only = option('case');
const baselineDir = option('baseline');

/** One version of shelfdb under test, with the record class bench/browser stores. */
async function subject(name, entry) {
  const { BTree, Database, MemoryStorage, Persistent, registerClass } =
    await bundleAndImport(entry);
  const Rec = defineRecord({ Persistent, registerClass });
  const record = (id) =>
    Object.assign(new Rec(), {
      id,
      title: `Todo item number ${id}`,
      done: id % 2 === 0,
      priority: id % 5,
      tags: ['work', 'home', `t${id % 10}`],
      created: 1_700_000_000_000 + id,
      note: 'Some longer text describing the todo item in a few words.',
    });
  return { name, BTree, Database, MemoryStorage, record };
}

const subjects = [await subject('now', new URL('../src/index.ts', import.meta.url).pathname)];
if (baselineDir !== undefined) {
  subjects.unshift(await subject('baseline', join(resolve(baselineDir), 'index.ts')));
}

/** Keys 1..N in a fixed pseudo-random order (a 32-bit LCG shuffle: the same every run). */
function shuffled(n) {
  const keys = Array.from({ length: n }, (_, i) => i + 1);
  let s = 12345;
  for (let i = n - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [keys[i], keys[j]] = [keys[j], keys[i]];
  }
  return keys;
}

/** Each case inserts `entries` ([key, value] pairs, made before the clock starts). */
const viaSet = async (tree, entries) => {
  for (const [k, v] of entries) await tree.set(k, v);
};
const viaUpdate = (tree, entries) => tree.update(entries);
const cases = {
  'set, increasing keys': viaSet,
  'update, increasing keys': viaUpdate,
  'set, random keys': viaSet,
  'update, random keys': viaUpdate,
};

/** One round: µs per insert and per committed entry. */
async function round(s, keys, run) {
  const db = new s.Database(new s.MemoryStorage());
  const conn = db.open();
  const tree = new s.BTree();
  (await conn.root()).set('tree', tree);
  await conn.commit();
  const entries = keys.map((k) => [k, s.record(k)]);
  const t0 = performance.now();
  await run(tree, entries);
  const t1 = performance.now();
  if (!insertsOnly) await conn.commit();
  const t2 = performance.now();
  if (tree.size !== keys.length) throw new Error(`size ${tree.size}, expected ${keys.length}`);
  await db.close();
  return { insert: ((t1 - t0) * 1000) / keys.length, commit: ((t2 - t1) * 1000) / keys.length };
}

const increasing = Array.from({ length: N }, (_, i) => i + 1);
const random = shuffled(N);
const results = [];
for (const [name, run] of Object.entries(cases)) {
  if (only !== undefined && !name.startsWith(only)) continue;
  const keys = name.includes('random') ? random : increasing;
  const times = new Map(subjects.map((s) => [s, { insert: [], commit: [] }]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of subjects) {
      const t = await round(s, keys, run);
      times.get(s).insert.push(t.insert);
      times.get(s).commit.push(t.commit);
    }
  }
  const best = (xs) => Math.min(...xs).toFixed(3);
  const row = { case: name };
  for (const s of subjects) {
    row[`${s.name}: µs/insert`] = best(times.get(s).insert);
    if (!insertsOnly) row[`${s.name}: µs/entry, commit`] = best(times.get(s).commit);
  }
  results.push(row);
}
console.log(`BTree inserts, N = ${N}, best of ${ROUNDS} rounds, Node ${process.version}`);
console.table(results);

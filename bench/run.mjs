// `npm run bench`: runs the benchmarks that exist so far and prints their tables.
// The micro-benchmarks behind design choices run in Node (V8, the engine of Chromium).
// The browser benchmark against the platform limit and the peers is issue 5.
import { spawnSync } from 'node:child_process';

const quick = process.argv.includes('--quick');
const benches = [
  ['Change tracking: cost of a property read and write', 'bench/tracking-cost.mjs'],
  ['Object state encoders', 'bench/serializer.mjs'],
  ['BTree minimum degree', 'bench/btree-degree.mjs'],
  ['BTree inserts: set and update', 'bench/btree-insert.mjs'],
  [
    'Persistent objects: construction, commit bookkeeping, shrink, reload',
    'bench/persistent-cost.mjs',
  ],
  ['Pack: time, peak extra bytes, commit latency during a pack (issue 13)', 'bench/pack.mjs'],
  ['Export, import, backup and restore of 100,000 objects (issue 15)', 'bench/archive.mjs'],
];
console.log(
  `shelfdb benchmarks — ${new Date().toISOString()} — Node ${process.version}${quick ? ' (quick)' : ''}\n`,
);
// The benchmarks that use shelfdb itself import the compiled package.
const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
let failed = false;
for (const [title, file] of benches) {
  console.log(`## ${title}\n`);
  const r = spawnSync(process.execPath, [file, ...(quick ? ['--quick'] : [])], {
    stdio: 'inherit',
  });
  if (r.status !== 0) failed = true;
  console.log('');
}
console.log('## shelfdb and its peers in Chromium\n');
const browser = spawnSync(process.execPath, ['bench/browser.mjs', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
if (browser.status !== 0) failed = true;
console.log('\n## Blobs in Chromium (issue 16)\n');
// Only the run's length passes on: the other options of browser.mjs name its own cases.
const blobs = spawnSync(
  process.execPath,
  ['bench/blobs.mjs', ...process.argv.slice(2).filter((a) => a === '--quick' || a === '--smoke')],
  { stdio: 'inherit' },
);
if (blobs.status !== 0) failed = true;
process.exit(failed ? 1 : 0);

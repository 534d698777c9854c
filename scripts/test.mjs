// `npm test`: typecheck and lint (side by side) → unit tests in Node → browser tests in Chromium,
// stopping at the first failing step, then one summary line ("N passed, N failed") over both test
// runners.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = (name) => join('node_modules', '.bin', name);
const out = mkdtempSync(join(tmpdir(), 'shelfdb-test-'));
const vitestJson = join(out, 'vitest.json');
const playwrightJson = join(out, 'playwright.json');

const steps = [
  [
    'typecheck and lint',
    'node',
    ['scripts/side-by-side.mjs', 'npm run --silent typecheck', 'npm run --silent lint'],
  ],
  [
    'unit tests (Node)',
    bin('vitest'),
    ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`],
  ],
  [
    'browser tests (Chromium)',
    bin('playwright'),
    ['test', '--config', 'e2e/playwright.config.ts'],
    { PLAYWRIGHT_JSON_OUTPUT_NAME: playwrightJson },
  ],
];

let passed = 0;
let failed = 0;
let status = 0;
for (const [name, command, args, env] of steps) {
  console.log(`\n▶ ${name}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (name.startsWith('unit')) {
    const counts = readCounts(vitestJson, (r) => [r.numPassedTests, r.numFailedTests]);
    passed += counts[0];
    failed += counts[1];
  }
  if (name.startsWith('browser')) {
    const counts = readCounts(playwrightJson, (r) => [
      r.stats.expected,
      r.stats.unexpected + r.stats.flaky,
    ]);
    passed += counts[0];
    failed += counts[1];
  }
  if (result.status !== 0) {
    console.error(`\n✗ ${name} failed${result.error ? `: ${result.error.message}` : ''}`);
    status = result.status ?? 1;
    if (failed === 0) failed = 1; // a step failed before any test could: count it
    break;
  }
}
rmSync(out, { recursive: true, force: true });
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(status);

function readCounts(file, pick) {
  try {
    return pick(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return [0, 0]; // the runner died before writing its report; its exit status says so
  }
}

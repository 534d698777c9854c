import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Modules under test that import the package by name (the demo's) get the source, as the
    // tests do, never a stale or missing dist/ (anchored: `shelfdb` would also rewrite the
    // subpaths).
    alias: [
      { find: /^shelfdb\/explorer$/, replacement: here('src/explorer/index.ts') },
      { find: /^shelfdb\/react$/, replacement: here('src/react/index.ts') },
      { find: /^shelfdb$/, replacement: here('src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // GC-dependent tests (cache identity) run with --expose-gc.
    execArgv: ['--expose-gc'],
    // Vitest leaves a core free by default: on a 2-core machine (CI's) that is one file at a time,
    // with the second core idle while a file imports its modules (a fifth of the run).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // A test's timeout is for a hang: CPU-bound property tests that take 1–2 s alone take several
    // times that beside another file on a loaded machine.
    testTimeout: 15_000,
  },
});

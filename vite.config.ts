import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // GC-dependent tests (cache identity) run with --expose-gc.
    execArgv: ['--expose-gc'],
  },
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Serves the repository root for the browser tests and the benchmark: e2e/pages/*, bench/pages/*
// and demo/ import the library from source, through the package name `shelfdb`.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: {
    alias: { shelfdb: fileURLToPath(new URL('../src/index.ts', import.meta.url)) },
  },
  // The benchmark page (bench/pages, smoke-tested here) loads SQLite-WASM, which must not be pre-bundled.
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
  server: { hmr: false },
  logLevel: 'warn',
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Serves the repository root for the browser tests and the benchmark: e2e/pages/*, bench/pages/*
// and demo/ import the library from source, through the package names `shelfdb` and
// `shelfdb/react` and `shelfdb/explorer` (anchored patterns: a plain `shelfdb` alias would also
// rewrite `shelfdb/react`).
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: {
    alias: [
      {
        find: /^shelfdb\/explorer$/,
        replacement: fileURLToPath(new URL('../src/explorer/index.ts', import.meta.url)),
      },
      {
        find: /^shelfdb\/react$/,
        replacement: fileURLToPath(new URL('../src/react/index.ts', import.meta.url)),
      },
      {
        find: /^shelfdb$/,
        replacement: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
      },
    ],
  },
  // The benchmark page (bench/pages, smoke-tested here) loads SQLite-WASM, which must not be pre-bundled.
  // React (e2e/pages/react-page.ts) and lit (the explorer) are pre-bundled at start: found later, Vite would reload the page.
  optimizeDeps: {
    exclude: ['@sqlite.org/sqlite-wasm'],
    include: ['react', 'react-dom/client', 'lit'],
  },
  server: { hmr: false },
  logLevel: 'warn',
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Serves the benchmark pages (bench/pages) with the library from source, as `shelfdb`.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  resolve: {
    alias: { shelfdb: fileURLToPath(new URL('../src/index.ts', import.meta.url)) },
  },
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
  server: { hmr: false },
  logLevel: 'warn',
});

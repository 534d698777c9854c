import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

// The sources do not change while the browser tests run, so a tab may keep the modules it loaded
// instead of asking again for each of them (Vite's dev server says `no-cache`): the tests open
// hundreds of tabs, and each revalidated the ~150 modules of the library and its worker.
const keepModules: Plugin = {
  name: 'shelfdb-e2e-keep-modules',
  configureServer(server) {
    server.middlewares.use((_req, res, next) => {
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name, value) =>
        name.toLowerCase() === 'cache-control' && value === 'no-cache'
          ? setHeader(name, 'max-age=3600')
          : setHeader(name, value);
      next();
    });
  },
};

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
  plugins: [keepModules],
  server: { hmr: false },
  logLevel: 'warn',
});

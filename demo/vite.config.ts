import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

// `npm run demo`: the sample app on http://localhost:5173 and the explorer at /explorer.html.
// `vite build --config demo/vite.config.ts` builds both as an installable app that works offline
// (`vite preview --config demo/vite.config.ts` serves the build). The app imports the library by
// its package names, resolved here to the source (anchored patterns: a plain `shelfdb` alias would
// also rewrite `shelfdb/explorer`).
export default defineConfig({
  root: here('.'),
  resolve: {
    alias: [
      { find: /^shelfdb\/explorer$/, replacement: here('../src/explorer/index.ts') },
      { find: /^shelfdb\/service-worker$/, replacement: here('../worker/blob-route.ts') },
      { find: /^shelfdb$/, replacement: here('../src/index.ts') },
    ],
  },
  // lit (the explorer, loaded when its panel opens) is pre-bundled at start: found later, Vite
  // would reload the page.
  optimizeDeps: { include: ['lit'] },
  // The storage worker imports modules: an ES module worker.
  worker: { format: 'es' },
  build: {
    rollupOptions: {
      input: { app: here('index.html'), explorer: here('explorer.html') },
    },
  },
  server: { port: 5173, strictPort: true },
  plugins: [
    {
      // As the package's browser build does (scripts/build.mjs): in a browser there is no 'file'
      // storage and no directory checkout, so their Node code (node:fs, the lock file) stays out
      // of the app and its precache.
      name: 'shelfdb:browser-file-storage',
      enforce: 'pre',
      resolveId(source, importer) {
        if (source === '../worker/file-storage.js' && importer?.endsWith('/src/open-database.ts')) {
          return here('../worker/file-storage.browser.ts');
        }
        const directory =
          (source === './directory.js' && importer?.includes('/src/archive/')) ||
          (source === './archive/directory.js' && importer?.endsWith('/src/index.ts'));
        if (directory) return here('../src/archive/directory.browser.ts');
        return null;
      },
    },
    VitePWA({
      // Our own service worker (sw.ts): Workbox precaches the app shell as the generated one did,
      // and the blob route answers /shelfdb/blob/<hash> (note attachments) from the databases.
      strategies: 'injectManifest',
      srcDir: '.',
      filename: 'sw.ts',
      // main.ts and explorer-page.ts register the service worker themselves, in production
      // builds only (offline.ts); the dev server has none.
      injectRegister: null,
      manifest: {
        name: 'shelfdb notes',
        short_name: 'Notes',
        description: 'Notes kept in shelfdb, in this browser, offline too.',
        start_url: '.',
        scope: '.',
        display: 'standalone',
        background_color: '#f6f5f1',
        theme_color: '#2f5d50',
        icons: [
          { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        // The app shell: both pages, every chunk (the storage worker's and the explorer's too),
        // the styles; the plugin adds the manifest and its icons.
        globPatterns: ['**/*.{html,js,css}'],
        // A classic script: offline.ts registers it without `type: 'module'`, which every
        // browser with service workers runs.
        rollupFormat: 'iife',
      },
    }),
  ],
});

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// `npm run demo`: the sample app on http://localhost:5173. It imports the library by its package
// name, resolved here to the source.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: { shelfdb: fileURLToPath(new URL('../src/index.ts', import.meta.url)) },
  },
  server: { port: 5173, strictPort: true },
});

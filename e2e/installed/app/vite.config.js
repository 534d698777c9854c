// The app's two pages: the app itself, and the explorer mounted over its database.
import { defineConfig } from 'vite';

export default defineConfig({
  build: { rollupOptions: { input: ['index.html', 'explorer.html'] } },
});

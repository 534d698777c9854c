import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumPath } from './chromium.js';

const PORT = 5174;

export default defineConfig({
  testDir: '.',
  testMatch: '*.spec.ts',
  fullyParallel: false,
  // Two files at a time (each file's tests in order): most of a browser test is waiting (builds,
  // servers, other tabs), and the suite fits CI's 15 minutes only so. Files use their own
  // databases and free ports.
  workers: 2,
  retries: 0,
  timeout: 60_000,
  forbidOnly: !!process.env.CI,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [['list'], ['json']] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    headless: true,
    launchOptions: { executablePath: chromiumPath(), args: CHROMIUM_ARGS },
  },
  webServer: {
    command: `node node_modules/vite/bin/vite.js --config e2e/vite.config.ts --port ${PORT} --strictPort --host 127.0.0.1`,
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    url: `http://127.0.0.1:${PORT}/e2e/pages/blank.html`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});

/**
 * The sample app as it ships: built with demo/vite.config.ts (the PWA plugin, the service worker)
 * into a temporary directory and served by `vite preview` on a free port, for e2e/pwa.spec.ts. The
 * browser tests' own server serves the demo from source, without a service worker.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';

const configFile = fileURLToPath(new URL('../demo/vite.config.ts', import.meta.url));

/** A built demo being served. */
export interface ServedDemo {
  /** The address of the app (its index page), ending in '/'. */
  url: string;
  /** Stops the server (as a network outage would) and leaves the build in place. */
  stop(): Promise<void>;
  /** Stops the server if it runs, and deletes the build. */
  dispose(): Promise<void>;
}

/** A TCP port nobody listens on now (the browser tests' server has 5174, `npm run demo` 5173). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Builds the demo as `vite build --config demo/vite.config.ts` does, and serves the build. */
export async function buildAndServeDemo(): Promise<ServedDemo> {
  const outDir = await mkdtemp(join(tmpdir(), 'shelfdb-demo-'));
  await build({ configFile, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  const port = await freePort();
  const server = await preview({
    configFile,
    logLevel: 'warn',
    build: { outDir },
    preview: { host: '127.0.0.1', port, strictPort: true },
  });
  let running = true;
  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    await server.close();
  };
  return {
    url: `http://127.0.0.1:${port}/`,
    stop,
    async dispose() {
      await stop();
      await rm(outDir, { recursive: true, force: true });
    },
  };
}

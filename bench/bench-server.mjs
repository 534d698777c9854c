// The Vite server the browser benchmarks load their page from (e2e/vite.config.ts: the repository
// root, `shelfdb` from source).
import { spawn } from 'node:child_process';

/** Starts Vite on `port` and resolves once the benchmark page answers. */
export async function startServer(port) {
  const server = spawn(
    process.execPath,
    [
      'node_modules/vite/bin/vite.js',
      '--config',
      'e2e/vite.config.ts',
      '--port',
      String(port),
      '--strictPort',
      '--host',
      '127.0.0.1',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/bench/pages/bench.html`);
      if (r.ok) return server;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  server.kill();
  throw new Error('the benchmark server did not start');
}

// `npm run build`: the package as apps install it, in dist/.
//
//   dist/index.js, storage.js, react.js, explorer.js (+ shared chunks)  the browser build (the default export
//                                                           condition), chunks beside their entries
//   dist/worker.js (+ worker-*.js)                         the storage worker, with its own chunks
//                                                           only (a worker sees no import map): its
//                                                           IndexedDB storage is loaded on demand
//   dist/service-worker.js                                 the blob route for an app's service
//                                                           worker (`shelfdb/service-worker`): one
//                                                           self-contained file (no import map)
//   dist/node/…                                            the same entries under Node's condition,
//                                                           with the 'file' storage
//   dist/types/…                                           declarations, from tsc
//   dist/cli.js → dist/node/cli.js                         the `shelfdb` command line (the
//                                                           package's bin): an executable
//                                                           starter, and the CLI built for Node
//
// The page starts the worker as `new Worker(new URL('./worker.js', import.meta.url), { type:
// 'module' })` from a chunk in dist/ itself: the pattern bundlers follow without plugins (tested:
// Vite 8, webpack 5) and that a browser resolves natively. Dependencies stay external in the page
// and Node builds (the app's bundler or import map provides them once); devDependencies the source
// imports (@noble/hashes: SHA-256 for archives) are bundled in, so an import map needs no entry.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dist = join(root, 'dist');
const bare = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
/** Dependencies and Node built-ins are the app's to provide. */
const external = (id) =>
  id.startsWith('node:') || bare.some((name) => id === name || id.startsWith(`${name}/`));

const WORKER_SOURCE = "new URL('../worker/entry.ts', import.meta.url)";
const WORKER_BUILT = "new URL('./worker.js', import.meta.url)";

/** In the built page, the worker is ./worker.js beside the chunk that starts it. */
const workerUrl = {
  name: 'shelfdb:worker-url',
  transform(code, id) {
    if (!id.endsWith('/src/open-database.ts')) return null;
    if (code.split(WORKER_SOURCE).length !== 2) {
      this.error(`src/open-database.ts must start the worker with exactly one ${WORKER_SOURCE}`);
    }
    return { code: code.replace(WORKER_SOURCE, WORKER_BUILT), map: null };
  },
};

/** An import of src/archive/directory.ts (from its folder, or from src/index.ts). */
const isDirectoryImport = (source, importer) =>
  (source === './directory.js' && importer?.includes('/src/archive/')) ||
  (source === './archive/directory.js' && importer?.endsWith('/src/index.ts'));

/**
 * The browser build has no Node file storage and no directory checkouts: their code (node:fs, the
 * lock file) stays out, replaced by stand-ins that refuse with a clear error.
 */
const browserFileStorage = {
  name: 'shelfdb:browser-file-storage',
  resolveId(source, importer) {
    if (source === '../worker/file-storage.js' && importer?.endsWith('/src/open-database.ts')) {
      return join(root, 'worker/file-storage.browser.ts');
    }
    if (isDirectoryImport(source, importer)) return join(root, 'src/archive/directory.browser.ts');
    return null;
  },
};

/**
 * The package's entries: `shelfdb`, `shelfdb/storage` (`storage`: its browser or Node module),
 * `shelfdb/react`, `shelfdb/explorer`.
 */
const entries = (storage, { explorer = false } = {}) => ({
  index: join(root, 'src/index.ts'),
  storage: join(root, storage),
  react: join(root, 'src/react/index.ts'),
  // The explorer is a custom element: the browser build only.
  ...(explorer ? { explorer: join(root, 'src/explorer/index.ts') } : {}),
});

const output = (dir) => ({
  dir,
  format: 'es',
  entryFileNames: '[name].js',
  chunkFileNames: '[name]-[hash].js',
  sourcemap: true,
  // MemoryStorage (which a page may run in process) in a chunk of its own, apart from the modules
  // both sides share: a page that never asks for storage 'memory' never loads it, bundled or not.
  codeSplitting: {
    groups: [
      { name: 'shared', test: /[\\/]src[\\/]shared[\\/]/, priority: 2 },
      { name: 'memory-storage', test: /[\\/]worker[\\/]memory-storage\.ts$/, priority: 1 },
    ],
  },
});

/** Rolldown reports what it could not resolve as warnings: in a package build each is an error. */
function strict(warning, warn) {
  if (warning.code === 'INEFFECTIVE_DYNAMIC_IMPORT') return; // memory storage: static and lazy
  warn(warning);
  throw new Error(`build: ${warning.message}`);
}

rmSync(dist, { recursive: true, force: true });

await build({
  input: entries('worker/index.ts', { explorer: true }),
  platform: 'browser',
  external,
  plugins: [workerUrl, browserFileStorage],
  onwarn: strict,
  output: output(dist),
});
await build({
  input: join(root, 'worker/entry.ts'),
  platform: 'browser',
  onwarn: strict,
  output: {
    dir: dist,
    entryFileNames: 'worker.js',
    chunkFileNames: 'worker-[name]-[hash].js',
    format: 'es',
    sourcemap: true,
  },
});
// The blob route runs in the app's service worker, which may be a classic script bundled by the app
// or loaded as it is: one file with everything in it (idb, SHA-256), no chunks to find.
await build({
  input: join(root, 'worker/blob-route.ts'),
  platform: 'browser',
  onwarn: strict,
  output: {
    file: join(dist, 'service-worker.js'),
    format: 'es',
    sourcemap: true,
    codeSplitting: false,
  },
});
await build({
  input: entries('worker/node.ts'),
  platform: 'node',
  external,
  plugins: [workerUrl],
  onwarn: strict,
  output: output(join(dist, 'node')),
});

// The command line: Node only, so it lives under dist/node/ (dist/*.js is the browser build, checked
// below to import no Node built-in); dist/cli.js, the bin, only starts it.
await build({
  input: join(root, 'cli/bin.ts'),
  platform: 'node',
  external,
  plugins: [workerUrl],
  onwarn: strict,
  output: {
    dir: join(dist, 'node'),
    format: 'es',
    entryFileNames: 'cli.js',
    chunkFileNames: 'cli-[name]-[hash].js',
    sourcemap: true,
  },
});
writeFileSync(
  join(dist, 'cli.js'),
  "#!/usr/bin/env node\n// The shelfdb command line (package.json bin): see cli/main.ts.\nimport './node/cli.js';\n",
);
chmodSync(join(dist, 'cli.js'), 0o755);

const tsc = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) throw new Error('build: tsc could not emit the declarations');

checkBrowserBuild();

/** What apps rely on, checked on the output rather than trusted. */
function checkBrowserBuild() {
  const files = readdirSync(dist).filter((name) => name.endsWith('.js'));
  const starters = files.filter((name) =>
    readFileSync(join(dist, name), 'utf8').includes(WORKER_BUILT.replaceAll("'", '"')),
  );
  if (starters.length !== 1) {
    throw new Error(
      `build: expected one chunk in dist/ to start ./worker.js, found ${starters.length}`,
    );
  }
  for (const name of files) {
    const code = readFileSync(join(dist, name), 'utf8');
    if (/from\s*["']node:|import\(\s*["']node:/.test(code)) {
      throw new Error(`build: dist/${name} imports a Node built-in: the browser build must not`);
    }
  }
  // `import 'shelfdb/explorer'` is all an app writes: the files that define custom elements must
  // be listed in package.json `sideEffects`, or a bundler drops the import (the rest is pure).
  const sideEffects = new Set((pkg.sideEffects || []).map((path) => path.replace(/^\.\//, '')));
  for (const name of files) {
    const code = readFileSync(join(dist, name), 'utf8');
    if (code.includes('customElements.define(') && !sideEffects.has(`dist/${name}`)) {
      throw new Error(
        `build: dist/${name} defines custom elements but package.json sideEffects does not list it`,
      );
    }
  }
  // The service worker's route is one file: it imports nothing.
  const route = readFileSync(join(dist, 'service-worker.js'), 'utf8');
  if (/(?:\bfrom\s*|\bimport\(\s*)["']/.test(route)) {
    throw new Error(
      'build: dist/service-worker.js imports another module: it must be self-contained',
    );
  }
  // The worker sees no import map: it may load only its own chunks, never a bare specifier.
  for (const name of files.filter((file) => file.startsWith('worker'))) {
    const code = readFileSync(join(dist, name), 'utf8');
    for (const [, specifier] of code.matchAll(/(?:\bfrom\s*|\bimport\(\s*)["']([^"']+)["']/g)) {
      if (!/^\.\/worker(-[^/]+)?\.js$/.test(specifier)) {
        throw new Error(
          `build: dist/${name} imports ${specifier}: the worker may load only its own chunks`,
        );
      }
    }
  }
}

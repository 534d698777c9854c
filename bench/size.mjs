// `node bench/size.mjs`: what each library costs an app in JavaScript (and WebAssembly), minified
// by rolldown and gzipped at level 9, measured the same way for shelfdb and its peers. shelfdb is
// bundled from the built package (`npm run build` first), as an app imports it; its worker is
// counted, and only the chunks a page opening an OPFS or IndexedDB database loads (not the lazy
// ones for storage 'memory' or 'file'). e2e/installed.spec.ts measures the same in a real Vite
// production app, from what Chromium downloads (test-results/package-size.json).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;

/** Bundles `code` (an entry importing the library) as an app's production build would. */
async function bundle(code, { lazy = () => true, input } = {}) {
  const entry = 'virtual:entry';
  const result = await build({
    input: input ?? entry,
    cwd: root,
    platform: 'browser',
    logLevel: 'silent',
    plugins: [
      {
        name: 'entry',
        resolveId: (id) => (id === entry ? id : null),
        load: (id) => (id === entry ? code : null),
      },
    ],
    write: false,
    output: { format: 'es', minify: true },
  });
  let bytes = 0;
  for (const chunk of result.output) {
    if (chunk.type !== 'chunk') continue;
    if (!chunk.isEntry && chunk.isDynamicEntry && !lazy(chunk)) continue;
    bytes += gz(chunk.code);
  }
  return bytes;
}

if (!existsSync(join(root, 'dist/index.js'))) {
  console.error('bench/size.mjs measures the built package: run `npm run build` first.');
  process.exit(1);
}

const loadedLazily = (chunk) =>
  Object.keys(chunk.modules).some((id) => id.includes('storage-client'));
const shelfPage = await bundle(
  "import { openDatabase, Persistent, PersistentList } from './dist/index.js'; console.log(openDatabase, Persistent, PersistentList);",
  { lazy: loadedLazily },
);
// An entry module is kept whole: the worker runs for its effects (the package is sideEffects-free).
// Its IndexedDB storage is a lazy chunk, loaded only where OPFS is missing (with bundlers that keep
// a worker's chunks, such as Vite with worker.format 'es'; Vite's default inlines it).
const workerInput = { input: join(root, 'dist/worker.js') };
const shelfWorker = await bundle('', { ...workerInput, lazy: () => false });
const shelfWorkerAll = await bundle('', workerInput);
const wasm = join(dirname(require.resolve('@sqlite.org/sqlite-wasm')), 'sqlite3.wasm');
const sqliteJs = await bundle(
  "import sqlite3InitModule from '@sqlite.org/sqlite-wasm'; console.log(sqlite3InitModule);",
);
const rows = [
  [
    'shelfdb (page + storage worker)',
    shelfPage + shelfWorkerAll,
    `page ${kb(shelfPage)}, worker ${kb(shelfWorkerAll)} (${kb(shelfWorker)} on OPFS: its IndexedDB storage is a lazy chunk)`,
  ],
  [
    'Dexie 4',
    await bundle("import Dexie from 'dexie'; console.log(Dexie);"),
    'IndexedDB wrapper, page only',
  ],
  [
    'idb 8',
    await bundle("import { openDB } from 'idb'; console.log(openDB);"),
    'IndexedDB promises, page only',
  ],
  [
    'SQLite-WASM 3.54',
    sqliteJs + gz(readFileSync(wasm)),
    `JS ${kb(sqliteJs)}, WebAssembly ${kb(gz(readFileSync(wasm)))} (${kb(statSync(wasm).size)} raw)`,
  ],
];
console.log('| library | gzipped | parts |\n| --- | ---: | --- |');
for (const [name, bytes, parts] of rows) console.log(`| ${name} | ${kb(bytes)} | ${parts} |`);

function kb(bytes) {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

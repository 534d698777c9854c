// Micro-benchmark behind the choice of binary encoder for object state (issue 2).
// Both candidates are configured as shelfdb needs them: cycles and shared references kept
// (structuredClone), no shared record structures, Map distinct from plain objects.
// Since 0.2 shelfdb has its own CBOR codec (src/cbor-encode.ts, src/cbor-decode.ts), measured here
// beside them: it is bundled and minified with rolldown first (as an app's bundler would), which
// also gives its gzipped size.
// Each candidate's encode returns what serialize.ts keeps per record: an array of its own. cbor-x
// and msgpackr reuse their output buffer, so theirs is copied (serialize.ts did `.slice()` on
// cbor-x's output before 0.2); shelfdb's encoder already returns a new array, handed on as is.
// Rounds alternate between the candidates, so that a change in the machine's load during the run
// falls on all of them.
// Run: node bench/serializer.mjs
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, URL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'rolldown';
import { Packr } from 'msgpackr';
import { Encoder } from 'cbor-x';

/** Bundles `source` (an ES module importing from src/) with rolldown, minified: its code and gzipped size. */
async function bundle(source) {
  const dir = await mkdtemp(join(tmpdir(), 'shelfdb-cbor-'));
  try {
    const entry = join(dir, 'entry.mjs');
    await writeFile(entry, source);
    const out = await build({
      input: entry,
      platform: 'browser',
      write: false,
      output: { format: 'es', minify: true },
      logLevel: 'silent',
    });
    const code = out.output[0].code;
    const file = join(dir, 'bundle.mjs');
    await writeFile(file, code);
    return {
      module: await import(pathToFileURL(file).href),
      gzipped: gzipSync(code, { level: 9 }).length,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const src = (file) => JSON.stringify(new URL(`../src/${file}`, import.meta.url).pathname);
const own = await bundle(
  `export { CborEncoder } from ${src('cbor-encode.ts')};\nexport { CborDecoder } from ${src('cbor-decode.ts')};\n`,
);
// cbor-x as a browser bundle takes it (its package's "default" export, not the Node one).
const cborXBrowser = JSON.stringify(
  new URL('../node_modules/cbor-x/index.js', import.meta.url).pathname,
);
const cborX = await bundle(`export { Encoder, addExtension } from ${cborXBrowser};\n`);

const N = process.argv.includes('--quick') ? 1_000 : 100_000;
const ROUNDS = 7;
const record = (i) => ({
  id: i,
  title: 'Todo item number ' + i,
  done: i % 2 === 0,
  priority: i % 5,
  tags: ['work', 'home', 'x' + (i % 10)],
  created: new Date(1_700_000_000_000 + i),
  note: 'Some longer text describing the todo item in a few words.',
});
const objects = Array.from({ length: N }, (_, i) => record(i));

const candidates = {
  'msgpackr 2 (structuredClone)': (() => {
    const p = new Packr({
      structuredClone: true,
      moreTypes: true,
      useRecords: false,
      int64AsType: 'bigint',
    });
    return { encode: (o) => p.pack(o).slice(), decode: (b) => p.unpack(b) };
  })(),
  'cbor-x 1.6 (structuredClone)': (() => {
    const e = new Encoder({ structuredClone: true, useRecords: false, mapsAsObjects: true });
    return { encode: (o) => e.encode(o).slice(), decode: (b) => e.decode(b) };
  })(),
  'shelfdb CBOR (src/cbor-*.ts)': (() => {
    const e = new own.module.CborEncoder(() => undefined);
    const d = new own.module.CborDecoder();
    const noRefs = () => {
      throw new Error('no references in this benchmark');
    };
    return { encode: (o) => e.encode(o), decode: (b) => d.decode(b, noRefs) };
  })(),
};

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
process.stdout.write(
  `| encoder | bytes per record (JSON: ${JSON.stringify(objects[5]).length}) | encode k/s | decode k/s |\n|---|---|---|---|\n`,
);
const results = Object.keys(candidates).map(() => ({ enc: [], dec: [], size: 0 }));
for (let r = 0; r < ROUNDS; r++) {
  Object.values(candidates).forEach((c, i) => {
    let t = performance.now();
    const buffers = objects.map((o) => c.encode(o));
    results[i].enc.push(N / (performance.now() - t));
    t = performance.now();
    for (const b of buffers) c.decode(b);
    results[i].dec.push(N / (performance.now() - t));
    results[i].size = buffers[5].length;
  });
}
Object.keys(candidates).forEach((name, i) => {
  const { enc, dec, size } = results[i];
  process.stdout.write(
    `| ${name} | ${size} | ${median(enc).toFixed(0)} | ${median(dec).toFixed(0)} |\n`,
  );
});
process.stdout.write(
  `\nMinified + gzipped (rolldown, gzip -9): shelfdb CBOR ${(own.gzipped / 1024).toFixed(2)} kB, cbor-x ${(cborX.gzipped / 1024).toFixed(2)} kB.\n`,
);

// Micro-benchmark behind the choice of binary encoder for object state (issue 2).
// Both candidates are configured as shelfdb needs them: cycles and shared references kept
// (structuredClone), no shared record structures, Map distinct from plain objects.
// Run: node bench/serializer.mjs
import { Packr } from 'msgpackr';
import { Encoder } from 'cbor-x';

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
    return { encode: (o) => p.pack(o), decode: (b) => p.unpack(b) };
  })(),
  'cbor-x 1.6 (structuredClone)': (() => {
    const e = new Encoder({ structuredClone: true, useRecords: false, mapsAsObjects: true });
    return { encode: (o) => e.encode(o), decode: (b) => e.decode(b) };
  })(),
};

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
process.stdout.write(
  `| encoder | bytes per record (JSON: ${JSON.stringify(objects[5]).length}) | encode k/s | decode k/s |\n|---|---|---|---|\n`,
);
for (const [name, c] of Object.entries(candidates)) {
  const enc = [];
  const dec = [];
  let size = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let t = performance.now();
    const buffers = objects.map((o) => c.encode(o).slice()); // slice: encoders reuse their buffer
    enc.push(N / (performance.now() - t));
    t = performance.now();
    for (const b of buffers) c.decode(b);
    dec.push(N / (performance.now() - t));
    size = buffers[5].length;
  }
  process.stdout.write(
    `| ${name} | ${size} | ${median(enc).toFixed(0)} | ${median(dec).toFixed(0)} |\n`,
  );
}

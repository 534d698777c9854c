// Micro-benchmark: what change tracking costs on property reads and writes.
// Compares a plain object, a Proxy with get/set traps (shelfdb's choice), and accessor
// properties on the prototype backed by a hidden slot. Run: node bench/tracking-cost.mjs
const N = process.argv.includes('--quick') ? 200_000 : 20_000_000;
const META = Symbol('meta');

class Plain {
  title = 'a';
  done = false;
}

const handler = {
  get(target, key) {
    const m = target[META];
    if (m.ghost && typeof key === 'string') throw new Error('ghost');
    return target[key];
  },
  set(target, key, value) {
    const m = target[META];
    if (m.ghost) throw new Error('ghost');
    if (!m.dirty) m.dirty = true;
    target[key] = value;
    return true;
  },
};
class Proxied {
  constructor() {
    this[META] = { ghost: false, dirty: false };
    return new Proxy(this, handler);
  }
}
class ProxiedFields extends Proxied {
  title = 'a';
  done = false;
}

class Accessors {
  constructor() {
    this._s = { title: 'a', done: false };
    this._m = { ghost: false, dirty: false };
  }
}
for (const f of ['title', 'done']) {
  Object.defineProperty(Accessors.prototype, f, {
    get() {
      if (this._m.ghost) throw new Error('ghost');
      return this._s[f];
    },
    set(v) {
      if (this._m.ghost) throw new Error('ghost');
      this._m.dirty = true;
      this._s[f] = v;
    },
  });
}

function readLoop(objs) {
  let n = 0;
  for (let i = 0; i < N; i++) {
    const o = objs[i & 1023];
    if (o.done) n++;
    n += o.title.length;
  }
  return n;
}
function writeLoop(objs) {
  for (let i = 0; i < N; i++) objs[i & 1023].done = (i & 1) === 0;
}
const kinds = {
  'plain object': () => new Plain(),
  'accessors on prototype': () => new Accessors(),
  'Proxy (shelfdb)': () => new ProxiedFields(),
};
const results = {};
for (let round = 0; round < 3; round++) {
  for (const [name, make] of Object.entries(kinds)) {
    const objs = Array.from({ length: 1024 }, make);
    let t = performance.now();
    readLoop(objs);
    const read = ((performance.now() - t) * 1e6) / (2 * N);
    t = performance.now();
    writeLoop(objs);
    const write = ((performance.now() - t) * 1e6) / N;
    results[name] = { read, write };
  }
}
const base = results['plain object'];
process.stdout.write(
  '| object kind | ns per property read | ns per property write | read vs plain |\n|---|---|---|---|\n',
);
for (const [name, r] of Object.entries(results)) {
  process.stdout.write(
    `| ${name} | ${r.read.toFixed(2)} | ${r.write.toFixed(2)} | ${(r.read / base.read).toFixed(1)}× |\n`,
  );
}

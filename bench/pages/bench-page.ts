/**
 * The benchmark page: every case, run by bench/run.mjs through `window.bench.run(name, n, run)`.
 * shelfdb, IndexedDB (idb) and Dexie run here in the page; SQLite-WASM and the raw OPFS limit run
 * in peer-worker.ts, and their batched reads are timed here, until the objects are usable in the
 * page, like shelfdb's.
 */
import { releaseProxy, wrap } from 'comlink';
import { openDB } from 'idb';
import Dexie from 'dexie';
import { BTree, openDatabase } from 'shelfdb';
import { fields, randomKeys } from './records.js';
import { dexieSmall, idbSmall } from './peer-small.js';
import { BATCH, heap, shelfBulk, shelfReads, shelfSmall, type Rec } from './shelf.js';
import { packCases } from './pack-case.js';
import { TabSync, type Tab } from './tab-sync.js';
import { writeCases, type Case, type Result } from './write-cases.js';

// ─── the peer worker ───────────────────────────────────────────────────────

const worker = new Worker(new URL('./peer-worker.ts', import.meta.url), { type: 'module' });
let nextId = 1;
const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
worker.onmessage = (event: MessageEvent<{ id: number; result?: unknown; error?: string }>) => {
  const w = waiting.get(event.data.id);
  waiting.delete(event.data.id);
  if (event.data.error !== undefined) w?.reject(new Error(event.data.error));
  else w?.resolve(event.data.result);
};
function ask<T>(op: string, n = 0, keys?: number[]): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker.postMessage({ id, op, n, keys });
  });
}

const cases: Record<string, Case> = {
  ...writeCases(ask),
  ...packCases(ask),

  // Round trips to a worker, 1000 each, in µs per call: bare postMessage to the Worker, and over a
  // MessagePort; Comlink over such a port (what Comlink itself adds); and a shelfdb storage call
  // (sync, answered from memory) through its link and router.
  async floor(_n, run) {
    const ROUNDS = 1000;
    const time = async (call: () => Promise<unknown>): Promise<number> => {
      for (let i = 0; i < 50; i++) await call(); // warm-up
      const t0 = performance.now();
      for (let i = 0; i < ROUNDS; i++) await call();
      return ((performance.now() - t0) * 1000) / ROUNDS;
    };
    const { port1, port2 } = new MessageChannel();
    worker.postMessage({ id: 0, op: 'comlink', port: port2 }, [port2]);
    const comlink = wrap<{ echo(): number }>(port1);
    const bare = new MessageChannel();
    worker.postMessage({ id: 0, op: 'port', port: bare.port2 }, [bare.port2]);
    let portId = 0;
    const portEcho = (): Promise<unknown> =>
      new Promise((resolve) => {
        const id = ++portId;
        bare.port1.onmessage = (e: MessageEvent<{ id: number }>) => {
          if (e.data.id === id) resolve(e.data);
        };
        bare.port1.postMessage({ id });
      });
    const db = await openDatabase(`floor-${run}`, { storage: 'opfs' });
    const result = {
      roundTripUs: await time(() => ask('echo')),
      portUs: await time(portEcho),
      comlinkUs: await time(() => comlink.echo()),
      shelfdbCallUs: await time(() => db.storage.sync(Number.MAX_SAFE_INTEGER)),
    };
    comlink[releaseProxy]();
    bare.port1.close();
    await db.close();
    return result;
  },

  async 'shelfdb.bulk'(n, run) {
    const { ms, db } = await shelfBulk(`bulk-${run}`, n);
    await db.close();
    return { ms };
  },

  async 'shelfdb.small'(n, run) {
    return { ms: await shelfSmall(`small-${run}`, n, { storage: 'opfs' }) };
  },

  async 'shelfdb.reads'(n, run) {
    const { db } = await shelfBulk(`reads-${run}`, n);
    await db.close();
    const cold = await openDatabase(`reads-${run}`, { storage: 'opfs' });
    const ms = await shelfReads(cold, randomKeys(n, n));
    await cold.close();
    return { ms };
  },

  /** Builds the database `shelfdb.open` opens; the runner reloads the page in between. */
  async 'shelfdb.openSetup'(n, run) {
    const { db } = await shelfBulk(`open-${n}-${run}`, n);
    await db.close(); // writes the index checkpoint
    return { ms: 0 };
  },

  async 'shelfdb.open'(n, run) {
    const t0 = performance.now();
    const again = await openDatabase(`open-${n}-${run}`, { storage: 'opfs' });
    const conn = again.open();
    const tree = (await conn.root()).get('recs') as BTree<number, Rec>;
    const first = await tree.get(Math.max(1, n >> 1));
    const ms = performance.now() - t0;
    if (first?.id !== Math.max(1, n >> 1)) throw new Error('open read the wrong record');
    await again.close();
    return { ms };
  },

  async 'shelfdb.btree'(n, run) {
    const db = await openDatabase(`btree-${run}`, { storage: 'opfs' });
    const conn = db.open();
    const tree = new BTree<number, { v: number }>();
    (await conn.root()).set('tree', tree);
    await conn.commit();
    const keys = randomKeys(n, n * 10);
    let t0 = performance.now();
    for (let i = 0; i < n; i++) {
      await tree.set(keys[i] as number, { v: i });
      if (i % 1000 === 999) await conn.commit();
    }
    await conn.commit();
    const insertMs = performance.now() - t0;
    const cold = db.open();
    const coldTree = await cold.load(
      (await cold.root()).get('tree') as BTree<number, { v: number }>,
    );
    const gets = Math.min(10_000, n);
    const lookups = randomKeys(gets, n, 99).map((i) => keys[i - 1] as number);
    t0 = performance.now();
    for (const k of lookups) await coldTree.get(k);
    const getMs = performance.now() - t0;
    const scanned = Math.min(10_000, n);
    const scanConn = db.open();
    const scanTree = await scanConn.load(
      (await scanConn.root()).get('tree') as BTree<number, { v: number }>,
    );
    t0 = performance.now();
    let count = 0;
    for await (const entry of scanTree.entries()) {
      if (entry[1].v < 0 || ++count >= scanned) break;
    }
    const scanMs = performance.now() - t0;
    await db.close();
    return { insertMs, getMs, gets, scanMs, scanned };
  },

  async 'shelfdb.memory'(n, run) {
    const { db } = await shelfBulk(`memory-${run}`, n);
    await db.close();
    const base = heap();
    const few = await openDatabase(`memory-${run}`, { storage: 'opfs', cacheSize: 10_000 });
    await shelfReads(few, randomKeys(Math.min(10_000, n), n));
    const afterFew = heap();
    await few.close();
    const many = await openDatabase(`memory-${run}`, { storage: 'opfs', cacheSize: 10_000 });
    await shelfReads(many, randomKeys(n, n, 777));
    const afterMany = heap();
    await many.close();
    return {
      baseMB: base / 2 ** 20,
      afterFewMB: afterFew / 2 ** 20,
      afterManyMB: afterMany / 2 ** 20,
    };
  },

  // ─── IndexedDB through idb ──────────────────────────────────────────────

  async 'idb.bulk'(n, run) {
    const db = await openDB(`idb-bulk-${run}`, 1, {
      upgrade: (d) => void d.createObjectStore('t'),
    });
    const t0 = performance.now();
    const tx = db.transaction('t', 'readwrite', { durability: 'strict' });
    for (let i = 1; i <= n; i++) void tx.store.put(fields(i), i);
    await tx.done;
    const ms = performance.now() - t0;
    db.close();
    return { ms };
  },

  async 'idb.small'(n, run) {
    return { ms: await idbSmall(`idb-small-${run}`, n, 'strict') };
  },

  async 'idb.reads'(n, run) {
    const name = `idb-reads-${run}`;
    const setup = await openDB(name, 1, { upgrade: (d) => void d.createObjectStore('t') });
    const tx = setup.transaction('t', 'readwrite');
    for (let i = 1; i <= n; i++) void tx.store.put(fields(i), i);
    await tx.done;
    setup.close();
    const db = await openDB(name, 1);
    const keys = randomKeys(n, n);
    let sum = 0;
    const t0 = performance.now();
    for (let i = 0; i < keys.length; i += BATCH) {
      const rtx = db.transaction('t');
      const got = await Promise.all(keys.slice(i, i + BATCH).map((k) => rtx.store.get(k)));
      for (const r of got) sum += (r as { priority: number }).priority;
    }
    const ms = performance.now() - t0;
    db.close();
    return { ms, sum };
  },

  // ─── Dexie ──────────────────────────────────────────────────────────────

  async 'dexie.bulk'(n, run) {
    const db = new Dexie(`dexie-bulk-${run}`, { chromeTransactionDurability: 'strict' });
    db.version(1).stores({ t: 'id' });
    const rows = Array.from({ length: n }, (_, i) => fields(i + 1));
    const t0 = performance.now();
    await db.table('t').bulkPut(rows);
    const ms = performance.now() - t0;
    db.close();
    return { ms };
  },

  async 'dexie.small'(n, run) {
    return { ms: await dexieSmall(`dexie-small-${run}`, n, 'strict') };
  },

  async 'dexie.reads'(n, run) {
    const name = `dexie-reads-${run}`;
    const setup = new Dexie(name);
    setup.version(1).stores({ t: 'id' });
    await setup.table('t').bulkPut(Array.from({ length: n }, (_, i) => fields(i + 1)));
    setup.close();
    const db = new Dexie(name);
    db.version(1).stores({ t: 'id' });
    await db.open();
    const keys = randomKeys(n, n);
    let sum = 0;
    const t0 = performance.now();
    for (let i = 0; i < keys.length; i += BATCH) {
      for (const r of await db.table('t').bulkGet(keys.slice(i, i + BATCH)))
        sum += (r as { priority: number }).priority;
    }
    const ms = performance.now() - t0;
    db.close();
    return { ms, sum };
  },

  // ─── SQLite-WASM (opfs-sahpool) and the raw OPFS limit, in the worker ───

  async 'sqlite.bulk'(n) {
    return { ms: await ask<number>('sqlite.bulk', n) };
  },
  async 'sqlite.small'(n) {
    await ask('sqlite.bulk', 10);
    return { ms: await ask<number>('sqlite.small', n) };
  },
  async 'sqlite.reads'(n) {
    await ask('sqlite.bulk', n);
    return {
      ms: await batchedReads('sqlite.batch', n),
      inWorkerMs: await ask<number>('sqlite.readsInWorker', n),
    };
  },
  async 'raw.bulk'(n) {
    return { ms: await ask<number>('raw.bulk', n) };
  },
  async 'raw.small'(n) {
    await ask('raw.bulk', 10);
    return { ms: await ask<number>('raw.small', n) };
  },
  async 'raw.reads'(n) {
    await ask('raw.bulk', n);
    return {
      ms: await batchedReads('raw.batch', n),
      inWorkerMs: await ask<number>('raw.readsInWorker', n),
    };
  },
};

/** Batches of 100 keys to the worker; the page parses the JSON it gets back. */
async function batchedReads(op: string, n: number): Promise<number> {
  const keys = randomKeys(n, n);
  let sum = 0;
  const t0 = performance.now();
  for (let i = 0; i < keys.length; i += BATCH) {
    for (const text of await ask<string[]>(op, 0, keys.slice(i, i + BATCH)))
      sum += (JSON.parse(text) as { priority: number }).priority;
  }
  if (sum < 0) throw new Error('unreachable');
  return performance.now() - t0;
}

const tabs = new TabSync();
(window as unknown as { bench: unknown }).bench = {
  cases: Object.keys(cases),
  /** Runs a case; `tab` when the runner runs it in several pages at once (tab-sync.ts). */
  async run(name: string, n: number, run: number, tab = { index: 0, count: 1 }): Promise<Result> {
    const context: Tab = tabs.start(run, tab.index, tab.count);
    try {
      return await (cases[name] as Case)(n, run, context);
    } finally {
      tabs.end(run);
    }
  },
  reached: (run: number, point: number) => tabs.reached(run, point),
  release: (run: number, point: number) => tabs.release(run, point),
};
document.body.dataset.ready = 'yes';

/**
 * The benchmark's worker: the platform limit (a raw OPFS sync access handle) and SQLite-WASM with
 * the opfs-sahpool VFS, both of which only run in a worker. Answers {id, op, n} with {id, result}.
 */
import { expose } from 'comlink';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { fields, importChunk, randomKeys } from './records.js';

type Handle = {
  read(b: Uint8Array, o: { at: number }): number;
  write(b: Uint8Array, o: { at: number }): number;
  flush(): void;
  truncate(n: number): void;
  getSize(): number;
  close(): void;
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let raw: { handle: Handle; offsets: Float64Array; lengths: Uint32Array } | undefined;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let sqlite: { db: any; pool: any } | undefined;

async function rawHandle(): Promise<Handle> {
  const root = await navigator.storage.getDirectory();
  const file = await root.getFileHandle('raw-bench.bin', { create: true });
  return await (
    file as unknown as { createSyncAccessHandle(): Promise<Handle> }
  ).createSyncAccessHandle();
}

async function openSqlite(): Promise<void> {
  const sqlite3 = await sqlite3InitModule();
  const pool = await sqlite3.installOpfsSAHPoolVfs({ name: 'bench-pool', clearOnInit: false });
  const db = new pool.OpfsSAHPoolDb('/bench.sqlite3');
  db.exec('PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;');
  db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, data TEXT NOT NULL)');
  sqlite = { db, pool };
}

const ops: Record<string, (n: number) => Promise<unknown>> = {
  async echo() {
    return 0;
  },

  async 'raw.bulk'(n) {
    const handle = raw?.handle ?? (await rawHandle());
    handle.truncate(0);
    const t0 = performance.now();
    const parts = Array.from({ length: n }, (_, i) =>
      encoder.encode(JSON.stringify(fields(i + 1))),
    );
    const offsets = new Float64Array(n + 1);
    const lengths = new Uint32Array(n + 1);
    let size = 0;
    parts.forEach((p, i) => {
      offsets[i + 1] = size;
      lengths[i + 1] = p.byteLength;
      size += p.byteLength;
    });
    const buffer = new Uint8Array(size);
    parts.forEach((p, i) => buffer.set(p, offsets[i + 1] as number));
    handle.write(buffer, { at: 0 });
    handle.flush();
    const ms = performance.now() - t0;
    raw = { handle, offsets, lengths };
    return ms;
  },

  async 'raw.small'(n) {
    const handle = raw?.handle ?? (await rawHandle());
    const record = encoder.encode(JSON.stringify(fields(1)));
    const end = handle.getSize();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      handle.write(record, { at: end + i * record.byteLength });
      handle.flush();
    }
    return performance.now() - t0;
  },

  /** Relaxed durability's limit: the same writes as 'raw.small', none flushed. */
  async 'raw.smallRelaxed'(n) {
    const handle = raw?.handle ?? (await rawHandle());
    const record = encoder.encode(JSON.stringify(fields(1)));
    const end = handle.getSize();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) handle.write(record, { at: end + i * record.byteLength });
    return performance.now() - t0;
  },

  /** Reads `n` random records by offset inside the worker: the platform's read rate. */
  async 'raw.readsInWorker'(n) {
    const { handle, offsets, lengths } = raw as NonNullable<typeof raw>;
    const keys = randomKeys(n, offsets.length - 1);
    const t0 = performance.now();
    for (const k of keys) {
      const b = new Uint8Array(lengths[k] as number);
      handle.read(b, { at: offsets[k] as number });
      JSON.parse(decoder.decode(b));
    }
    return performance.now() - t0;
  },

  async 'sqlite.bulk'(n) {
    if (sqlite === undefined) await openSqlite();
    const { db } = sqlite as NonNullable<typeof sqlite>;
    db.exec('DELETE FROM t');
    const t0 = performance.now();
    db.exec('BEGIN');
    const stmt = db.prepare('INSERT INTO t (id, data) VALUES (?, ?)');
    for (let i = 1; i <= n; i++) {
      stmt.bind([i, JSON.stringify(fields(i))]).stepReset();
    }
    stmt.finalize();
    db.exec('COMMIT');
    return performance.now() - t0;
  },

  /** The chunked import: `n` rows, one transaction per chunk of `importChunk(n)` rows. */
  async 'sqlite.import'(n) {
    if (sqlite === undefined) await openSqlite();
    const { db } = sqlite as NonNullable<typeof sqlite>;
    db.exec('DELETE FROM t');
    const chunk = importChunk(n);
    const t0 = performance.now();
    const stmt = db.prepare('INSERT INTO t (id, data) VALUES (?, ?)');
    for (let start = 1; start <= n; start += chunk) {
      db.exec('BEGIN');
      for (let i = start; i < Math.min(n + 1, start + chunk); i++) {
        stmt.bind([i, JSON.stringify(fields(i))]).stepReset();
      }
      db.exec('COMMIT');
    }
    stmt.finalize();
    return performance.now() - t0;
  },

  /**
   * The pack case's peer: `n` rows in chunks of `importChunk(n)`, every other row deleted, then
   * VACUUM (timed alone); the database's bytes (page_count × page_size) before and after it.
   */
  async 'sqlite.vacuum'(n) {
    if (sqlite === undefined) await openSqlite();
    const { db } = sqlite as NonNullable<typeof sqlite>;
    db.exec('DELETE FROM t');
    const chunk = importChunk(n);
    const stmt = db.prepare('INSERT INTO t (id, data) VALUES (?, ?)');
    for (let start = 1; start <= n; start += chunk) {
      db.exec('BEGIN');
      for (let i = start; i < Math.min(n + 1, start + chunk); i++) {
        stmt.bind([i, JSON.stringify(fields(i))]).stepReset();
      }
      db.exec('COMMIT');
    }
    stmt.finalize();
    db.exec('DELETE FROM t WHERE id % 2 = 1');
    const bytes = (): number =>
      (db.selectValue('PRAGMA page_count') as number) *
      (db.selectValue('PRAGMA page_size') as number);
    const bytesBefore = bytes();
    const t0 = performance.now();
    db.exec('VACUUM');
    const ms = performance.now() - t0;
    return {
      ms,
      bytesBefore,
      bytesAfter: bytes(),
      rows: db.selectValue('SELECT count(*) FROM t') as number,
    };
  },

  async 'sqlite.small'(n) {
    const { db } = sqlite as NonNullable<typeof sqlite>;
    const t0 = performance.now();
    const stmt = db.prepare('UPDATE t SET data = ? WHERE id = 1');
    for (let i = 0; i < n; i++)
      stmt.bind([JSON.stringify({ ...fields(1), priority: i })]).stepReset();
    stmt.finalize();
    return performance.now() - t0;
  },

  /** Point reads inside the worker, one prepared SELECT per key: SQLite's own read rate. */
  async 'sqlite.readsInWorker'(n) {
    const { db } = sqlite as NonNullable<typeof sqlite>;
    const count = db.selectValue('SELECT count(*) FROM t') as number;
    const keys = randomKeys(n, count);
    const stmt = db.prepare('SELECT data FROM t WHERE id = ?');
    const t0 = performance.now();
    for (const k of keys) {
      stmt.bind([k]);
      stmt.step();
      JSON.parse(stmt.getString(0));
      stmt.reset();
    }
    stmt.finalize();
    return performance.now() - t0;
  },
};

/** Batched reads for the page: 100 keys → their JSON texts (the page parses them). */
const batchOps: Record<string, (keys: number[]) => string[]> = {
  'raw.batch'(keys) {
    const { handle, offsets, lengths } = raw as NonNullable<typeof raw>;
    return keys.map((k) => {
      const b = new Uint8Array(lengths[k] as number);
      handle.read(b, { at: offsets[k] as number });
      return decoder.decode(b);
    });
  },
  'sqlite.batch'(keys) {
    const { db } = sqlite as NonNullable<typeof sqlite>;
    const rows = db.selectValues(`SELECT data FROM t WHERE id IN (${keys.join(',')})`) as string[];
    return rows;
  },
};

self.onmessage = async (
  event: MessageEvent<{ id: number; op: string; n?: number; keys?: number[]; port?: MessagePort }>,
) => {
  const { id, op, n = 0, keys, port } = event.data;
  if (op === 'comlink' && port !== undefined) {
    // The same echo as `ops.echo`, served over Comlink: what the link costs per call.
    expose({ echo: () => 0 }, port);
    return;
  }
  if (op === 'port' && port !== undefined) {
    // The same echo over a bare MessagePort: Comlink's channel without Comlink.
    port.onmessage = (e: MessageEvent<{ id: number }>) =>
      port.postMessage({ id: e.data.id, result: 0 });
    return;
  }
  try {
    const batch = batchOps[op];
    const result =
      batch !== undefined
        ? batch(keys ?? [])
        : await (ops[op] as (n: number) => Promise<unknown>)(n);
    postMessage({ id, result });
  } catch (error) {
    postMessage({ id, error: String((error as Error)?.stack ?? error) });
  }
};

/**
 * The pack case (issue 13): an OPFS database of `n` records (records.ts `fields`), committed in
 * chunks (`importChunk(n)`), every other one in a BTree that is then unlinked from the root: half
 * of the objects unreachable, spread over every segment. Two such databases are built: one is
 * packed with nothing else running (the pack's time and bytes); on the other, a second connection
 * of the page makes small durable commits (one object changed per commit, back to back) without a
 * pack, then for as long as a pack runs: their latencies. The peer is SQLite-WASM (opfs-sahpool, in
 * the peer worker): the same rows in chunks, every other one deleted, then VACUUM.
 */
import { BTree, openDatabase, type Database, type PackEvent } from 'shelfdb';
import { importChunk } from './records.js';
import { rec, type Rec } from './shelf.js';
import type { Ask, Result } from './write-cases.js';

/** What the peer worker's 'sqlite.vacuum' answers. */
export interface VacuumResult {
  ms: number;
  bytesBefore: number;
  bytesAfter: number;
  rows: number;
}

/**
 * Builds database `name`: root 'keep' and 'drop' BTrees holding records 1..n alternately, root
 * 'hot' (the record the small commits change), one commit per chunk; then 'drop' is unlinked.
 * Answers the database reopened: the pack runs as in a later session. (In the same session, the
 * storage's pin of this page's snapshot rises at most once a second (src/snapshot-pins.ts), so a
 * pack right after the unlink would keep the unlinked half for the builder's older snapshot.)
 */
async function build(name: string, n: number): Promise<Database> {
  const db = await openDatabase(name, { storage: 'opfs' });
  const conn = db.open();
  const root = await conn.root();
  const keep = new BTree<number, Rec>();
  const drop = new BTree<number, Rec>();
  root.set('keep', keep);
  root.set('drop', drop);
  root.set('hot', rec(0));
  await conn.commit();
  const chunk = importChunk(n);
  for (let start = 1; start <= n; start += chunk) {
    for (let i = start; i < Math.min(n + 1, start + chunk); i++)
      await (i % 2 === 0 ? keep : drop).set(i, rec(i));
    await conn.commit();
  }
  (await conn.root()).delete('drop'); // the root may have been evicted from the cache meanwhile
  await conn.commit({ note: 'half of the records unlinked' });
  await db.close();
  return await openDatabase(name, { storage: 'opfs' });
}

/** The q-quantile of `xs` (nearest rank). */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

/** A commit's start and latency, in ms. */
interface Timed {
  at: number;
  ms: number;
}

/** Small commits of `hot` through `conn` while `more(i)` (at least one), timed. */
async function smallCommits(
  conn: ReturnType<Database['open']>,
  hot: Rec,
  more: (i: number) => boolean,
): Promise<Timed[]> {
  const timed: Timed[] = [];
  let i = 0;
  do {
    hot.priority = i;
    const at = performance.now();
    await conn.commit();
    timed.push({ at, ms: performance.now() - at });
  } while (more(++i));
  return timed;
}

/** The phases of 'pack' events as numbers (a case answers numbers only). */
const PHASE = { mark: 1, copy: 2, done: 3 } as const;

/** A 'pack' event as the page heard it. */
interface Heard {
  at: number;
  phase: number;
  progress: number;
}

/**
 * Where the pack was when the longest commit during it started (the last event heard before it:
 * phase 1 mark, 2 copy, 3 done; progress done/total), and the longest silence between two
 * events (how long the storage went without reporting), with the phase that ended it.
 */
function whereSlow(during: Timed[], heard: Heard[]): Result {
  const longest = during.reduce((a, b) => (b.ms > a.ms ? b : a));
  const before = heard.filter((h) => h.at <= longest.at).at(-1);
  let gap = 0;
  let gapPhase = 0;
  let gapProgress = 0;
  for (let i = 1; i < heard.length; i++) {
    const h = heard[i] as Heard;
    const d = h.at - (heard[i - 1] as Heard).at;
    if (d > gap) [gap, gapPhase, gapProgress] = [d, h.phase, h.progress];
  }
  return {
    longestCommitPhase: before?.phase ?? 0,
    longestCommitProgress: before?.progress ?? 0,
    longestEventGapMs: gap,
    longestEventGapPhase: gapPhase,
    longestEventGapProgress: gapProgress,
  };
}

/** The pack case and its SQLite-WASM peer; bench-page.ts merges them into its cases. */
export function packCases(ask: Ask): Record<string, (n: number, run: number) => Promise<Result>> {
  return {
    async 'shelfdb.pack'(n, run) {
      // A quiet pack: its time and bytes.
      const quiet = await build(`pack-quiet-${run}`, n);
      const before = await quiet.storage.stats();
      let events = 0;
      quiet.addEventListener('pack', () => events++);
      let t0 = performance.now();
      const result = await quiet.pack();
      const packMs = performance.now() - t0;
      const after = await quiet.storage.stats();
      await quiet.close();

      // Small commits from a second connection, without a pack, then during one.
      const busy = await build(`pack-busy-${run}`, n);
      const reader = busy.open(); // the first connection: reads, as an app's other views would
      await ((await reader.root()).get('keep') as BTree<number, Rec>).get(2);
      const writer = busy.open();
      const hot = await writer.load((await writer.root()).get('hot') as Rec);
      const count = Math.min(500, Math.max(10, Math.round(n / 200)));
      const without = (await smallCommits(writer, hot, (i) => i < count)).map((c) => c.ms);
      const heard: Heard[] = [];
      busy.addEventListener('pack', (e) => {
        const { phase, done, total } = e as PackEvent;
        heard.push({ at: performance.now(), phase: PHASE[phase], progress: done / total });
      });
      let packing = true;
      t0 = performance.now();
      const pack = busy.pack().finally(() => {
        packing = false;
      });
      const timed = await smallCommits(writer, hot, () => packing);
      const during = timed.map((c) => c.ms);
      await pack;
      const busyPackMs = performance.now() - t0;
      await busy.close();

      const vacuum = await ask<VacuumResult>('sqlite.vacuum', n);
      return {
        ms: packMs,
        packMs,
        busyPackMs,
        events,
        bytesBefore: before.bytes,
        bytesAfter: after.bytes,
        garbageBytesBefore: before.garbageBytes,
        objectsBefore: before.objects,
        objectsRemoved: result.objectsRemoved,
        commitsWithout: without.length,
        withoutP50: quantile(without, 0.5),
        withoutP99: quantile(without, 0.99),
        commitsDuring: during.length,
        duringP50: quantile(during, 0.5),
        duringP99: quantile(during, 0.99),
        duringMax: Math.max(...during),
        vacuumMs: vacuum.ms,
        sqliteBytesBefore: vacuum.bytesBefore,
        sqliteBytesAfter: vacuum.bytesAfter,
        sqliteRows: vacuum.rows,
        ...whereSlow(timed, heard),
      };
    },
  };
}

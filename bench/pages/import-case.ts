/**
 * The chunked import (issue 12): `n` records into a BTree, one commit per chunk of
 * `importChunk(n)` (10,000 from N = 100,000 up), through a database with a bounded cache, while
 * watching the page's main thread for blocking and sampling the JS heap.
 */
import { BTree, openDatabase } from 'shelfdb';
import { importChunk } from './records.js';
import { heap, rec, type Rec } from './shelf.js';

/** Long tasks of `PerformanceObserver` that could be measured, as a time interval. */
interface Span {
  start: number;
  end: number;
}

/** The longest task only counts from this duration (what the Long Tasks API reports, ≥ 50 ms). */
const LONG_TASK_MS = 50;

/**
 * Watches the main thread while it runs: long tasks from PerformanceObserver ('longtask', buffered)
 * and, independently, the longest gap between ticks of a chained zero-delay timer (the gap is how
 * long the thread could not run a task). Windows passed to `exclude` (the forced gc of a heap
 * sample) are left out of both.
 */
class BlockingWatch {
  /** Whether this browser reports long tasks at all; without, only the gap measures blocking. */
  readonly longTasksSupported = PerformanceObserver.supportedEntryTypes.includes('longtask');
  private readonly tasks: Span[] = [];
  private readonly excluded: Span[] = [];
  private readonly observer: PerformanceObserver | undefined;
  private readonly startedAt = performance.now();
  private lastTick = performance.now();
  private longestGap = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private paused = false;

  constructor() {
    if (this.longTasksSupported) {
      this.observer = new PerformanceObserver((list) => this.take(list.getEntries()));
      this.observer.observe({ type: 'longtask', buffered: true });
    }
    this.tick();
  }

  /** Runs `measure` in a task of its own, left out of the long tasks and gaps. */
  async excluding<T>(measure: () => T): Promise<{ value: T; ms: number }> {
    await nextTask();
    this.paused = true;
    const start = performance.now();
    const value = measure();
    const end = performance.now();
    this.excluded.push({ start, end });
    await nextTask();
    this.paused = false;
    this.lastTick = performance.now();
    return { value, ms: end - start };
  }

  /** Stops watching; long tasks still queued in the observer are taken first. */
  async stop(): Promise<{ longTasks: number; longestTaskMs: number; longestGapMs: number }> {
    await nextTask(); // the last task's entry is queued once it ended
    await nextTask();
    if (this.observer !== undefined) {
      this.take(this.observer.takeRecords());
      this.observer.disconnect();
    }
    clearTimeout(this.timer);
    const counted = this.tasks.filter(
      (t) =>
        t.start >= this.startedAt &&
        t.end - t.start >= LONG_TASK_MS &&
        !this.excluded.some((x) => t.start <= x.end && x.start <= t.end),
    );
    return {
      longTasks: counted.length,
      longestTaskMs: Math.max(0, ...counted.map((t) => t.end - t.start)),
      longestGapMs: this.longestGap,
    };
  }

  private take(entries: PerformanceEntryList): void {
    for (const e of entries) this.tasks.push({ start: e.startTime, end: e.startTime + e.duration });
  }

  private tick(): void {
    const now = performance.now();
    if (!this.paused) this.longestGap = Math.max(this.longestGap, now - this.lastTick);
    this.lastTick = now;
    this.timer = setTimeout(() => this.tick(), 0);
  }
}

const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Imports `n` records in chunks, one commit each (`await tree.set(i, rec)` per record, as an app
 * would write it), with cacheSize 10,000 and cacheBytes 16 MiB. `ms` excludes the heap samples
 * (a forced gc each): after the first chunk, the third, the middle one and the last.
 */
export async function shelfImport(name: string, n: number): Promise<Record<string, number>> {
  const chunk = importChunk(n);
  const chunks = Math.ceil(n / chunk);
  const db = await openDatabase(name, {
    storage: 'opfs',
    cacheSize: 10_000,
    cacheBytes: 16 << 20,
  });
  const conn = db.open();
  const tree = new BTree<number, Rec>();
  (await conn.root()).set('recs', tree);
  await conn.commit();
  const watch = new BlockingWatch();
  // Heap samples after these chunks (0-based): the first, the third ("the first few": the cache
  // filled), the middle one, the last; one sample serves the labels that fall on the same chunk.
  const samplesAt = { firstMB: 0, fewMB: 2, middleMB: chunks >> 1, endMB: chunks - 1 };
  const heaps: Record<string, number> = { firstMB: NaN, fewMB: NaN, middleMB: NaN, endMB: NaN };
  let sampleMs = 0;
  let longestInsertMs = 0;
  let longestCommitMs = 0;
  const t0 = performance.now();
  for (let c = 0; c < chunks; c++) {
    const tInsert = performance.now();
    for (let i = c * chunk + 1; i <= Math.min(n, (c + 1) * chunk); i++) await tree.set(i, rec(i));
    const tCommit = performance.now();
    await conn.commit();
    longestInsertMs = Math.max(longestInsertMs, tCommit - tInsert);
    longestCommitMs = Math.max(longestCommitMs, performance.now() - tCommit);
    const labels = Object.entries(samplesAt).filter(([, at]) => at === c);
    if (labels.length > 0) {
      const sample = await watch.excluding(heap);
      for (const [label] of labels) heaps[label] = sample.value / 2 ** 20;
      sampleMs += sample.ms;
    }
  }
  const ms = performance.now() - t0 - sampleMs;
  const blocking = await watch.stop();
  const last = await tree.get(n);
  if (last?.id !== n) throw new Error(`the import did not store record ${n}`);
  await db.close();
  return {
    ms,
    chunk,
    ...blocking,
    longTasksSupported: watch.longTasksSupported ? 1 : 0,
    longestInsertMs,
    longestCommitMs,
    ...heaps,
  };
}

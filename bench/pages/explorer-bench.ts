/**
 * The explorer benchmark's page (bench/explorer.mjs). `?build=N` builds the OPFS database
 * 'explorer-bench': N benchmark records (records.ts `fields`) in the root's BTree 'records', keyed
 * 1..N, committed in chunks; a PersistentList 'recent' of the last 5,000 and a PersistentDict
 * 'byTitle' of 2,000. Without `build`, it opens that database with no app class registered (its
 * records show as stored: the explorer's generic view) and shows it in `<shelf-explorer>`, while a
 * PerformanceObserver collects the page's long tasks from its start (`window.bench.longTasks`).
 */
import { BTree, openDatabase, PersistentDict, PersistentList } from 'shelfdb';
import 'shelfdb/explorer';

interface Span {
  start: number;
  ms: number;
}

declare global {
  interface Window {
    bench: { longTasks: Span[]; built?: { n: number; ms: number } };
  }
}

const NAME = 'explorer-bench';
const params = new URLSearchParams(location.search);
window.bench = { longTasks: [] };
if (PerformanceObserver.supportedEntryTypes.includes('longtask')) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      window.bench.longTasks.push({ start: e.startTime, ms: e.duration });
  }).observe({ type: 'longtask', buffered: true });
}

async function build(n: number): Promise<void> {
  const { Rec, rec } = await import('./shelf.js');
  const { importChunk } = await import('./records.js');
  const started = performance.now();
  const db = await openDatabase(NAME, { storage: 'opfs', classes: [Rec] });
  const conn = db.open();
  const root = await conn.root();
  const records = new BTree<number, InstanceType<typeof Rec>>();
  const recent = new PersistentList<InstanceType<typeof Rec>>();
  const byTitle = new PersistentDict<string, InstanceType<typeof Rec>>();
  root.set('records', records);
  root.set('recent', recent);
  root.set('byTitle', byTitle);
  await conn.commit({ note: 'the containers' });
  // Kept loaded while the chunks go in (the cache evicts what it may).
  conn.hold(recent);
  conn.hold(byTitle);
  const chunk = importChunk(n);
  for (let start = 1; start <= n; start += chunk) {
    for (let i = start; i < Math.min(n + 1, start + chunk); i++) {
      const r = rec(i);
      await records.set(i, r);
      if (i > n - 5_000) recent.push(r);
      if (i > n - 2_000) byTitle.set(r.title, r);
    }
    await conn.commit({ note: `records from ${start}` });
  }
  await db.close();
  window.bench.built = { n, ms: performance.now() - started };
}

async function main(): Promise<void> {
  const n = Number(params.get('build') ?? 0);
  if (n > 0) {
    await build(n);
  } else {
    const explorer = document.querySelector(
      'shelf-explorer',
    ) as HTMLElementTagNameMap['shelf-explorer'];
    explorer.storage = 'opfs';
    explorer.name = NAME;
  }
  document.body.dataset.ready = 'yes';
}

main().catch((error: unknown) => {
  document.body.dataset.ready = 'failed';
  document.body.append(`explorer benchmark page failed: ${String(error)}`);
});

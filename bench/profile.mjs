// CPU profiles of one benchmark case on both sides, the page and its workers (Chrome DevTools
// Protocol through Playwright), printed as the functions with the most self time per thread.
//
//   node bench/profile.mjs --case=shelfdb.bulk --n=100000 [--top=20] [--json=out.json]
//
// The case runs once after a warm-up (n ≤ 1000) in a fresh on-disk profile, like bench/browser.mjs.
// A worker's profile must be read before it ends, so `Worker.prototype.terminate` is deferred in the
// page until the profiles are in (the storage worker is told to close first, as always: only the
// termination of the idle thread waits).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { CHROMIUM_ARGS, chromiumPath } from '../scripts/chromium.mjs';
import { startServer } from './bench-server.mjs';

const arg = (name, fallback) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const caseName = arg('case', 'shelfdb.bulk');
const n = Number(arg('n', '10000'));
const top = Number(arg('top', '20'));
const jsonOut = arg('json', undefined);
const PORT = 5176;

/** Self time per function (name, file, line), in ms, from a CDP Profiler.Profile. */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const name = (id) => {
    const { functionName, url, lineNumber } = byId.get(id).callFrame;
    const file = url.replace(/^.*\/\/[^/]+\//, '').replace(/\?.*$/, '');
    return `${functionName || '(anonymous)'}${file ? ` ${file}:${lineNumber + 1}` : ''}`;
  };
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    // A native function is named with its caller, which says what it was doing.
    const own = name(id);
    const p = parent.get(id);
    const key = byId.get(id).callFrame.url === '' && p !== undefined ? `${own} ← ${name(p)}` : own;
    self.set(key, (self.get(key) ?? 0) + ms);
    if (byId.get(id).callFrame.functionName !== '(idle)') total += ms;
  });
  return { total, rows: [...self].sort((a, b) => b[1] - a[1]) };
}

function print(title, profile) {
  const { total, rows } = selfTimes(profile);
  console.log(`\n#### ${title}: ${total.toFixed(0)} ms busy (idle excluded)\n`);
  console.log('| self ms | % busy | function |');
  console.log('|---|---|---|');
  for (const [key, ms] of rows.filter(([k]) => !k.startsWith('(idle)')).slice(0, top)) {
    console.log(`| ${ms.toFixed(1)} | ${((100 * ms) / total).toFixed(1)} | \`${key.trim()}\` |`);
  }
}

const server = await startServer(PORT);
const dir = mkdtempSync(join(tmpdir(), 'shelfdb-profile-'));
const context = await chromium.launchPersistentContext(dir, {
  executablePath: chromiumPath(),
  args: [...CHROMIUM_ARGS, '--enable-precise-memory-info', '--js-flags=--expose-gc'],
  headless: true,
});
try {
  await context.addInitScript(() => {
    const Worker = window.Worker; // in the page
    const deferred = [];
    const terminate = Worker.prototype.terminate;
    Worker.prototype.terminate = function () {
      deferred.push(this);
    };
    window.__terminateDeferred = () => deferred.splice(0).forEach((w) => terminate.call(w));
  });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  // Workers, reached through the page's session (non-flattened: messages wrapped per session).
  const workers = new Map(); // sessionId → { title, pending }
  let nextId = 1;
  const waiting = new Map();
  const toWorker = (sessionId, method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      cdp
        .send('Target.sendMessageToTarget', {
          sessionId,
          message: JSON.stringify({ id, method, params }),
        })
        .catch(reject);
    });
  cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
    const m = JSON.parse(message);
    const w = waiting.get(m.id);
    if (w === undefined) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error.message));
    else w.resolve(m.result);
  });
  let profiling = false;
  const startWorker = async (sessionId) => {
    await toWorker(sessionId, 'Profiler.enable');
    await toWorker(sessionId, 'Profiler.setSamplingInterval', { interval: 100 });
    await toWorker(sessionId, 'Profiler.start');
  };
  cdp.on('Target.attachedToTarget', ({ sessionId, targetInfo }) => {
    const entry = { title: targetInfo.url.replace(/^.*\/\/[^/]+\//, ''), started: undefined };
    workers.set(sessionId, entry);
    if (profiling) entry.started = startWorker(sessionId);
  });
  cdp.on('Target.detachedFromTarget', ({ sessionId }) => workers.delete(sessionId));
  await cdp.send('Target.setAutoAttach', {
    autoAttach: true,
    waitForDebuggerOnStart: false,
    flatten: false,
  });
  await page.goto(`http://127.0.0.1:${PORT}/bench/pages/bench.html`);
  await page.waitForSelector('body[data-ready="yes"]', { state: 'attached', timeout: 60_000 });
  const run = (size, r) =>
    page.evaluate(([c, s, r]) => window.bench.run(c, s, r), [caseName, size, r]);
  await run(Math.max(10, Math.min(n, 1000)), 1000);
  await page.evaluate(() => window.__terminateDeferred());
  await new Promise((r) => setTimeout(r, 200)); // their detach events

  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  profiling = true;
  for (const [sessionId, entry] of workers) entry.started = startWorker(sessionId);
  await Promise.all([...workers.values()].map((w) => w.started));
  await cdp.send('Profiler.start');
  const result = await run(n, 0);
  const { profile } = await cdp.send('Profiler.stop');
  console.log(`case ${caseName}, n = ${n}: ${JSON.stringify(result)}`);
  print('page', profile);
  const all = { page: profile, workers: {} };
  for (const [sessionId, entry] of workers) {
    if (entry.started === undefined) continue;
    try {
      await entry.started;
      const { profile: wp } = await toWorker(sessionId, 'Profiler.stop');
      all.workers[entry.title] = wp;
      print(`worker ${entry.title}`, wp);
    } catch (error) {
      console.log(`\n(worker ${entry.title}: no profile: ${error.message})`);
    }
  }
  await page.evaluate(() => window.__terminateDeferred());
  if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify(all));
} finally {
  await context.close();
  rmSync(dir, { recursive: true, force: true });
  server.kill();
}

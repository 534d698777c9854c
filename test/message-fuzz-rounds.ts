/**
 * The rounds of the message fuzzer (message-fuzz.test.ts): capturing real messages, mutating them,
 * and one round of strays against three tabs or against a page and its worker. Repros replay a
 * round saved by the fuzzer (SHELF_FAULT_DUMP) with `tabRound`/`linkRound`.
 */
import fc from 'fast-check';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  callsChannelName,
  databaseChannelName,
  parseMessage,
  tabChannelName,
} from '../src/shared/protocol.js';
import type { Storage } from '../src/shared/storage.js';
import type { Endpoint } from '../src/shared/link.js';
import { STORAGE_METHODS } from '../src/shared/storage-calls.js';
import { StorageClient } from '../src/storage-client.js';
import { serveStorage } from '../worker/storage-server.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import {
  InstrumentedStorage,
  OwnerLedger,
  chaosOrigin,
  encodeOps,
  settle,
  type ChaosTabState,
} from './tab-chaos.js';

/** Where a stray is posted. */
export type Target =
  'main' | 'calls' | 'answer:a' | 'answer:b' | 'answer:c' | 'to-worker' | 'to-page';
export const TAB_TARGETS: Target[] = ['main', 'calls', 'answer:a', 'answer:b', 'answer:c'];
export const LINK_TARGETS: Target[] = ['to-worker', 'to-page'];

const HUGE = Array.from({ length: 200_000 }, (_, i) => i);

/** The class of a stray, for KNOWN_FAILING. */
function classify(target: Target, message: unknown): string {
  const kind = target.startsWith('answer') ? 'answer' : target;
  try {
    const m = parseMessage(message);
    return `${kind}:${m.type === 'call' ? `call:${m.method}` : m.type}`;
  } catch {
    return `${kind}:malformed`;
  }
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

interface Mutation {
  path: number[];
  value: unknown;
  drop: boolean;
}

/** Sets (or drops) the field the path leads to; an ArrayBuffer on the way gets a byte flipped. */
function mutate(message: unknown, m: Mutation): unknown {
  if (!isObj(message)) return m.value;
  let target: Record<string, unknown> = message;
  for (let i = 0; i < m.path.length; i++) {
    const keys = Object.keys(target);
    if (keys.length === 0) break;
    const key = keys[(m.path[i] as number) % keys.length] as string;
    const next = target[key];
    if (next instanceof ArrayBuffer && next.byteLength > 0) {
      const bytes = new Uint8Array(next.slice(0));
      const at = (m.path[i + 1] ?? 0) % bytes.length;
      bytes[at] = (bytes[at] as number) ^ 0xff;
      target[key] = bytes.buffer;
      return message;
    }
    if (i === m.path.length - 1 || !isObj(next)) {
      if (m.drop) delete target[key];
      else target[key] = m.value;
      return message;
    }
    target = next;
  }
  return message;
}

/** Moves small ids (ones a tab may have in flight) out of reach; weird ids stay weird. */
function unaskedId(message: unknown, n: number): unknown {
  if (isObj(message) && Number.isSafeInteger(message.id) && (message.id as number) >= 0) {
    message.id = 1_000_000 + (((message.id as number) + n) % 1_000_000);
  }
  return message;
}

const weird = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom<unknown>(
      Number.NaN,
      -1,
      0.5,
      '7',
      2 ** 53,
      -0,
      Infinity,
      null,
      undefined,
      true,
      {},
      [],
      'close',
      'pin',
      '',
      [1, 'x'],
    ),
  },
  { weight: 1, arbitrary: fc.constant<unknown>(HUGE) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
);

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  value: weird,
  drop: fc.boolean(),
});

export interface Captured {
  target: Target;
  message: unknown;
}

export function strayArb(
  captured: Captured[],
  targets: Target[],
): fc.Arbitrary<{ target: Target; message: unknown }> {
  const mutated = fc
    .record({
      base: fc.nat(captured.length - 1),
      mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
      target: fc.constantFrom(...targets),
      n: fc.nat(),
    })
    .map(({ base, mutations, target, n }) => {
      let message = structuredClone((captured[base] as Captured).message);
      for (const m of mutations) message = mutate(message, m);
      return { target, message: unaskedId(message, n) };
    });
  const replayed = fc
    .record({ base: fc.nat(captured.length - 1), target: fc.constantFrom(...targets), n: fc.nat() })
    .map(({ base, target, n }) => ({
      target,
      message: unaskedId(structuredClone((captured[base] as Captured).message), n),
    }));
  const random = fc
    .record({
      target: fc.constantFrom(...targets),
      message: fc.anything({ maxDepth: 3 }),
      n: fc.nat(),
    })
    .map(({ target, message, n }) => ({ target, message: unaskedId(message, n) }));
  const calls = captured.filter((c) => isObj(c.message) && c.message.type === 'call');
  // A call of any method with weird arguments, from a live tab or none: what validation must stop.
  const call = fc
    .record({
      base: fc.nat(Math.max(0, calls.length - 1)),
      method: fc.constantFrom(...STORAGE_METHODS),
      args: fc.array(weird, { maxLength: 3 }),
      keepArgs: fc.boolean(),
      arg: mutationArb,
      from: fc.constantFrom<string | undefined>('tab1', 'tab2', 'tab3', 'stranger', undefined),
      target: fc.constantFrom(...targets),
      n: fc.nat(),
    })
    .map(({ base, method, args, keepArgs, arg, from, target, n }) => {
      const message = structuredClone((calls[base] ?? captured[0]) as Captured).message as Record<
        string,
        unknown
      >;
      message.method = method;
      message.args = keepArgs ? mutate(message.args, arg) : args;
      if (from === undefined) delete message.from;
      else message.from = from;
      return { target, message: unaskedId(message, n) };
    });
  return fc.oneof(
    { weight: 4, arbitrary: call },
    { weight: 6, arbitrary: mutated },
    { weight: 2, arbitrary: replayed },
    { weight: 1, arbitrary: random },
  );
}

const kindOf = (name: string): Target =>
  name === databaseChannelName('db')
    ? 'main'
    : name === callsChannelName('db')
      ? 'calls'
      : 'answer:b';

/** A record of the workload: a fresh object holding `ops`. */
const record = (oid: number, ops: number[]) => ({
  oid,
  className: 'Ops',
  state: encodeOps(ops),
  refs: [],
});

/** Every storage method once, from a follower and from the owner: the messages they cause. */
async function exercise(s: Storage, tag: number): Promise<void> {
  const [o1, o2] = await s.newOids(2);
  const tid = await s.commit({
    baseTid: 0,
    records: [record(o1 as number, [tag])],
    txnId: `cap-${tag}`,
    meta: { tag },
  });
  await s.commit({
    baseTid: tid,
    records: [{ ...record(o1 as number, [tag, 1]), tid }, record(o2 as number, [])],
  });
  await s
    .commit({ baseTid: 0, records: [{ ...record(o1 as number, []), tid }] })
    .catch(() => undefined); // a conflict: its error message is captured
  await s.load([o1 as number, o2 as number]);
  await s.load([o1 as number], tid);
  await s.sync(0);
  await s.stats();
  await s.verify();
  await s.transactions({ limit: 3 });
  await s.history(o1 as number, 2);
  await s.pin?.('holder', tid);
  await s.pin?.('holder', null);
  await s.pack({ keepTid: tid });
}

export async function captureTabs(): Promise<Captured[]> {
  const captured: Captured[] = [];
  const origin = chaosOrigin({
    busyTimeout: 2000,
    onPost: (name, message) =>
      captured.push({ target: kindOf(name), message: structuredClone(message) }),
  });
  const a = origin.tab();
  const ra = await origin.join(a);
  await ra.newOids(100_000); // the captured oids lie far from the fuzzed databases' own
  const rb = await origin.join(origin.tab());
  await exercise(rb, 1);
  await exercise(ra, 2);
  a.closing = true;
  await ra.close(); // handover: owner announcements, resent hellos
  await exercise(rb, 3);
  return captured;
}

/** Keeps a copy of a message; one carrying a port (the page's events proxy) is not replayable. */
function capture(captured: Captured[] | undefined, target: Target, message: unknown): void {
  try {
    captured?.push({ target, message: structuredClone(message) });
  } catch {
    // a MessagePort must be transferred, not cloned: leave this message out
  }
}

/** A page's close call (a Comlink call of `close`): its right, never a stray. */
const isClose = (message: unknown): boolean =>
  isObj(message) &&
  (message.method === 'close' || (Array.isArray(message.path) && message.path[0] === 'close'));

/** A page and its storage worker over a Node MessageChannel; every message each way captured. */
async function link(captured?: Captured[]) {
  const { port1, port2 } = new MessageChannel();
  const ledger = new OwnerLedger();
  const entry = ledger.open('worker', () => false);
  let closing = false;
  const worker: Endpoint = {
    postMessage: (message, transfer) => {
      capture(captured, 'to-page', message);
      port1.postMessage(message, transfer as never);
    },
    addEventListener: (type, listener) => port1.addEventListener(type, listener as never),
    removeEventListener: (type, listener) => port1.removeEventListener(type, listener as never),
  };
  serveStorage(worker, async () => ({
    storage: new InstrumentedStorage(
      await ShelfStorage.open(new MemoryBlockDirectory()),
      entry,
      ledger,
      () => closing,
    ),
  }));
  const page: Endpoint = {
    postMessage: (message, transfer) => {
      capture(captured, 'to-worker', message);
      port2.postMessage(message, transfer as never);
    },
    addEventListener: (type, listener) => port2.addEventListener(type, listener as never),
    removeEventListener: (type, listener) => port2.removeEventListener(type, listener as never),
  };
  port1.start();
  port2.start();
  const ports: MessagePort[] = [port1, port2];
  const client = await StorageClient.connect(
    page,
    { name: 'db', storage: 'auto', durability: 'strict', recover: false, busyTimeout: 2000 },
    () => ports.forEach((p) => p.close()),
  );
  const close = async (): Promise<void> => {
    closing = true;
    await client.close();
  };
  return {
    client,
    ledger,
    close,
    toWorker: (m: unknown) => port2.postMessage(m),
    toPage: (m: unknown) => port1.postMessage(m),
  };
}

export async function captureLink(): Promise<Captured[]> {
  const captured: Captured[] = [];
  const l = await link(captured);
  await l.client.newOids(100_000);
  await exercise(l.client, 4);
  await l.close();
  return captured.filter((c) => !isClose(c.message));
}

/** The root referencing the oids the workloads write: what a stray pack must keep. */
async function prepare(s: Storage): Promise<number[]> {
  const oids = await s.newOids(6);
  await s.commit({
    baseTid: 0,
    records: [{ oid: 0, className: 'Root', state: encodeOps([]), refs: oids }],
  });
  return oids;
}

/**
 * Calls in flight while strays arrive, then a normal commit and load: what failed, in words.
 * `oids`: two oids reachable from the root, never stored yet.
 */
async function workload(
  s: Storage,
  who: string,
  oids: number[],
  strays: () => Promise<void>,
): Promise<string[]> {
  const failures: string[] = [];
  const expectOk = async <T>(what: string, p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p;
    } catch (error) {
      failures.push(`${who} ${what} failed with ${String(error)}`);
      return undefined;
    }
  };
  const [o1, o2] = oids as [number, number];
  const inflight = Promise.all([
    expectOk('newOids', s.newOids(2)),
    expectOk('commit', s.commit({ baseTid: 0, records: [record(o1, [1])], txnId: `${who}-${o1}` })),
    expectOk('load', s.load([0])),
    expectOk('sync', s.sync(0)),
    expectOk('stats', s.stats()),
  ]);
  await strays();
  await inflight;
  const tid = await expectOk(
    'commit afterwards',
    s.commit({ baseTid: 0, records: [record(o2, [2])] }),
  );
  const loaded = await expectOk('load afterwards', s.load([o1, o2]));
  if (tid !== undefined && loaded?.length !== 2)
    failures.push(`${who} lost a commit: loaded ${loaded?.length}`);
  await expectOk('pack afterwards', s.pack());
  return failures;
}

/** What one round did: problems found (none: []), strays posted and strays left out. */
export interface RoundResult {
  problems: string[];
  fuzzed: number;
  leftOut: number;
}

export type Stray = { target: Target; message: unknown };

/** Three tabs; follower b's calls in flight while the strays arrive; then a, b and c work on. */
export async function tabRound(
  strays: Stray[],
  freeze: boolean,
  skip: ReadonlySet<string>,
): Promise<RoundResult> {
  let fuzzed = 0;
  let leftOut = 0;
  // Generous: the fuzzer checks what strays do, not timing; strays with 200,000-element arrays,
  // cloned to every tab on a loaded machine, have held the event loop past 2 s.
  const origin = chaosOrigin({ busyTimeout: 10_000 });
  const tabs: Record<string, ChaosTabState> = { a: origin.tab(), b: origin.tab(), c: origin.tab() };
  for (const t of Object.values(tabs)) await origin.join(t);
  const stranger = origin.tab('stranger');
  const channels = new Map<string, ReturnType<ChaosTabState['chaos']['channel']>>();
  const post = (target: Target, message: unknown): void => {
    if (skip.has(classify(target, message))) return void leftOut++;
    const name =
      target === 'main'
        ? databaseChannelName('db')
        : target === 'calls'
          ? callsChannelName('db')
          : tabChannelName('db', (tabs[target.slice(7)] as ChaosTabState).label);
    let c = channels.get(name);
    if (c === undefined) channels.set(name, (c = stranger.chaos.channel(name)));
    c.postMessage(message);
    fuzzed++;
  };
  const send = async (): Promise<void> => {
    if (freeze) tabs.a?.chaos.freeze(); // the owner sees strays and calls mixed in its inbox
    for (const s of strays) post(s.target, s.message);
    await settle(5);
    tabs.a?.chaos.thaw();
  };
  const oids = await prepare(tabs.a?.router as Storage);
  const failures = [
    ...(await workload(tabs.b?.router as Storage, 'follower b', oids.slice(0, 2), send)),
    ...(await workload(tabs.a?.router as Storage, 'owner a', oids.slice(2, 4), () => settle(1))),
    ...(await workload(tabs.c?.router as Storage, 'follower c', oids.slice(4, 6), () => settle(1))),
  ];
  for (const t of Object.values(tabs)) {
    t.closing = true;
    await t.router?.close();
  }
  return { problems: [...failures, ...origin.ledger.violations], fuzzed, leftOut };
}

/** A page and its worker; the page's calls in flight while strays arrive both ways. */
export async function linkRound(strays: Stray[], skip: ReadonlySet<string>): Promise<RoundResult> {
  let fuzzed = 0;
  let leftOut = 0;
  const l = await link();
  const send = async (): Promise<void> => {
    for (const { target, message } of strays) {
      // A page's own close() is its right: only strays that are not closes go to the worker.
      if (isClose(message)) continue;
      if (skip.has(classify(target, message))) {
        leftOut++;
        continue;
      }
      if (target === 'to-worker') l.toWorker(message);
      else l.toPage(message);
      fuzzed++;
    }
    await settle(5);
  };
  const failures = await workload(l.client, 'page', await prepare(l.client), send);
  await l.close();
  return { problems: [...failures, ...l.ledger.violations], fuzzed, leftOut };
}

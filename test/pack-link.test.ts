/**
 * A pack's progress and abort across both links, over the real link code: the page ↔ its storage
 * worker (StorageClient ↔ serveStorage over Comlink, test/link-fixture.ts) and a tab ↔ the tab that
 * owns the files (TabRouter over fake BroadcastChannels, test/fake-tabs.ts).
 *
 * The rule these tests pin (src/shared/forwarding-storage.ts, SharedPack): every caller of pack
 * joins the one running pack; aborting a caller's signal rejects that caller at once with the
 * signal's reason and leaves the pack to the other callers; the pack itself stops (its storage's
 * signal aborts) once every caller has aborted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { expose } from 'comlink';
import { Database, PackEvent, PersistentDict } from '../src/index.js';
import { registerLinkHandlers, type Endpoint } from '../src/shared/link.js';
import { PROTOCOL_VERSION, callsChannelName, tabChannelName } from '../src/shared/protocol.js';
import type {
  PackProgress,
  PackResult,
  Storage,
  StorageStats,
  Tid,
} from '../src/shared/storage.js';
import { StorageClient } from '../src/storage-client.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import type { PackRun } from '../worker/pack-run.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { TabRouter } from '../worker/tab-router.js';
import { FakeHub } from './fake-tabs.js';
import { OPEN_REQUEST, closeLinks, link } from './link-fixture.js';
import { eventually, until } from './until.js';

afterEach(closeLinks);

/** How many mark steps SteppedStorage's pack reports, one per slice. */
const STEPS = 5;

/**
 * A MemoryStorage whose pack reports STEPS mark steps, pausing (PackRun's slices, where an abort
 * is noticed) between them, and can be held before its first pause: the test decides when it goes.
 */
class SteppedStorage extends MemoryStorage {
  /** The run of every pack started here, in order. */
  readonly runs: PackRun[] = [];
  private gate: Promise<void> | undefined;
  private release: () => void = () => undefined;

  /** Packs started from now on wait before their first pause until `go()`. */
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  go(): void {
    this.gate = undefined;
    this.release();
  }

  protected override async packNow(keepTid: Tid | undefined, run: PackRun): Promise<PackResult> {
    this.runs.push(run);
    run.progress('mark', 0, STEPS, true);
    await this.gate;
    for (let i = 1; i <= STEPS; i++) {
      await run.pause();
      run.progress('mark', i, STEPS, true);
    }
    return super.packNow(keepTid, run);
  }
}

/** `count` tabs on one storage: the first owns it, the others forward to it. */
async function tabs(storage: Storage, count: number) {
  const hub = new FakeHub();
  const routers: TabRouter[] = [];
  for (let i = 0; i < count; i++) {
    routers.push(
      await TabRouter.open(hub.tab(), { name: 'db', busyTimeout: 5000 }, async () => storage),
    );
  }
  /** Closes the followers, then the owner (which closes the storage). */
  const closeAll = async () => {
    for (const router of routers.slice().reverse()) await router.close();
  };
  return { hub, routers, closeAll };
}

/** A progress listener and what it heard. */
function heard() {
  const seen: PackProgress[] = [];
  return { seen, onProgress: (p: PackProgress) => void seen.push({ ...p }) };
}

/**
 * What every heard sequence must be: well-formed reports, some of marking (SteppedStorage's, and
 * whatever the storage's own pack reports after them), ending with 'done'.
 */
function expectFinished(seen: PackProgress[]): void {
  expect(seen.at(-1)).toEqual({ phase: 'done', done: 1, total: 1 });
  expect(seen.some((p) => p.phase === 'mark')).toBe(true);
  for (const p of seen) {
    expect(['mark', 'copy', 'done']).toContain(p.phase);
    expect(p.done).toBeGreaterThanOrEqual(0);
    expect(p.total).toBeGreaterThanOrEqual(0);
  }
}

describe('pack progress across the links', () => {
  it("hands the pack's progress to the page through its storage worker, 'done' before the pack resolves", async () => {
    const storage = new SteppedStorage();
    const { client } = await link(storage);
    const { seen, onProgress } = heard();
    const result = await client.pack({ onProgress });
    expect(result.bytesAfter).toBeGreaterThanOrEqual(0);
    expectFinished(seen);
    await client.close();
  });

  it('hands the progress of a pack the owning tab runs to the page of another tab (page → worker → owner)', async () => {
    const storage = new SteppedStorage();
    const { routers, closeAll } = await tabs(storage, 2);
    const { client } = await link(routers[1] as TabRouter);
    const db = new Database(client);
    const events: PackProgress[] = [];
    db.addEventListener('pack', (e) => {
      const { phase, done, total } = e as PackEvent;
      events.push({ phase, done, total });
    });
    await db.pack();
    expectFinished(events);
    await db.close();
    await closeAll();
  });

  it('gives a second tab that joins the running pack its progress too, from one pack', async () => {
    const storage = new SteppedStorage();
    const { hub, routers, closeAll } = await tabs(storage, 3);
    const [, b, c] = routers as [TabRouter, TabRouter, TabRouter];
    storage.hold();
    const fromB = heard();
    const fromC = heard();
    const packB = b.pack({ onProgress: fromB.onProgress });
    await until(() => storage.runs.length === 1, "the owner's pack to start");
    const packC = c.pack({ onProgress: fromC.onProgress });
    await hub.idle(); // C's call has reached the owner, which joins it to the running pack
    storage.go();
    const [resultB, resultC] = await Promise.all([packB, packC]);
    expect(resultC).toEqual(resultB);
    expect(storage.runs).toHaveLength(1);
    expectFinished(fromB.seen);
    expectFinished(fromC.seen);
    await closeAll();
  });

  it("gives the owner tab's own page the progress of a pack another tab started", async () => {
    const storage = new SteppedStorage();
    const { hub, routers, closeAll } = await tabs(storage, 2);
    const [a, b] = routers as [TabRouter, TabRouter];
    storage.hold();
    const fromA = heard();
    const packB = b.pack();
    await until(() => storage.runs.length === 1, "the owner's pack to start");
    const packA = a.pack({ onProgress: fromA.onProgress });
    await hub.idle();
    storage.go();
    await Promise.all([packA, packB]);
    expect(storage.runs).toHaveLength(1);
    expectFinished(fromA.seen);
    await closeAll();
  });

  it('ignores and counts a malformed progress message from another tab, and trusts nothing of it', async () => {
    const storage = new SteppedStorage();
    const { hub, routers, closeAll } = await tabs(storage, 2);
    const b = routers[1] as TabRouter;
    // A rogue tab hears b's pack call (the calls channel is a broadcast) and forges progress.
    const rogue = hub.tab();
    const packIds: unknown[] = [];
    rogue.channel(callsChannelName('db')).addEventListener('message', (e) => {
      const data = e.data as { method?: unknown; args?: { packId?: unknown }[] };
      if (data.method === 'pack') packIds.push(data.args?.[0]?.packId);
    });
    storage.hold();
    const { seen, onProgress } = heard();
    const pack = b.pack({ onProgress });
    await until(() => packIds.length === 1 && storage.runs.length === 1, 'the pack to start');
    const before = b.wireStats.ignoredMessages;
    const toB = rogue.channel(tabChannelName('db', b.tabId));
    const packId = packIds[0];
    const malformed = [
      {
        v: PROTOCOL_VERSION,
        type: 'progress',
        packId,
        progress: [{ phase: 'sweep', done: 1, total: 1 }],
      },
      {
        v: PROTOCOL_VERSION,
        type: 'progress',
        packId,
        progress: [{ phase: 'mark', done: -1, total: 1 }],
      },
      {
        v: PROTOCOL_VERSION,
        type: 'progress',
        packId,
        progress: [{ phase: 'mark', done: 1, total: 'x' }],
      },
      { v: PROTOCOL_VERSION, type: 'progress', packId, progress: 'mark' },
      { v: PROTOCOL_VERSION, type: 'progress', packId: 7, progress: [] },
      {
        v: PROTOCOL_VERSION,
        type: 'progress',
        packId,
        progress: new Array(1000).fill({ phase: 'mark', done: 1, total: 1 }),
      },
    ];
    for (const message of malformed) toB.postMessage(message);
    await hub.idle();
    expect(b.wireStats.ignoredMessages - before).toBe(malformed.length);
    storage.go();
    await pack;
    expectFinished(seen);
    expect(seen.every((p) => p.phase !== ('sweep' as string) && p.done >= 0)).toBe(true);
    await closeAll();
  });

  it('ignores and counts a malformed progress message from the storage worker', async () => {
    registerLinkHandlers();
    const { port1, port2 } = new MessageChannel();
    const result: PackResult = {
      objectsRemoved: 0,
      revisionsRemoved: 0,
      bytesBefore: 0,
      bytesAfter: 0,
      time: 0,
    };
    let events: { packProgress?: (packId: unknown, progress: unknown) => Promise<void> } = {};
    // A worker of another build: it sends progress the page must not trust.
    expose(
      {
        open: async (_request: unknown, pageEvents: typeof events) => {
          events = pageEvents;
          return {};
        },
        pack: async (options: { packId?: unknown }) => {
          const send = (progress: unknown) => events.packProgress?.(options.packId, progress);
          await send([{ phase: 'sweep', done: 1, total: 1 }]);
          await send('mark');
          await send([{ phase: 'mark', done: Number.NaN, total: 1 }]);
          await events.packProgress?.(42, [{ phase: 'mark', done: 1, total: 1 }]);
          await send([{ phase: 'mark', done: 1, total: 2 }]);
          return result;
        },
        stats: async () => ({ objects: 0 }) as unknown as StorageStats,
        close: async () => undefined,
      },
      port1 as unknown as Endpoint,
    );
    port1.start();
    port2.start();
    const client = await StorageClient.connect(port2 as unknown as Endpoint, OPEN_REQUEST, () => {
      port1.close();
      port2.close();
    });
    const { seen, onProgress } = heard();
    expect(await client.pack({ onProgress })).toEqual(result);
    expect(seen).toEqual([{ phase: 'mark', done: 1, total: 2 }]);
    expect((await client.stats()).ignoredMessages).toBe(4);
    await client.close();
  });
});

describe('pack abort across the links', () => {
  it("rejects the page's pack at once with the signal's reason and stops the pack in the owning tab", async () => {
    const storage = new SteppedStorage();
    const { routers, closeAll } = await tabs(storage, 2);
    const { client } = await link(routers[1] as TabRouter);
    storage.hold();
    const controller = new AbortController();
    const pack = client.pack({ signal: controller.signal });
    await until(() => storage.runs.length === 1, "the owner's pack to start");
    const reason = new Error('the user cancelled the pack');
    controller.abort(reason);
    // At once: while the owner's pack is still held.
    await expect(eventually(pack, 'the aborted pack')).rejects.toBe(reason);
    const run = storage.runs[0] as PackRun;
    await until(() => run.signal?.aborted === true, "the owner's pack signal to abort");
    expect((run.signal?.reason as Error).name).toBe('AbortError');
    storage.go();
    // The storage stopped that pack; a new one runs whole.
    const { seen, onProgress } = heard();
    await client.pack({ onProgress });
    expect(storage.runs).toHaveLength(2);
    expectFinished(seen);
    expect((await client.verify()).ok).toBe(true);
    await client.close();
    await closeAll();
  });

  it("rejects the page's pack at once and stops it when the page's own worker owns the files", async () => {
    const storage = new SteppedStorage();
    const { routers, closeAll } = await tabs(storage, 1);
    const { client } = await link(routers[0] as TabRouter);
    storage.hold();
    const controller = new AbortController();
    const pack = client.pack({ signal: controller.signal });
    await until(() => storage.runs.length === 1, 'the pack to start');
    controller.abort();
    await expect(eventually(pack, 'the aborted pack')).rejects.toMatchObject({
      name: 'AbortError',
    });
    const run = storage.runs[0] as PackRun;
    await until(() => run.signal?.aborted === true, "the storage's pack signal to abort");
    storage.go();
    await client.close();
    await closeAll();
  });

  it('keeps the pack running for a tab that joined it when the tab that started it aborts', async () => {
    const storage = new SteppedStorage();
    const { hub, routers, closeAll } = await tabs(storage, 3);
    const [, b, c] = routers as [TabRouter, TabRouter, TabRouter];
    storage.hold();
    const controller = new AbortController();
    const packB = b.pack({ signal: controller.signal });
    await until(() => storage.runs.length === 1, "the owner's pack to start");
    const fromC = heard();
    const packC = c.pack({ onProgress: fromC.onProgress });
    await hub.idle();
    controller.abort();
    await expect(eventually(packB, "b's aborted pack")).rejects.toMatchObject({
      name: 'AbortError',
    });
    await hub.idle();
    storage.go();
    await packC;
    expect((storage.runs[0] as PackRun).signal?.aborted).toBe(false);
    expectFinished(fromC.seen);
    await closeAll();
  });

  it('starts a pack asked for while an aborted one stops only after it, and never one abandoned meanwhile', async () => {
    const storage = new SteppedStorage();
    const { hub, routers, closeAll } = await tabs(storage, 2);
    const b = routers[1] as TabRouter;
    storage.hold();
    const first = new AbortController();
    const packing = b.pack({ signal: first.signal });
    await until(() => storage.runs.length === 1, "the owner's pack to start");
    first.abort();
    await expect(packing).rejects.toMatchObject({ name: 'AbortError' });
    // Asked for while the first still stops: it waits, and is abandoned before it could start.
    const second = new AbortController();
    const waiting = b.pack({ signal: second.signal });
    second.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    // The owner has heard the first abort (a message between tabs) before its pack may go on.
    await until(
      () => storage.runs[0]?.signal?.aborted === true,
      'the owner to stop the first pack',
    );
    storage.go();
    await hub.idle();
    const { seen, onProgress } = heard();
    await b.pack({ onProgress });
    expect(storage.runs).toHaveLength(2); // the first, and the last: never the abandoned one
    expect((storage.runs[0] as PackRun).signal?.aborted).toBe(true);
    expectFinished(seen);
    await closeAll();
  });

  it('rejects an already aborted signal at once and sends nothing', async () => {
    const storage = new SteppedStorage();
    const { routers, closeAll } = await tabs(storage, 2);
    const { client } = await link(routers[1] as TabRouter);
    const reason = new Error('already cancelled');
    await expect(client.pack({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(storage.runs).toHaveLength(0);
    await client.close();
    await closeAll();
  });

  it('leaves a valid database wherever a pack from another tab is aborted while a third tab commits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(STEPS + 1),
        fc.integer({ min: 1, max: 6 }),
        async (abortAfter, commits) => {
          const storage = new SteppedStorage();
          const { routers, closeAll } = await tabs(storage, 3);
          const [a, b, c] = routers.map((r) => new Database(r)) as [Database, Database, Database];
          const writer = c.open();
          await writer.transact(async () => (await writer.root()).set('n', -1));
          const controller = new AbortController();
          let reports = 0;
          const packing = b.pack({ signal: controller.signal }).then(
            () => 'packed',
            (error: unknown) => error,
          );
          b.addEventListener('pack', () => {
            if (++reports === abortAfter) controller.abort();
          });
          if (abortAfter === 0) controller.abort();
          const acknowledged: number[] = [];
          for (let i = 0; i < commits; i++) {
            await writer.transact(async () => {
              const root = await writer.root();
              root.set(`k${i}`, new PersistentDict([['i', i]]));
              root.set('n', i);
            });
            acknowledged.push(i);
          }
          const outcome = await eventually(packing, 'the pack to settle');
          expect(outcome === 'packed' || (outcome as Error).name === 'AbortError').toBe(true);
          for (const db of [a, b, c]) {
            const conn = db.open();
            const root = await conn.root();
            expect(root.get('n')).toBe(commits - 1);
            for (const i of acknowledged) {
              const entry = (await conn.load(root.get(`k${i}`) as PersistentDict<string, number>))!;
              expect(entry.get('i')).toBe(i);
            }
          }
          expect((await a.verify()).ok).toBe(true);
          // No pack is left running: the next one runs whole.
          await a.pack();
          expect((await a.verify()).ok).toBe(true);
          for (const db of [c, b]) await db.close();
          await a.close();
          await closeAll();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('leaves a valid ShelfStorage, every acknowledged commit readable after reopening, when a pack is aborted mid-way', async () => {
    const dir = new MemoryBlockDirectory();
    const { routers, closeAll } = await tabs(await ShelfStorage.open(dir), 2);
    const [a, b] = routers.map((r) => new Database(r)) as [Database, Database];
    const writer = a.open();
    // Garbage: objects replaced many times over.
    for (let i = 0; i < 40; i++) {
      await writer.transact(async () => {
        (await writer.root()).set(`g${i % 5}`, new PersistentDict([['v', 'x'.repeat(200)]]));
      });
    }
    const controller = new AbortController();
    b.addEventListener('pack', () => controller.abort(), { once: true });
    const packing = b.pack({ signal: controller.signal }).catch((error: unknown) => error);
    const acknowledged: number[] = [];
    for (let i = 0; i < 10; i++) {
      await writer.transact(async () => (await writer.root()).set(`k${i}`, i));
      acknowledged.push(i);
    }
    await packing;
    expect((await a.verify()).ok).toBe(true);
    await b.close();
    await a.close();
    await closeAll();
    const reopened = new Database(await ShelfStorage.open(dir));
    const root = await reopened.open().root();
    for (const i of acknowledged) expect(root.get(`k${i}`)).toBe(i);
    expect((await reopened.verify()).ok).toBe(true);
    await reopened.close();
  });
});

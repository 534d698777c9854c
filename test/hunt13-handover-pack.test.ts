/**
 * Hunt 13: the owner tab dies in the middle of an incremental pack (tiny segments, a pause after
 * every step, so the pack has published some compaction steps and not others), while another
 * tab holds an old snapshot and commits. The next owner must open the files as the dead owner's
 * last manifest left them: every acknowledged commit, the held snapshot's reads, a valid database,
 * and a pack there that finishes.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { TabRouter } from '../worker/tab-router.js';
import type { CommitRequest, Tid } from '../src/shared/storage.js';
import { FakeHub, type FakeTab } from './fake-tabs.js';
import { FencedDirectory } from './tab-chaos.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const OPTIONS = { segmentSize: 200, packSliceMs: 0 };

describe('hunt 13: owner handover in the middle of a pack', () => {
  for (const crashAt of [1, 3, 6, 10, 15]) {
    it(`keeps every acknowledged commit and the held snapshot when the owner dies at pack step ${crashAt}`, async () => {
      const hub = new FakeHub();
      const dir = new MemoryBlockDirectory();
      const join = (tab: FakeTab, tabId: string) =>
        TabRouter.open(tab, { name: 'db', busyTimeout: 300, tabId }, () =>
          ShelfStorage.open(new FencedDirectory(dir, () => tab.crashed), OPTIONS),
        );
      const ownerTab = hub.tab();
      const a = await join(ownerTab, 'a');
      const b = await join(hub.tab(), 'b');
      const f = await join(hub.tab(), 'f');
      const oids = await a.newOids(4);
      const serial = new Map<number, Tid>();
      const values = new Map<Tid, Map<number, string>>();
      let last: Tid = 0;
      let n = 0;
      const put = async (via: TabRouter, oid: number): Promise<Tid> => {
        const text = `${oid}:${++n}`;
        const before = serial.get(oid);
        const request: CommitRequest = {
          baseTid: last,
          records: [
            {
              oid,
              className: 'Cell',
              state: enc.encode(text),
              refs: oid === 0 ? oids : [],
              ...(before === undefined ? {} : { tid: before }),
            },
          ],
          txnId: `t${n}`,
        };
        const tid = await via.commit(request);
        serial.set(oid, tid);
        const state = new Map(values.get(last) ?? []);
        state.set(oid, text);
        values.set(tid, state);
        last = tid;
        return tid;
      };
      await put(a, 0);
      for (const oid of oids) await put(a, oid);
      for (let round = 0; round < 3; round++) for (const oid of oids) await put(a, oid);
      const held = last;
      await f.pin('page', held); // f's page reads at `held` through the pack
      for (const oid of oids) await put(a, oid);
      for (const oid of oids.slice(0, 2)) await put(a, oid);
      let step = 0;
      const during: Promise<unknown>[] = [];
      const packed = f
        .pack({
          onProgress: () => {
            step++;
            if (step === 2) during.push(put(b, oids[2] as number));
            if (step === crashAt) ownerTab.crash();
          },
        })
        .then(
          () => 'packed',
          (error: unknown) => (error as Error).name,
        );
      await Promise.all(during);
      const outcome = await packed;
      expect([
        'packed',
        'StorageBusyError',
        'StorageError',
        'DatabaseClosedError',
        'AbortError',
      ]).toContain(outcome);
      if (!ownerTab.crashed) ownerTab.crash();
      // The next owner: everything acknowledged, every snapshot from the held one on.
      for (const [tid, state] of values) {
        if (tid < held) continue;
        for (const [oid, text] of state) {
          const [r] = await f.load([oid], tid);
          expect(r === undefined ? undefined : dec.decode(r.state), `oid ${oid} at ${tid}`).toBe(
            text,
          );
        }
      }
      expect((await b.verify()).problems).toEqual([]);
      await b.pack();
      await put(f, oids[3] as number);
      for (const [oid, text] of values.get(last) ?? []) {
        const [r] = await b.load([oid]);
        expect(dec.decode(r?.state), `oid ${oid} newest`).toBe(text);
      }
      await f.close();
      await b.close();
    });
  }
});

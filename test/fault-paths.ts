/**
 * The ShelfStorage paths the fault-injection harness drives through every operation: each a setup
 * (run without faults) and a short workload (run with the fault armed). Commits write oids handed
 * out in the setup; the root (oid 0, commit c0) references them all, so pack keeps every object.
 */
import { FaultDirectory } from './fault-directory.js';
import { Run } from './fault-run.js';
import type { ShelfOptions } from '../worker/shelf-storage.js';

export interface FaultPath {
  name: string;
  options: ShelfOptions;
  /** Without faults: makes `run.dir` and opens `run.storage` (default: a new database). */
  setup?: (run: Run) => Promise<void>;
  /** With the fault armed. */
  workload: (run: Run) => Promise<void>;
}

/** A new database with eight objects under the root, committed as c0. */
export async function freshDatabase(run: Run): Promise<void> {
  await run.open();
  run.oids = await run.newOids(8);
  await run.commit([0, ...run.oids]);
  run.tick(); // relaxed durability: the setup is flushed
}

/** A database of four commits (c0–c3) left by a crash in the middle of a fifth (c4). */
async function crashedDatabase(run: Run): Promise<FaultDirectory> {
  await freshDatabase(run);
  const [a, b, c] = run.oids as [number, number, number];
  await run.commit([a]);
  await run.commit([b, c]);
  await run.commit([a, c]);
  run.dir.arm({ at: 1, kind: 'write', action: 'crash' });
  await run.commit([b]);
  run.storage = undefined;
  return run.dir.crashImage('kept');
}

export const FAULT_PATHS: FaultPath[] = [
  {
    name: 'commit, strict durability',
    options: {},
    workload: async (run) => {
      const [a, b, c, d] = run.oids as [number, number, number, number];
      await run.commit([a]);
      await run.commit([b, c]);
      await run.commit([a, d]);
    },
  },
  {
    name: 'commit, relaxed durability',
    options: { durability: 'relaxed' },
    workload: async (run) => {
      const [a, b, c, d] = run.oids as [number, number, number, number];
      await run.commit([a]);
      await run.commit([b, c]);
      run.tick();
      await run.commit([a, d]);
      run.tick();
      await run.commit([c]);
    },
  },
  {
    name: 'group commit, strict durability',
    options: {},
    workload: async (run) => {
      const [a, b, c, d, e] = run.oids as [number, number, number, number, number];
      await Promise.all([run.issue([a]), run.issue([b, c]), run.issue([d]), run.issue([a, e])]);
      await Promise.all([run.issue([b]), run.issue([c, d])]);
    },
  },
  {
    name: 'group commit, relaxed durability',
    options: { durability: 'relaxed' },
    workload: async (run) => {
      const [a, b, c, d, e] = run.oids as [number, number, number, number, number];
      await Promise.all([run.issue([a]), run.issue([b, c]), run.issue([d, e])]);
      run.tick();
      await Promise.all([run.issue([b]), run.issue([a, d])]);
      run.tick();
    },
  },
  {
    name: 'newOids reserving oids in the log',
    options: {},
    workload: async (run) => {
      const many = await run.newOids(5000);
      const last = many.at(-1);
      await run.commit(last === undefined ? [run.oids[0] as number] : [last]);
      await run.newOids(1);
      await run.newOids(5000);
      await run.commit([run.oids[1] as number]);
    },
  },
  {
    name: 'automatic checkpoint, strict durability',
    options: { checkpointEvery: 2 },
    workload: async (run) => {
      const [a, b, c, d, e] = run.oids as [number, number, number, number, number];
      await run.commit([a, b]);
      await run.commit([c]);
      await run.commit([d, e]);
      await run.commit([a]);
    },
  },
  {
    name: 'automatic checkpoint, relaxed durability',
    options: { durability: 'relaxed', checkpointEvery: 2 },
    workload: async (run) => {
      const [a, b, c, d, e] = run.oids as [number, number, number, number, number];
      await run.commit([a, b]);
      await run.commit([c]);
      run.tick();
      await run.commit([d, e]);
      await run.commit([a]);
      run.tick();
    },
  },
  {
    name: 'explicit checkpoint',
    options: {},
    workload: async (run) => {
      const [a, b, c] = run.oids as [number, number, number];
      await run.commit([a, b]);
      await run.call('checkpoint()', (s) => s.checkpoint());
      await run.commit([c]);
      await run.call('checkpoint()', (s) => s.checkpoint());
    },
  },
  {
    name: 'pack',
    options: {},
    workload: async (run) => {
      const [a, b, c] = run.oids as [number, number, number];
      await run.commit([a, b]);
      await run.commit([a]);
      run.packed = true;
      await run.call('pack()', (s) => s.pack());
      await run.commit([b, c]);
    },
  },
  {
    name: 'pack while commits and a checkpoint arrive',
    options: {},
    workload: async (run) => {
      const [a, b, c] = run.oids as [number, number, number];
      await run.commit([a, b]);
      run.packed = true;
      await Promise.all([
        run.call('pack()', (s) => s.pack()),
        run.commit([a]),
        run.call('checkpoint()', (s) => s.checkpoint()),
        run.commit([c]),
      ]);
      await run.commit([b]);
    },
  },
  {
    // Tiny segments: the log rolls after every commit, so pack compacts several runs, each with
    // its own checkpoint and manifest; a slice of 0 ms pauses after every step, and commits land
    // in those pauses (one rewrites an object whose old revision is being copied).
    name: 'incremental pack over several segments, commits landing between its slices',
    options: { segmentSize: 160, packSliceMs: 0 },
    workload: async (run) => {
      const [a, b, c, d] = run.oids as [number, number, number, number];
      await run.commit([a, b]);
      await run.commit([a]);
      await run.commit([c]);
      run.packed = true;
      const during: Promise<void>[] = [];
      let step = 0;
      await run.call('pack()', (s) =>
        s.pack({
          onProgress: () => {
            step++;
            if (step === 2) during.push(run.commit([a]));
            if (step === 5) during.push(run.commit([b, d]));
          },
        }),
      );
      await Promise.all(during);
      await run.commit([c]);
    },
  },
  {
    // Relaxed durability: commits acknowledged during the pack before any flush; each publish
    // flushes the active segment first, and the timers flush between slices.
    name: 'incremental pack, relaxed durability, commits and flush timers between its slices',
    options: { durability: 'relaxed', segmentSize: 160, packSliceMs: 0 },
    workload: async (run) => {
      const [a, b, c, d] = run.oids as [number, number, number, number];
      await run.commit([a, b]);
      await run.commit([a]);
      run.tick();
      await run.commit([c]);
      run.packed = true;
      const during: Promise<void>[] = [];
      let step = 0;
      await run.call('pack()', (s) =>
        s.pack({
          onProgress: () => {
            step++;
            if (step === 2) during.push(run.commit([a]));
            if (step === 4) run.tick();
            if (step === 5) during.push(run.commit([b, d]));
          },
        }),
      );
      await Promise.all(during);
      await run.commit([c]);
      run.tick();
    },
  },
  {
    // A snapshot kept through two packs: the first relocates revisions a commit landed during it
    // still points at (the manifest's `relocated`), the reopen reads them back, the second packs
    // the relocated copies again; auto-rolls and a checkpoint wait in the queue meanwhile.
    name: 'two packs keeping an old snapshot, a reopen between them, rolls and a checkpoint queued',
    options: { segmentSize: 160, packSliceMs: 0 },
    setup: async (run) => {
      await freshDatabase(run);
      const [a, b, c] = run.oids as [number, number, number];
      await run.commit([a, b]);
      await run.commit([a]);
      const keep = run.ledger.at(-1)?.tid ?? 0;
      await run.commit([b, c]);
      run.packed = true;
      const during: Promise<void>[] = [];
      await run.call('pack()', (s) =>
        s.pack({
          keepTid: keep,
          onProgress: () => {
            if (during.length === 0) during.push(run.commit([a, c]));
          },
        }),
      );
      await Promise.all(during);
      await run.call('close()', (s) => s.close());
      await run.open();
    },
    workload: async (run) => {
      const [a, b, c, d] = run.oids as [number, number, number, number];
      const keep = run.ledger.find((e) => e.note === 'c2')?.tid ?? 0;
      await run.commit([b]);
      const during: Promise<void>[] = [];
      let step = 0;
      await run.call('pack()', (s) =>
        s.pack({
          keepTid: keep,
          onProgress: () => {
            step++;
            if (step === 1) during.push(run.call('checkpoint()', (t) => t.checkpoint()));
            if (step === 3) during.push(run.commit([a, d]));
          },
        }),
      );
      await Promise.all(during);
      await run.call('pack()', (s) => s.pack());
      await run.commit([c]);
    },
  },
  {
    // An aborted pack leaves a valid database; the next one finishes the job.
    name: 'a pack aborted midway, then a pack to the end',
    options: { segmentSize: 160, packSliceMs: 0 },
    workload: async (run) => {
      const [a, b, c] = run.oids as [number, number, number];
      await run.commit([a, b]);
      await run.commit([a]);
      await run.commit([b, c]);
      await run.commit([a]);
      run.packed = true;
      const abort = new AbortController();
      let copies = 0;
      await run.call('pack() aborted', (s) =>
        s.pack({
          signal: abort.signal,
          onProgress: ({ phase }) => {
            if (phase === 'copy' && ++copies === 3) abort.abort(new Error('hunt13: stop'));
          },
        }),
      );
      await run.commit([c]);
      await run.call('pack()', (s) => s.pack());
      await run.commit([b]);
    },
  },
  {
    // A packed log (several compacted segments, a checkpoint from the pack) damaged in its tail,
    // opened with recover: true, then packed again.
    name: 'open with recover: true over a packed log damaged in its tail, then pack',
    options: { segmentSize: 160, packSliceMs: 0 },
    setup: async (run) => {
      await freshDatabase(run);
      const [a, b, c] = run.oids as [number, number, number];
      await run.commit([a, b]);
      await run.commit([a]);
      run.packed = true;
      await run.call('pack()', (s) => s.pack());
      await run.commit([c]);
      run.dir.arm({ at: 1, kind: 'write', action: 'crash' });
      await run.commit([b]);
      run.storage = undefined;
      run.dir = run.dir.crashImage('torn-zeros');
    },
    workload: async (run) => {
      await run.open({ recover: true });
      await run.commit([run.oids[3] as number]);
      await run.call('pack()', (s) => s.pack());
      await run.commit([run.oids[0] as number]);
    },
  },
  ...(['strict', 'relaxed'] as const).map((durability) => ({
    name: `close, ${durability} durability`,
    options: durability === 'strict' ? {} : { durability },
    workload: async (run: Parameters<FaultPath['workload']>[0]) => {
      const [a, b] = run.oids as [number, number];
      await run.commit([a]);
      await run.commit([a, b]);
      run.closed = true;
      await run.call('close()', (s) => s.close());
    },
  })),
  {
    name: 'open after a crash: torn tail cut, leftover index removed',
    options: {},
    setup: async (run) => {
      const image = await crashedDatabase(run);
      const leftover = await image.open('index-000099.idx');
      leftover.write(0, new Uint8Array(64).fill(7));
      leftover.flush();
      leftover.close();
      run.dir = image;
    },
    workload: async (run) => {
      await run.open();
      await run.commit([run.oids[3] as number]);
    },
  },
  {
    name: 'open with recover: true over a damaged transaction',
    options: {},
    setup: async (run) => {
      const image = await crashedDatabase(run);
      // Damage c2 in the middle of the log: recover replaces it with a filler.
      const damaged = run.ledger.find((e) => e.note === 'c2');
      if (damaged !== undefined) damaged.status = 'discarded';
      const seg = image.contents().get('seg-000001.log') as Uint8Array;
      const marker = new TextEncoder().encode(`${run.oids[1]}:2:`);
      const at = indexOf(seg, marker);
      const file = await image.open('seg-000001.log');
      file.write(at, new Uint8Array([(seg[at] as number) ^ 0xff]));
      file.flush();
      file.close();
      run.dir = image;
    },
    workload: async (run) => {
      await run.open({ recover: true });
      await run.commit([run.oids[1] as number]);
    },
  },
];

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.byteLength <= haystack.byteLength; i++) {
    for (let j = 0; j < needle.byteLength; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('fault-paths: the damaged commit was not found in the log');
}

/**
 * ShelfStorage under injected faults: every path (fault-paths.ts) with a failure and a crash at
 * every operation, and a second failure or a crash right after each failed write, flush or truncate
 * (fault-harness.ts), checked as fault-checks.ts says. `npm test` runs one fixed seed;
 * `SHELF_FAULT_RUNS=<n>` runs n random seeds (each failure names its seed; rerun one with
 * `SHELF_FAULT_SEED=<seed>`; `SHELF_FAULT_LOG=<file>` appends every failure to the file). The summary line `faults injected: N` is the harness's report.
 *
 * KNOWN_FAILING (empty: every defect the harness found is fixed): a defect found and not fixed
 * yet, each with a repro test committed beside it. A failure matching an entry does not fail its
 * path's test; instead each entry has a test that fails once nothing matches it any more — remove
 * the entry then.
 */
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { FaultDirectory, type CrashModel } from './fault-directory.js';
import { runPath, formatFailure, type ScenarioFailure } from './fault-harness.js';
import { FAULT_PATHS } from './fault-paths.js';
import type { FailureCode } from './fault-run.js';

interface KnownFailure {
  /** The defect, and the test that reproduces it. */
  defect: string;
  repro: string;
  path: RegExp;
  mode?: 'fail' | 'crash' | 'none';
  codes: FailureCode[];
  /** Matched against the failure's message. */
  message?: RegExp;
}

const KNOWN_FAILING: KnownFailure[] = [];

const FIXED_SEED = 0x5e1f;
const runs = Number(process.env.SHELF_FAULT_RUNS ?? 0);
const seeds: number[] = process.env.SHELF_FAULT_SEED
  ? [Number(process.env.SHELF_FAULT_SEED)]
  : runs > 0
    ? Array.from({ length: runs }, () => Math.floor(Math.random() * 2 ** 31))
    : [FIXED_SEED];

function matches(known: KnownFailure, f: ScenarioFailure): boolean {
  return (
    known.path.test(f.path) &&
    (known.mode === undefined || known.mode === f.mode) &&
    known.codes.includes(f.code) &&
    (known.message === undefined || known.message.test(f.message))
  );
}

describe('ShelfStorage under injected faults', () => {
  const all: ScenarioFailure[] = [];
  const totals = { fails: 0, crashes: 0, images: 0, scenarios: 0 };

  beforeAll(() => {
    // Relaxed-durability flushes run on timers the workloads advance, so every run is repeatable.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterAll(() => {
    vi.useRealTimers();
    // eslint-disable-next-line no-console -- the harness's report (RELIABILITY.md's table)
    console.log(
      `faults injected: ${totals.fails + totals.crashes} (${totals.fails} failed operations, ${totals.crashes} crashes, ${totals.images} crash images reopened) over ${seeds.length} seed(s)`,
    );
  });

  for (const path of FAULT_PATHS) {
    it(
      `${path.name}: keeps every acknowledged commit through a failure or a crash at every operation`,
      async () => {
        const unexpected: string[] = [];
        for (const seed of seeds) {
          const result = await runPath(path, seed);
          totals.fails += result.failsInjected;
          totals.crashes += result.crashesInjected;
          totals.images += result.imagesChecked;
          all.push(...result.failures);
          for (const f of result.failures) {
            if (!KNOWN_FAILING.some((k) => matches(k, f))) unexpected.push(formatFailure(f));
          }
        }
        if (process.env.SHELF_FAULT_LOG) {
          appendFileSync(process.env.SHELF_FAULT_LOG, unexpected.map((u) => `${u}\n`).join(''));
        }
        if (runs > 0 && unexpected.length > 0) {
          // eslint-disable-next-line no-console -- a long run names the seeds that failed
          console.log(
            `failing seeds: ${[...new Set(unexpected.map((u) => u.slice(6, u.indexOf(']'))))].join(', ')}`,
          );
        }
        expect(unexpected.slice(0, 40), `${unexpected.length} failures`).toEqual([]);
      },
      600_000 * Math.max(1, runs),
    );
  }

  for (const known of KNOWN_FAILING) {
    it(`still fails as known: ${known.defect} (repro ${known.repro}; remove it from KNOWN_FAILING once fixed)`, () => {
      expect(all.some((f) => matches(known, f))).toBe(true);
    });
  }
});

describe('FaultDirectory', () => {
  const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

  it('fails the Nth operation as the platform would, partial write included, and works after it', async () => {
    const dir = new FaultDirectory(3);
    const file = await dir.open('a');
    dir.arm({ at: 2, action: 'fail' });
    file.write(0, bytes(1, 2));
    expect(() => file.write(2, bytes(3, 4, 5))).toThrow(
      expect.objectContaining({ name: 'QuotaExceededError' }),
    );
    expect(dir.injected).toMatchObject({ op: 'write', name: 'a', index: 2 });
    expect(file.size()).toBe(2 + (dir.injected?.partial ?? 0));
    dir.arm({ at: 1, kind: 'flush', action: 'fail' });
    expect(() => file.flush()).toThrow(expect.objectContaining({ code: 'EIO' }));
    file.flush();
    expect(dir.counts.flush).toBe(2);
  });

  it('injects a second fault after the first: a partial write whose undo fails too, then a crash', async () => {
    const dir = new FaultDirectory(4);
    const file = await dir.open('a');
    dir.arm({ at: 1, kind: 'write', action: 'fail', then: { after: 2, action: 'crash' } });
    expect(() => file.write(0, bytes(1, 2, 3))).toThrow();
    file.truncate(0); // the first operation after the fault works
    expect(() => file.flush()).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(dir.injected).toMatchObject({ op: 'write', index: 1 });
    expect(dir.secondInjected).toMatchObject({ op: 'flush', action: 'crash', index: 3 });
    expect(() => file.read(0, 1)).toThrow();
  });

  it('after a crash every operation throws, and crash images keep the flushed bytes under every model', async () => {
    const dir = new FaultDirectory(5);
    const file = await dir.open('a');
    file.write(0, bytes(1, 2, 3, 4));
    file.flush();
    file.write(2, bytes(9, 9, 9, 9));
    dir.arm({ at: 1, kind: 'flush', action: 'crash' });
    expect(() => file.flush()).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(() => file.read(0, 4)).toThrow();
    await expect(dir.list()).rejects.toThrow();
    const image = (model: CrashModel): number[] => [
      ...(dir.crashImage(model).contents().get('a') ?? []),
    ];
    expect(image('lost')).toEqual([1, 2, 3, 4]);
    expect(image('kept')).toEqual([1, 2, 9, 9, 9, 9]);
    for (const model of ['torn-old', 'torn-zeros', 'mixed'] as const) {
      for (let i = 0; i < 20; i++) {
        const torn = image(model);
        expect(torn.slice(0, 2)).toEqual([1, 2]); // flushed and not written since: always there
        for (let at = 2; at < torn.length; at++) expect([0, 3, 4, 9]).toContain(torn[at]);
      }
    }
  });

  it('keeps files past their handles and makes the same images from the same seed', async () => {
    const make = async (): Promise<FaultDirectory> => {
      const dir = new FaultDirectory(11);
      const file = await dir.open('a');
      file.write(0, new Uint8Array(64).fill(1));
      file.close();
      (await dir.open('a')).write(10, new Uint8Array(64).fill(2));
      dir.crash();
      return dir;
    };
    const [one, two] = [await make(), await make()];
    expect(one.openHandles()).toEqual(['a']);
    expect(one.crashImage('torn-zeros').contents()).toEqual(
      two.crashImage('torn-zeros').contents(),
    );
  });
});

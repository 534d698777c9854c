/**
 * Message fuzzing: real messages captured from a run of three tabs (every storage method, results,
 * errors, announcements) and of a page talking to its storage worker, mutated (types, ids,
 * versions, every argument: NaN, negative, fractional and string oids and tids, huge arrays,
 * flipped record bytes) or replaced by random values, and posted on every channel: the database
 * channel, the calls channel, each tab's answer channel, and both directions of the page↔worker
 * link (serveStorage/StorageClient over a Node MessageChannel). See message-fuzz-rounds.ts.
 *
 * What must hold: every call in flight while the strays arrive settles as it would have without
 * them, a normal commit and load afterwards succeed, and the storage never executes a malformed
 * call, or a close nobody asked for (InstrumentedStorage). Ids of strays are moved past any id
 * a tab asked (a stray answer to an id in flight is a spoof no protocol without secrets prevents).
 * `SHELF_FAULT_RUNS=<n>` runs n rounds with a random seed instead of the fixed default;
 * `SHELF_FAULT_DUMP=<file>` saves a failing round (v8-serialized) for a repro to replay.
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { serialize } from 'node:v8';
import { faultRuns, report } from './tab-chaos.js';
import {
  LINK_TARGETS,
  TAB_TARGETS,
  captureLink,
  captureTabs,
  linkRound,
  strayArb,
  tabRound,
  type RoundResult,
} from './message-fuzz-rounds.js';

/**
 * Classes of strays that trip a known defect not fixed yet, as `<target>:<kind>` where kind is the
 * parsed type (`call:<method>` for calls) or `malformed`: not posted until the fix lands. Each
 * entry needs a repro test committed beside it. Empty now: every defect the fuzzer found is fixed.
 */
const KNOWN_FAILING: readonly string[] = [];

/** Saves a failing round for a repro (SHELF_FAULT_DUMP), and fails with its problems. */
function judge(result: RoundResult, round: unknown): void {
  if (result.problems.length === 0) return;
  const dump = process.env.SHELF_FAULT_DUMP;
  if (dump) writeFileSync(dump, serialize(round));
  throw new Error(result.problems.join('\n'));
}

describe('messages on every channel, random and mutated', () => {
  const { seed, numRuns, long, path } = faultRuns(40);
  const skip = new Set(KNOWN_FAILING);
  const options = { seed, numRuns, ...(path ? { path } : {}), endOnFailure: long };
  const timeout = long ? 24 * 3600_000 : 60_000;

  it(
    'never fail a call in flight, stop a tab working, or reach the storage malformed (tabs)',
    async () => {
      const captured = await captureTabs();
      const totals = { runs: 0, fuzzed: 0, leftOut: 0 };
      report(`message-fuzz (tabs): seed ${seed}, ${numRuns} rounds, ${captured.length} captured`);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(strayArb(captured, TAB_TARGETS), { minLength: 5, maxLength: 60 }),
            fc.boolean(),
            async (strays, freeze) => {
              const result = await tabRound(strays, freeze, skip);
              totals.runs++;
              totals.fuzzed += result.fuzzed;
              totals.leftOut += result.leftOut;
              judge(result, { kind: 'tabs', strays, freeze });
            },
          ),
          options,
        );
      } catch (error) {
        report(`message-fuzz (tabs): FAILED with seed ${seed}`);
        throw error;
      } finally {
        report(
          `message-fuzz (tabs): ${totals.runs} rounds, ${totals.fuzzed} messages fuzzed, ${totals.leftOut} left out as known failing`,
        );
      }
    },
    timeout,
  );

  it(
    'never fail a call in flight, stop the page working, or reach the storage malformed (page and worker)',
    async () => {
      const captured = await captureLink();
      const totals = { runs: 0, fuzzed: 0, leftOut: 0 };
      report(`message-fuzz (link): seed ${seed}, ${numRuns} rounds, ${captured.length} captured`);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(strayArb(captured, LINK_TARGETS), { minLength: 5, maxLength: 60 }),
            async (strays) => {
              const result = await linkRound(strays, skip);
              totals.runs++;
              totals.fuzzed += result.fuzzed;
              totals.leftOut += result.leftOut;
              judge(result, { kind: 'link', strays });
            },
          ),
          options,
        );
      } catch (error) {
        report(`message-fuzz (link): FAILED with seed ${seed}`);
        throw error;
      } finally {
        report(
          `message-fuzz (link): ${totals.runs} rounds, ${totals.fuzzed} messages fuzzed, ${totals.leftOut} left out as known failing`,
        );
      }
    },
    timeout,
  );
});

/**
 * The fault-injection harness: runs one FaultPath with a fault at every operation N from 1 to the
 * number of operations its workload makes — a FAIL (the operation throws, the process goes on) and
 * a CRASH (the process dies there; every crash model's image is reopened) — and checks each with
 * fault-checks.ts. A crash after the whole workload (N = last + 1) and a run without any fault
 * are checked too.
 *
 * Double faults: after each failed write, flush or truncate, a second failure at each of the next
 * DOUBLE_REACH operations (the undo's truncate and flush, a publish's slot invalidation) and a
 * crash at the next one. A storage may stop writing then (its undo failed: the log is `broken`);
 * it must refuse the next commit with a definite error, close, and reopen with everything
 * acknowledged.
 */
import { vi } from 'vitest';
import {
  CRASH_MODELS,
  FaultDirectory,
  type FaultOp,
  type FaultPlan,
  type Injected,
} from './fault-directory.js';
import { checkErrors, checkImage, checkLedger } from './fault-checks.js';
import { Run, describeError, isDefinitive, type Failure } from './fault-run.js';
import { freshDatabase, type FaultPath } from './fault-paths.js';

export interface ScenarioFailure extends Failure {
  path: string;
  mode: 'none' | 'fail' | 'crash';
  /** The operation faulted (1-based, among all operations of the workload). */
  at: number;
  seed: number;
  /** Where, for the report: the operation and file, the crash image or check. */
  where: string;
}

/** A second fault is tried at each of this many operations after a failed one. */
const DOUBLE_REACH = 2;
/** The operations a failure of which the storage undoes (where a second fault matters). */
const UNDONE: readonly FaultOp[] = ['write', 'flush', 'truncate'];

export interface PathResult {
  failures: ScenarioFailure[];
  /** Faults that hit an operation: failures injected, and crashes. */
  failsInjected: number;
  crashesInjected: number;
  /** Crash images reopened and checked. */
  imagesChecked: number;
  /** Operations the workload makes without faults. */
  operations: number;
}

export async function runPath(path: FaultPath, seed: number): Promise<PathResult> {
  const result: PathResult = {
    failures: [],
    failsInjected: 0,
    crashesInjected: 0,
    imagesChecked: 0,
    operations: 0,
  };
  const dry = await runScenario(path, seed, undefined, result);
  result.operations = dry.operations;
  for (let at = 1; at <= dry.operations + 1; at++) {
    if (at <= dry.operations) {
      await runScenario(path, seed, { at, action: 'fail' }, result);
      if (dry.grows[at - 1] === true) {
        await runScenario(path, seed, { at, action: 'fail', error: 'eio' }, result);
      }
    }
    await runScenario(path, seed, { at, action: 'crash' }, result);
  }
  for (let at = 1; at <= dry.operations; at++) {
    if (!UNDONE.includes(dry.kinds[at - 1] as FaultOp)) continue;
    for (let after = 1; after <= DOUBLE_REACH; after++) {
      await runScenario(
        path,
        seed,
        { at, action: 'fail', then: { after, action: 'fail' } },
        result,
      );
    }
    await runScenario(
      path,
      seed,
      { at, action: 'fail', then: { after: 1, action: 'crash' } },
      result,
    );
  }
  return result;
}

/** Runs the path once with `plan`; appends what failed to `result`. */
async function runScenario(
  path: FaultPath,
  seed: number,
  plan: FaultPlan | undefined,
  result: PathResult,
): Promise<{ operations: number; grows: boolean[]; kinds: FaultOp[] }> {
  const run = new Run(new FaultDirectory(seed), path.options, seed);
  const failures: Failure[] = [];
  let injected: Injected | undefined;
  let second: Injected | undefined;
  try {
    if (path.setup !== undefined) await path.setup(run);
    else await freshDatabase(run);
    run.failures.length = 0;
    run.errors.length = 0;
    run.background.length = 0;
    run.dir.arm(plan);
    await path.workload(run);
    failures.push(...run.failures);
    const operations = run.dir.operations;
    injected = run.dir.injected;
    const grows = [...run.dir.grows];
    const kinds = [...run.dir.kinds];
    second = run.dir.secondInjected;
    if (second !== undefined) {
      if (second.action === 'crash') result.crashesInjected++;
      else result.failsInjected++;
    }
    if (plan?.action === 'crash' || second?.action === 'crash') {
      if (plan?.action === 'crash' && run.dir.injected !== undefined) result.crashesInjected++;
      if (plan?.action === 'fail' && run.dir.injected !== undefined) result.failsInjected++;
      run.dir.crash();
      const rules = { crash: true, flushesAtCrash: run.dir.flushCount('seg-') };
      for (const model of CRASH_MODELS) {
        result.imagesChecked++;
        const image = run.dir.crashImage(model);
        failures.push(...(await checkImage(run, image, rules, `crash image '${model}'`)));
      }
    } else {
      if (run.dir.injected !== undefined) result.failsInjected++;
      failures.push(...(await afterFailure(run, injected, second !== undefined)));
    }
    return { operations, grows, kinds };
  } finally {
    vi.clearAllTimers();
    const mode = plan === undefined ? 'none' : plan.action;
    const where =
      injected === undefined
        ? plan === undefined
          ? 'no fault'
          : `op ${plan.at} (not reached)`
        : `op ${injected.index}: ${describeInjected(injected)}${plan?.error === 'eio' ? ' as EIO' : ''}${second === undefined ? '' : `, then ${second.action.toUpperCase()} at op ${second.index}: ${describeInjected(second)}`}`;
    for (const f of failures) {
      result.failures.push({ ...f, path: path.name, mode, at: plan?.at ?? 0, seed, where });
    }
  }
}

function describeInjected(i: Injected): string {
  return `${i.op} ${i.name}${i.partial === undefined ? '' : ` (${i.partial} bytes written)`}`;
}

/**
 * After a FAIL (or no fault): the errors were right, the live storage still works and holds the
 * ledger, a crash now loses nothing acknowledged, and closing and reopening does not either.
 */
async function afterFailure(
  run: Run,
  injected: Injected | undefined,
  double: boolean,
): Promise<Failure[]> {
  const failures: Failure[] = [];
  run.dir.arm();
  if (run.storage === undefined && !run.closed) {
    // Opening failed: the fault is spent; opening again must work.
    await run.open(run.openedWith);
    if (run.storage === undefined) {
      const last = run.errors.at(-1);
      failures.push({
        code: 'open-retry',
        message: `opening again after the failure threw ${describeError(last?.error)}`,
      });
    }
  }
  if (double && run.storage !== undefined && !run.closed && run.storage.log.broken !== undefined) {
    // The second fault hit an undo: the storage stopped writing. It says so, and reopens whole.
    await run.commit([run.oids[2] as number]);
    const entry = run.ledger.at(-1);
    if (entry?.status !== 'rejected' || !isDefinitive(entry.error)) {
      failures.push({
        code: 'live-broken',
        message: `a storage stopped after a failed undo: the next commit ${entry?.status === 'acked' ? 'was acknowledged' : `failed with ${describeError(entry?.error)}, not a definite refusal`}`,
      });
    }
    const rules = { crash: true, flushesAtCrash: run.dir.flushCount('seg-') };
    failures.push(
      ...(await checkImage(run, run.dir.crashImage('lost'), rules, `crash after the failure`)),
    );
    await run.call('close()', (s) => s.close());
  } else if (run.storage !== undefined && !run.closed) {
    const live = run.storage;
    await run.commit([run.oids[2] as number]);
    const entry = run.ledger.at(-1);
    if (entry?.status !== 'acked') {
      failures.push({
        code: 'live-broken',
        message: `live storage: the next commit failed with ${describeError(entry?.error)}`,
      });
    }
    for (const f of await checkLedger(run, live, { crash: false, flushesAtCrash: 0 })) {
      failures.push({ code: 'live-broken', message: `live storage: ${f.message}` });
    }
    run.tick();
    const rules = { crash: true, flushesAtCrash: run.dir.flushCount('seg-') };
    failures.push(
      ...(await checkImage(run, run.dir.crashImage('lost'), rules, `crash after the failure`)),
    );
    await run.call('close()', (s) => s.close());
  }
  failures.push(...checkErrors(run, injected, double));
  const handles = run.dir.openHandles();
  if (handles.length > 0) {
    failures.push({
      code: 'leaked-handles',
      message: `after close, handles are still open on ${handles.join(', ')}`,
    });
  }
  failures.push(
    ...(await checkImage(
      run,
      run.dir,
      { crash: false, flushesAtCrash: 0 },
      'reopened after close',
    )),
  );
  return failures;
}

/** One line per failure, for assertion messages and the long-run log. */
export function formatFailure(f: ScenarioFailure): string {
  return `[seed ${f.seed}] ${f.path} — ${f.mode.toUpperCase()} at ${f.where} — ${f.code}: ${f.message}`;
}

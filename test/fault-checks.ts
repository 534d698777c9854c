/**
 * What the fault-injection harness asserts after each injected fault (rules in fault-run.ts):
 * (1) reopening succeeds, or refuses with CorruptStorageError and changes no byte (then
 *     `recover: true` must open it and the checks go on there);
 * (2) every acknowledged commit is there exactly once, under its tid, with its states;
 * (3) no definitively rejected commit is there, and none is there in part;
 * (4) verify() is ok; no oid handed out is handed out again;
 * (5) the next commit works and survives another crash.
 */
import { CorruptStorageError, StorageBusyError, StorageFullError } from '../src/index.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import type { FaultDirectory, Injected } from './fault-directory.js';
import {
  CLASS_NAME,
  describeError,
  isDefinitive,
  stateText,
  type Entry,
  type Failure,
  type Run,
} from './fault-run.js';

/** How strictly a storage is held to the ledger. */
export interface Rules {
  /** A crash happened: relaxed commits count only if a segment flush followed their ack. */
  crash: boolean;
  /** Successful segment flushes when the crash happened. */
  flushesAtCrash: number;
}

/** Entries whose presence is required under `rules`. */
function required(run: Run, entry: Entry, rules: Rules): boolean {
  if (entry.status !== 'acked') return false;
  if (entry.durable === true || !rules.crash || !run.relaxed) return true;
  return rules.flushesAtCrash > (entry.flushesAtAck ?? Infinity);
}

/** Checks (2) and (3) on an open storage; returns the failures found. */
export async function checkLedger(
  run: Run,
  storage: ShelfStorage,
  rules: Rules,
  extra: Entry[] = [],
): Promise<Failure[]> {
  const failures: Failure[] = [];
  const ledger = [...run.ledger, ...extra];
  let txns;
  try {
    txns = await storage.transactions();
  } catch (error) {
    return [{ code: 'read-error', message: `transactions() threw ${describeError(error)}` }];
  }
  const byNote = new Map<string, { tid: number; oids: number[] }>();
  const known = new Set(ledger.map((e) => e.note));
  for (const t of txns) {
    if (!known.has(t.note)) {
      failures.push({
        code: 'phantom',
        message: `a transaction nobody committed: ${t.note} (tid ${t.tid})`,
      });
    } else if (byNote.has(t.note)) {
      failures.push({
        code: 'duplicate',
        message: `${t.note} is stored twice (tids ${byNote.get(t.note)?.tid} and ${t.tid})`,
      });
    } else byNote.set(t.note, { tid: t.tid, oids: t.oids });
  }
  for (const entry of ledger) {
    const found = byNote.get(entry.note);
    const acked = entry.status === 'acked' ? ` (acknowledged as tid ${entry.tid})` : '';
    if (found === undefined) {
      if (required(run, entry, rules))
        failures.push({
          code: 'lost',
          message: `acknowledged commit ${entry.note}${acked} is gone`,
        });
      continue;
    }
    if (entry.status === 'discarded') {
      failures.push({
        code: 'rejected-present',
        message: `${entry.note} was damaged on purpose, yet it is there`,
      });
    }
    if (entry.status === 'acked' && found.tid !== entry.tid) {
      failures.push({
        code: 'wrong-tid',
        message: `${entry.note}${acked} is stored as tid ${found.tid}`,
      });
    }
    if (entry.status === 'rejected' && isDefinitive(entry.error)) {
      failures.push({
        code: 'rejected-present',
        message: `${entry.note} is stored (tid ${found.tid}) although its commit was rejected with ${describeError(entry.error)}`,
      });
    }
    const wanted = [...entry.oids].sort((a, b) => a - b);
    const got = [...found.oids].sort((a, b) => a - b);
    const whole = run.packed
      ? got.every((oid) => wanted.includes(oid))
      : got.join() === wanted.join();
    if (!whole) {
      failures.push({ code: 'half', message: `${entry.note} holds oids [${got}] of [${wanted}]` });
    }
  }
  // The log has no holes: an acknowledged commit gone means every later one is gone too.
  const acked = ledger
    .filter((e) => e.status === 'acked')
    .sort((a, b) => (a.tid as number) - (b.tid as number));
  const firstGone = acked.find((e) => !byNote.has(e.note));
  const laterHere =
    firstGone === undefined
      ? undefined
      : acked.find((e) => (e.tid as number) > (firstGone.tid as number) && byNote.has(e.note));
  if (firstGone !== undefined && laterHere !== undefined) {
    failures.push({
      code: 'hole',
      message: `${firstGone.note} is gone but the later ${laterHere.note} is there`,
    });
  }
  // Each object holds the state of the newest commit present that wrote it.
  const universe = new Set([...run.universe, ...extra.flatMap((e) => e.oids)]);
  for (const oid of [...universe].sort((a, b) => a - b)) {
    let newest: { k: number | string; tid: number } | undefined;
    for (const entry of ledger) {
      const found = byNote.get(entry.note);
      if (found === undefined || !entry.oids.includes(oid)) continue;
      if (newest === undefined || found.tid > newest.tid) {
        newest = { k: entry.note.startsWith('c') ? entry.k : entry.note, tid: found.tid };
      }
    }
    let loaded;
    try {
      loaded = await storage.load([oid]);
    } catch (error) {
      failures.push({
        code: 'read-error',
        message: `load([${oid}]) threw ${describeError(error)}`,
      });
      continue;
    }
    const text = loaded[0] === undefined ? undefined : new TextDecoder().decode(loaded[0].state);
    const want = newest === undefined ? undefined : stateText(oid, newest.k, run.seed);
    if (text !== want || (loaded[0] !== undefined && loaded[0].className !== CLASS_NAME)) {
      failures.push({
        code: 'wrong-state',
        message: `oid ${oid} holds ${JSON.stringify(text)}, expected ${JSON.stringify(want)}`,
      });
    }
  }
  return failures;
}

/** Checks (1)–(5) on a directory as a fresh process finds it; failures are tagged with `label`. */
export async function checkImage(
  run: Run,
  image: FaultDirectory,
  rules: Rules,
  label: string,
): Promise<Failure[]> {
  const failures: Failure[] = [];
  const tag = (list: Failure[]): Failure[] =>
    list.map((f) => ({ code: f.code, message: `${label}: ${f.message}` }));
  const before = image.contents();
  const opts = {
    ...run.storageOptions(),
    durability: 'strict' as const,
    checkpointEvery: undefined,
  };
  let storage: ShelfStorage;
  try {
    storage = await ShelfStorage.open(image, opts);
  } catch (error) {
    if (!(error instanceof CorruptStorageError)) {
      failures.push({ code: 'reopen-error', message: `reopening threw ${describeError(error)}` });
    }
    if (!sameContents(before, image.contents())) {
      failures.push({
        code: 'refusal-changed-files',
        message: `reopening refused (${describeError(error)}) but changed the files`,
      });
    }
    try {
      storage = await ShelfStorage.open(image, { ...opts, recover: true });
    } catch (again) {
      failures.push({
        code: 'recover-failed',
        message: `reopening with recover: true threw ${describeError(again)}`,
      });
      return tag(failures);
    }
  }
  try {
    const report = await storage.verify();
    if (!report.ok) {
      failures.push({
        code: 'verify',
        message: `verify(): ${report.problems.map((p) => p.message).join('; ')}`,
      });
    }
  } catch (error) {
    failures.push({ code: 'verify', message: `verify() threw ${describeError(error)}` });
  }
  failures.push(...(await checkLedger(run, storage, rules)));
  try {
    const [fresh] = await storage.newOids(1);
    if (fresh === undefined || fresh <= run.handedOut) {
      failures.push({
        code: 'oid-reused',
        message: `newOids() handed out ${fresh} again (up to ${run.handedOut} were handed out)`,
      });
    }
  } catch (error) {
    failures.push({ code: 'next-commit', message: `newOids(1) threw ${describeError(error)}` });
  }
  failures.push(...(await nextCommitSurvives(run, storage, image, rules)));
  await storage
    .close()
    .catch((error: unknown) =>
      failures.push({ code: 'next-commit', message: `close() threw ${describeError(error)}` }),
    );
  return tag(failures);
}

/** (5): a commit on the reopened storage lands and is there after another crash. */
async function nextCommitSurvives(
  run: Run,
  storage: ShelfStorage,
  dir: FaultDirectory,
  rules: Rules,
): Promise<Failure[]> {
  const oid = run.oids[0] ?? 0;
  const next: Entry = { k: -1, note: 'next', oids: [oid], status: 'pending', durable: true };
  try {
    // Based on what the reopened storage holds, as a new connection's commit would be.
    const current = (await storage.load([oid]))[0];
    next.tid = await storage.commit({
      baseTid: (await storage.sync(Number.MAX_SAFE_INTEGER)).tid,
      records: [
        {
          oid,
          className: CLASS_NAME,
          state: new TextEncoder().encode(stateText(oid, 'next', run.seed)),
          refs: [],
          ...(current === undefined ? {} : { tid: current.tid }),
        },
      ],
      note: 'next',
    });
    next.status = 'acked';
  } catch (error) {
    return [{ code: 'next-commit', message: `the next commit threw ${describeError(error)}` }];
  }
  const image = dir.crashImage('lost');
  let again: ShelfStorage;
  try {
    again = await ShelfStorage.open(image, { ...run.storageOptions(), durability: 'strict' });
  } catch (error) {
    return [
      {
        code: 'next-commit-lost',
        message: `after the next commit and a crash, reopening threw ${describeError(error)}`,
      },
    ];
  }
  const failures = (await checkLedger(run, again, rules, [next])).map((f) => ({
    code: f.code,
    message: `after the next commit and a crash: ${f.message}`,
  }));
  await again.close().catch((error: unknown) =>
    failures.push({
      code: 'next-commit',
      message: `close() after the next commit threw ${describeError(error)}`,
    }),
  );
  return failures;
}

/** FAIL mode: the errors the workload saw are of the right classes, and none was swallowed. */
export function checkErrors(
  run: Run,
  injected: Injected | undefined,
  /** Whether a second fault hit an undo: "not known" and "stopped" then stand for a full disk. */
  double = false,
): Failure[] {
  const failures: Failure[] = [];
  const all = [
    ...run.errors.map((e) => ({ where: e.call, error: e.error })),
    ...run.background.map((e) => ({ where: e.via, error: e.error })),
  ];
  for (const { where, error } of all) {
    const name = (error as { name?: string })?.name;
    if (double && (error instanceof StorageBusyError || stoppedAfterUndo(run, error))) continue;
    if (name === 'QuotaExceededError') {
      failures.push({
        code: 'error-class',
        message: `${where}: a raw QuotaExceededError reached the caller (must be StorageFullError)`,
      });
    } else if (error instanceof RangeError || error instanceof TypeError) {
      failures.push({ code: 'error-class', message: `${where}: ${describeError(error)}` });
    } else if (causedByQuota(error) && !(error instanceof StorageFullError)) {
      failures.push({
        code: 'error-class',
        message: `${where}: a full disk reported as ${describeError(error)} (must be StorageFullError)`,
      });
    }
  }
  for (const { via, error } of run.background) {
    if (via !== 'subscribeErrors') {
      failures.push({
        code: 'escaped',
        message: `${via}: ${describeError(error)} (errors nobody awaits go to subscribeErrors)`,
      });
    }
  }
  // A failure the storage retried with success (a group commit rewritten one commit at a time)
  // needs no report; any other must reach a caller or subscribeErrors.
  if (injected !== undefined && injected.retried !== true && all.length === 0) {
    failures.push({
      code: 'swallowed',
      message: `the injected failure of ${injected.op} ${injected.name} was reported nowhere`,
    });
  }
  return failures;
}

/** The error of a storage that stopped writing after a failed undo (its cause: the log's failure). */
function stoppedAfterUndo(run: Run, error: unknown): boolean {
  const broken = run.storage?.log.broken;
  return broken !== undefined && (error as { cause?: unknown })?.cause === broken;
}

function causedByQuota(error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if ((e as { name?: string }).name === 'QuotaExceededError') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

function sameContents(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if ([...a.keys()].join() !== [...b.keys()].join()) return false;
  for (const [name, bytes] of a) {
    const other = b.get(name) as Uint8Array;
    if (other.byteLength !== bytes.byteLength || other.some((v, i) => v !== bytes[i])) return false;
  }
  return true;
}

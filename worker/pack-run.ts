/**
 * PackRun: what a running pack is handed by StorageCore — its abort signal and progress listener
 * (SharedPack's: every caller that joined hears through it), where it announces what it removed,
 * and the time slices it works in.
 *
 * A pack works in slices of at most SLICE_MS of thread time and yields between them (`pause`), so
 * loads and commits queued meanwhile are served: the storage keeps serving during the whole pack.
 * Each pause is also where an abort is noticed, at a step that leaves the database valid.
 */
import type { PackProgress } from '../src/shared/storage.js';

/**
 * The longest a pack works before it lets other calls run. A commit arriving meanwhile waits for
 * the slice to end: half a slice on average, so a slice about as long as a small commit keeps
 * commits during a pack within about twice their time without (BENCHMARKS.md, "Pack").
 */
export const SLICE_MS = 1;

/**
 * A slice for storages whose slices are transactions of their own (IndexedDB): each costs about a
 * millisecond to begin and commit, so they aim longer.
 */
export const TRANSACTION_SLICE_MS = 4;

/** Progress is reported at most this often (a progress bar needs no more). */
export const PROGRESS_MS = 4;

/** What a PackRun is made with; every part optional (tests make bare runs). */
export interface PackRunOptions {
  /** Aborts the pack at its next pause. */
  signal?: AbortSignal | undefined;
  /** Hears how far the pack is (see `progress`). */
  onProgress?: ((progress: PackProgress) => void) | undefined;
  /** Where a progress listener's failure goes (it never stops the pack). */
  onListenerError?: (error: unknown) => void;
  /** The slice length (tests use 0: a pause, and a progress report, after every step). */
  sliceMs?: number | undefined;
  /** Announces objects the pack removed, once their removal is stored (as of tid `tid`). */
  removed?: (tid: number, oids: number[]) => void;
}

export class PackRun {
  /** Aborts the pack at its next pause. */
  readonly signal: AbortSignal | undefined;
  /** Announces objects the pack removed, once their removal is stored (as of tid `tid`). */
  readonly removed: (tid: number, oids: number[]) => void;
  private readonly onProgress: ((progress: PackProgress) => void) | undefined;
  private readonly onListenerError: (error: unknown) => void;
  private readonly sliceMs: number;
  private sliceStart = now();
  /**
   * The hashes of the blob files the pack keeps: those of the blob records its mark found live,
   * and of those carried by commits accepted while it ran. StorageCore sweeps every other blob
   * file once the pack has published its result (blob-guard.ts).
   */
  readonly blobs = new Set<string>();
  /** Why the storage stopped the pack (it is closing), if it did. */
  private stopped: { reason: unknown } | undefined;
  private lastReport = 0;

  constructor(options: PackRunOptions = {}) {
    this.signal = options.signal;
    this.onProgress = options.onProgress;
    this.onListenerError = options.onListenerError ?? (() => {});
    this.sliceMs = options.sliceMs ?? SLICE_MS;
    this.removed = options.removed ?? (() => {});
  }

  /** True once the current slice has used its time: the pack should `pause` at its next step. */
  get sliceOver(): boolean {
    return now() - this.sliceStart >= this.sliceMs;
  }

  /**
   * Ends the slice: lets every task queued meanwhile run (a macrotask, so the storage's own
   * messages are served), then starts the next one.
   * @throws the signal's reason when the pack was aborted.
   */
  async pause(): Promise<void> {
    this.check();
    // Two turns: a commit that arrives in the first schedules its flush as a task (GroupCommit,
    // while packing), which then runs in the second, before the pack goes on.
    await yieldToTasks();
    await yieldToTasks();
    this.check();
    this.sliceStart = now();
  }

  /** Keeps the blob file named `hash` (undefined: nothing to keep). */
  keepBlob(hash: string | undefined): void {
    if (hash !== undefined) this.blobs.add(hash);
  }

  /** Throws the signal's reason when the pack was aborted, or the storage's when it stopped it. */
  check(): void {
    this.signal?.throwIfAborted();
    if (this.stopped !== undefined) throw this.stopped.reason;
  }

  /** Stops the pack at its next pause with `reason` (the storage is closing). */
  stop(reason: unknown): void {
    this.stopped ??= { reason };
  }

  /**
   * Tells the listener how far the pack is; within a phase at most every PROGRESS_MS (every
   * slice, when slices are shorter: tests), `force` for the last report of a phase.
   */
  progress(phase: PackProgress['phase'], done: number, total: number, force = false): void {
    const listener = this.onProgress;
    if (listener === undefined) return;
    const t = now();
    if (!force && t - this.lastReport < Math.min(PROGRESS_MS, this.sliceMs)) return;
    this.lastReport = t;
    try {
      listener({ phase, done, total });
    } catch (error) {
      this.onListenerError(error);
    }
  }
}

function now(): number {
  return performance.now();
}

/**
 * A macrotask turn, after the tasks already queued (the storage's messages among them): Node's
 * `setImmediate`, else a MessageChannel message — not `setTimeout(0)`, which browsers clamp to
 * 4 ms once nested, and would halve the pack's speed.
 */
export function yieldToTasks(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (run: () => void) => void }).setImmediate;
  if (immediate !== undefined) return new Promise((resolve) => immediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

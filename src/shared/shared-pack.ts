/**
 * The pack callers join, with their own abort signals and progress listeners: used by every link
 * (ForwardingStorage), by the owning tab (worker/tab-serving.ts) and by the storages themselves
 * (worker/storage-core.ts), so the rule below holds wherever a pack is asked for.
 */
import type { PackOptions, PackProgress, PackResult, Tid } from './storage.js';

/** A pack that callers joined: what SharedPack keeps of it. */
interface JoinedPack {
  /** Aborted once no caller waits for the pack any more: the pack stops at its next step. */
  readonly controller: AbortController;
  /** The progress listeners of the callers waiting (one wrapper per caller). */
  readonly listeners: Set<(progress: PackProgress) => void>;
  /** Callers waiting for the outcome. */
  waiters: number;
  /** The pack's outcome. */
  readonly done: Promise<PackResult>;
}

/**
 * SharedPack: the one pack that every caller of `join` on this side waits for, each with its own
 * abort signal and progress listener. The rule, the same on every link and in the owning tab
 * (worker/tab-serving.ts uses it too):
 * - a call while a pack runs joins it: it resolves with that pack's result (the contract) and
 *   hears its progress from then on;
 * - aborting a caller's signal rejects that caller at once with the signal's reason and takes it
 *   out; the pack itself is asked to stop (the signal `start` got aborts) once no caller waits for
 *   it any more. So a pack that another page or tab joined — an autoPack, which never aborts —
 *   keeps running for it, and nobody gets an AbortError they did not ask for;
 * - a pack asked for while an abandoned one is still stopping starts after that one settled, not
 *   joining it (it would reject with an abort nobody asked of it).
 */
export class SharedPack {
  /** The pack callers join now; undefined when none runs, or the last one was abandoned. */
  private joined: JoinedPack | undefined;
  /** Settles when the last abandoned pack has settled: the next one starts after it. */
  private stopping: Promise<void> | undefined;

  constructor(
    /** Starts a pack (given the first caller's keepTid, the shared signal and progress). */
    private readonly start: (options: PackOptions) => Promise<PackResult>,
    /** Where a progress listener's failure goes (it fails neither the pack nor other listeners). */
    private readonly onListenerError: (error: unknown) => void,
  ) {}

  /** Joins the running pack, or starts one. Rejects at once with the reason of `options.signal`. */
  join(options: PackOptions = {}): Promise<PackResult> {
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const pack = this.joined ?? this.begin(options.keepTid);
    pack.waiters++;
    // A wrapper of its own: the same function joining twice is two listeners, each removed apart.
    const listener = onProgress && ((progress: PackProgress) => onProgress(progress));
    if (listener !== undefined) pack.listeners.add(listener);
    return new Promise<PackResult>((resolve, reject) => {
      const leave = (): void => {
        if (listener !== undefined) pack.listeners.delete(listener);
        signal?.removeEventListener('abort', aborted);
      };
      const aborted = (): void => {
        leave();
        reject(signal?.reason);
        if (--pack.waiters === 0) this.abandon(pack, signal?.reason);
      };
      signal?.addEventListener('abort', aborted, { once: true });
      pack.done.then(
        (result) => {
          leave();
          resolve(result);
        },
        (error: unknown) => {
          leave();
          reject(error);
        },
      );
    });
  }

  private begin(keepTid: Tid | undefined): JoinedPack {
    const controller = new AbortController();
    const listeners = new Set<(progress: PackProgress) => void>();
    const onProgress = (progress: PackProgress): void => {
      for (const listener of listeners) {
        try {
          listener(progress);
        } catch (error) {
          this.onListenerError(error);
        }
      }
    };
    const options: PackOptions = {
      ...(keepTid === undefined ? {} : { keepTid }),
      signal: controller.signal,
      onProgress,
    };
    const before = this.stopping;
    // Started now when nothing is stopping, so the call goes out in this turn (before a close).
    const done =
      before === undefined
        ? new Promise<PackResult>((resolve) => resolve(this.start(options)))
        : before.then(() => this.start(options));
    const pack: JoinedPack = { controller, listeners, waiters: 0, done };
    this.joined = pack;
    const end = (): void => {
      if (this.joined === pack) this.joined = undefined;
    };
    done.then(end, end); // its failure reaches every waiter through `done`
    return pack;
  }

  /** No caller waits for `pack` any more: it is asked to stop, and a new pack waits for it. */
  private abandon(pack: JoinedPack, reason: unknown): void {
    if (this.joined === pack) this.joined = undefined;
    // Its outcome went to its callers, who have all left: only its end matters here.
    const stopped = pack.done.then(
      () => undefined,
      () => undefined,
    );
    this.stopping = stopped;
    void stopped.then(() => {
      if (this.stopping === stopped) this.stopping = undefined;
    });
    pack.controller.abort(reason);
  }
}

/**
 * ProgressBatch: a pack's progress as the side running it sends it over a link (to the page from
 * its storage worker, worker/storage-server.ts; to another tab from the owner,
 * worker/tab-serving.ts): at most one message every PROGRESS_MS (PERFORMANCE.md: batch every
 * crossing of postMessage), each holding the reports made since the last one.
 *
 * Within a phase a report supersedes the one before it (`done` of `total` so far), so a batch keeps
 * only the newest report of each run of one phase: a few reports per message (one per phase the
 * slice touched), never more than MAX_PROGRESS_BATCH. The caller `flush`es before it answers the
 * pack call, so the last report ('done') arrives before the answer.
 */
import { MAX_PROGRESS_BATCH } from '../src/shared/storage-calls.js';
import type { PackProgress } from '../src/shared/storage.js';
import { PROGRESS_MS } from './pack-run.js';

export class ProgressBatch {
  /** Reports not sent yet, oldest first. */
  private pending: PackProgress[] = [];
  /** When the last batch was sent (performance.now()). */
  private lastSent = -Infinity;
  /** Set while a send waits for the rest of the slice. */
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    /** Sends one batch (one message). */
    private readonly send: (progress: PackProgress[]) => void,
  ) {}

  /** Takes one report in: sent now when no batch went out this slice, else with the next one. */
  add(progress: PackProgress): void {
    const last = this.pending.length - 1;
    if (this.pending[last]?.phase === progress.phase) this.pending[last] = { ...progress };
    else this.pending.push({ ...progress });
    if (this.pending.length >= MAX_PROGRESS_BATCH) {
      this.flush();
      return;
    }
    if (this.timer !== undefined) return;
    const wait = this.lastSent + PROGRESS_MS - performance.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Sends what is pending now (before the pack call's answer). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.lastSent = performance.now();
    this.send(batch);
  }
}

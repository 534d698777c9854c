/**
 * CallQueue: a connection's boundary calls (commit, abort, sync, making the root) run one at a
 * time, in the order they were made. Each may move the snapshot or change what the next commit
 * writes, so none may interleave with another.
 *
 * A call made while none is queued starts synchronously: a commit captures the app's objects as
 * they are at the call, not as they are a tick later.
 */
export class CallQueue {
  /** Settles when the last call queued has. */
  private last: Promise<unknown> = Promise.resolve();
  /** How many calls are queued or running. */
  private queued = 0;
  /** A call is running (not merely queued). */
  private running = false;

  /** @param settled runs after each call settles (the connection applies what it queued). */
  constructor(private readonly settled: () => void) {}

  /** A call is running. */
  get busy(): boolean {
    return this.running;
  }

  /** Runs `op` after every call queued before it has settled; at once if none is queued. */
  run<T>(op: () => Promise<T>): Promise<T> {
    const start = async (): Promise<T> => {
      this.running = true;
      try {
        return await op();
      } finally {
        this.running = false;
      }
    };
    const result = this.queued === 0 ? start() : this.last.then(start, start);
    this.queued++;
    const done = (): void => {
      this.queued--;
      this.settled();
    };
    this.last = result.then(done, done);
    return result;
  }
}

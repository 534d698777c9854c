/**
 * WritePool: asynchronous writes run a bounded number at a time (a checkout's files: each waits on
 * its fsync, and flushes in flight together share the file system's journal commits). The first
 * failure is kept and thrown to the caller at its next step; a caller that stops calls `settle`
 * so no write goes on after it returns.
 */

/** Runs writes `limit` at a time; the first failure is thrown by the next `add` or by `drain`. */
export class WritePool {
  private readonly running = new Set<Promise<void>>();
  /** The first write that failed, boxed (an error may be any value). */
  private failure: { error: unknown } | undefined;

  constructor(
    /** The most writes running at once. */
    private readonly limit: number,
  ) {}

  /** Starts `write` once fewer than `limit` run. @throws the first failure of an earlier write. */
  async add(write: () => Promise<void>): Promise<void> {
    this.rethrow();
    while (this.running.size >= this.limit) {
      await Promise.race(this.running);
      this.rethrow();
    }
    const running: Promise<void> = write()
      .then(
        () => undefined,
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => this.running.delete(running));
    this.running.add(running);
  }

  /** Waits for every write. @throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.rethrow();
  }

  /** Waits for every write, failed or not. */
  async settle(): Promise<void> {
    await Promise.all(this.running);
  }

  private rethrow(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }
}

/**
 * A task whose concurrent callers all want the same outcome: a call while it runs joins it and
 * gets its result (or its error) instead of starting another. Pack is one: a second `pack()` while
 * one runs resolves with the running pack's result, in every storage.
 */
export class JoinedRun<T> {
  private running: Promise<T> | undefined;

  /** True while a run has not settled. */
  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Starts `task`, unless a run is under way: then resolves with that run's outcome. */
  run(task: () => Promise<T>): Promise<T> {
    if (this.running !== undefined) return this.running;
    const running = task().finally(() => {
      this.running = undefined;
    });
    this.running = running;
    return running;
  }
}

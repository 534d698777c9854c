/**
 * Cases that run in several tabs at once. The runner (bench/browser.mjs, `runTabs`) opens several
 * pages of one browser context (one origin, one OPFS), starts the same case in each with its index,
 * page 0 first, and each next page only once the previous one reached its first sync point (so
 * page 0 opens the database first and owns it). `tab.sync()` is a barrier: the page marks the point
 * it reached, the runner waits until every page reached it (`reached`, an awaited promise, not a
 * poll), then releases it with one BroadcastChannel message that every page receives at the same
 * moment (`release`). Alone (one page: the smoke test, `--case` of a one-tab case) `sync()`
 * returns at once.
 */

/** This page's part in a case run by several tabs. */
export interface Tab {
  /** This page's index, 0 for the page that started first (and opened the database first). */
  readonly index: number;
  /** How many pages run the case. */
  readonly count: number;
  /** Waits until every page reached the same sync point (the n-th call of each). */
  sync(): Promise<void>;
}

/** What the runner sends: release `point` of run `run`. */
interface Release {
  run: number;
  point: number;
}

const CHANNEL = 'shelfdb-bench-sync';

/** The page's side of the sync points: one per page, reset by `start` for each run. */
export class TabSync {
  /** The run the state below belongs to (the runner numbers its runs; the warm-up is 1000). */
  private run = Number.NaN;
  /** The last sync point this page reached in `run`. */
  private point = 0;
  /** Set once the case of `run` returned or threw: the runner stops waiting for its points. */
  private ended = false;
  /** Runner calls waiting in `reached`, told of every change of the state above. */
  private readonly watchers = new Set<() => void>();
  /** The pending `sync()` of this page, by point, resolved by the runner's release. */
  private readonly releases = new Map<number, () => void>();
  private readonly channel = new BroadcastChannel(CHANNEL);

  constructor() {
    this.channel.onmessage = (event: MessageEvent<Release>) => {
      if (event.data.run !== this.run) return;
      this.releases.get(event.data.point)?.();
      this.releases.delete(event.data.point);
    };
  }

  /** The case of `run` starts in this page as tab `index` of `count`. */
  start(run: number, index: number, count: number): Tab {
    this.run = run;
    this.point = 0;
    this.ended = false;
    this.releases.clear();
    this.changed();
    return {
      index,
      count,
      sync: async () => {
        if (count === 1 || this.run !== run) return;
        const point = ++this.point;
        // Listen before announcing the point: the release can only come after the runner saw it.
        const released = new Promise<void>((resolve) => this.releases.set(point, resolve));
        this.changed();
        await released;
      },
    };
  }

  /** The case of `run` returned or threw. */
  end(run: number): void {
    if (this.run !== run) return;
    this.ended = true;
    this.changed();
  }

  /** For the runner: resolves once this page reached `point` of `run`, or ended that run. */
  reached(run: number, point: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.run === run && (this.point >= point || this.ended)) {
          this.watchers.delete(check);
          resolve();
        }
      };
      this.watchers.add(check);
      check();
    });
  }

  /**
   * For the runner (in one page): releases `point` of `run` in every page. A new channel object
   * posts, so that this page's own listener receives the message too.
   */
  release(run: number, point: number): void {
    const sender = new BroadcastChannel(CHANNEL);
    sender.postMessage({ run, point } satisfies Release);
    sender.close();
  }

  private changed(): void {
    for (const check of [...this.watchers]) check();
  }
}

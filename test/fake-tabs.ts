/**
 * In-memory Web Locks and BroadcastChannels, for the owner logic's unit tests. A FakeTab is one
 * tab's view of them; `crash()` drops the tab as a killed process would: its locks are released
 * and its channels go silent, without running any of its code. `freeze()` is a tab frozen in the
 * background: it keeps its locks, and its messages (both ways) wait until `thaw()`.
 *
 * Messages and lock hand-overs arrive a timer task later, as the real ones do; `hub.idle()` awaits
 * the moment none is on its way any more, which is what a test means by "the tabs have heard".
 */
import type { Channel, Locks, TabPlatform } from '../worker/tab-router.js';
import { MAX_TURNS, turn } from './until.js';

interface Waiter {
  tab: FakeTab;
  grant: () => void;
}

export class FakeHub {
  /** Lock name → the tab holding it and the tabs queued for it. */
  private readonly locks = new Map<
    string,
    { holder: FakeTab | undefined; release: () => void; queue: Waiter[] }
  >();
  private readonly channels = new Set<FakeChannel>();
  /** Deliveries and lock hand-overs scheduled and not run yet. */
  private onTheWay = 0;

  tab(): FakeTab {
    return new FakeTab(this);
  }

  /**
   * Resolves once nothing is on its way: every message posted and every lock handed on so far has
   * arrived, and what their handlers then did on microtasks (and after a setImmediate hop, as a
   * group commit's flush) has run, including the messages that sent in turn. Messages a frozen tab
   * holds are not on their way: they wait for thaw().
   * @throws Error when messages keep coming for `turns` event-loop turns (tabs talking in a loop).
   */
  async idle(turns = MAX_TURNS): Promise<void> {
    // Two quiet turns in a row: work a handler left for a check task has posted by then.
    for (let done = 0, quiet = 0; quiet < 2; done++) {
      if (done >= turns) {
        throw new Error(`FakeHub: messages were still on their way after ${turns} turns.`);
      }
      await turn();
      quiet = this.onTheWay === 0 ? quiet + 1 : 0;
    }
  }

  /**
   * Runs `task` a timer task later, counted as on its way until then (idle() waits for it). Fakes
   * built over the hub (tab-chaos.ts's locks) schedule through it too.
   */
  later(task: () => void): void {
    this.onTheWay++;
    setTimeout(() => {
      this.onTheWay--;
      task();
    }, 0);
  }

  /** @internal */
  request(tab: FakeTab, name: string, callback: () => Promise<unknown>): Promise<unknown> {
    let entry = this.locks.get(name);
    if (entry === undefined) {
      entry = { holder: undefined, release: () => undefined, queue: [] };
      this.locks.set(name, entry);
    }
    const lock = entry;
    // Releasing hands the lock to the next waiter at once, as navigator.locks does: a request made
    // before that waiter's callback runs queues behind it (it must never get the lock too).
    const handOn = (): void => {
      const next = lock.queue.shift();
      lock.holder = next?.tab;
      if (next === undefined) {
        lock.release = () => undefined;
        return;
      }
      let cancelled = false;
      // Until its callback runs, a release (its tab crashed) passes the lock on again.
      lock.release = () => {
        if (cancelled) return;
        cancelled = true;
        handOn();
      };
      this.later(() => {
        if (!cancelled) next.grant();
      });
    };
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        lock.holder = tab;
        let released = false;
        const release = (): void => {
          if (released) return;
          released = true;
          handOn();
        };
        lock.release = release; // this holder's own: a later holder's is never called for it
        callback().then(
          (value) => {
            release();
            resolve(value);
          },
          (error: unknown) => {
            release();
            reject(error);
          },
        );
      };
      if (lock.holder === undefined && lock.queue.length === 0) grant();
      else lock.queue.push({ tab, grant });
    });
  }

  /** @internal The names of the locks held now, as navigator.locks.query() reports them. */
  held(): { name: string }[] {
    const held: { name: string }[] = [];
    for (const [name, lock] of this.locks) if (lock.holder !== undefined) held.push({ name });
    return held;
  }

  /** @internal */
  releaseAll(tab: FakeTab): void {
    for (const lock of this.locks.values()) {
      lock.queue = lock.queue.filter((w) => w.tab !== tab);
      if (lock.holder === tab) lock.release();
    }
    for (const c of this.channels) if (c.tab === tab) c.close();
  }

  /** @internal */
  open(channel: FakeChannel): void {
    this.channels.add(channel);
  }

  /** @internal Delivers to every other open channel of the same name, a task later, cloned. */
  deliver(from: FakeChannel, message: unknown): void {
    for (const c of this.channels) {
      if (c !== from && c.name === from.name && !c.closed) {
        const copy = structuredClone(message);
        this.later(() => c.receive(copy));
      }
    }
  }

  /** @internal */
  drop(channel: FakeChannel): void {
    this.channels.delete(channel);
  }
}

export class FakeTab implements TabPlatform {
  crashed = false;
  /** Set by freeze(): messages to and from this tab wait in `held` until thaw(). */
  frozen = false;
  /** Messages held while frozen, in order: what the tab sent and what it was sent. */
  private readonly held: { channel: FakeChannel; data: unknown; outgoing: boolean }[] = [];
  readonly locks: Locks;

  constructor(private readonly hub: FakeHub) {
    this.locks = {
      request: (name, callback) => hub.request(this, name, callback),
      query: () => Promise.resolve({ held: hub.held() }),
    };
  }

  /** The tab is frozen in the background: it keeps its locks, its messages wait until thaw(). */
  freeze(): void {
    this.frozen = true;
  }

  /** The frozen tab wakes: what it sent goes out, then what it was sent comes in. */
  thaw(): void {
    this.frozen = false;
    const held = this.held.splice(0);
    for (const m of held) if (m.outgoing) m.channel.postMessage(m.data);
    for (const m of held) if (!m.outgoing) m.channel.receive(m.data);
  }

  /** @internal */
  hold(channel: FakeChannel, data: unknown, outgoing: boolean): void {
    this.held.push({ channel, data: outgoing ? data : structuredClone(data), outgoing });
  }

  channel(name: string): Channel {
    const c = new FakeChannel(this.hub, this, name);
    this.hub.open(c);
    return c;
  }

  /** The tab is killed: its locks go free, its channels fall silent. */
  crash(): void {
    this.crashed = true;
    this.hub.releaseAll(this);
  }
}

class FakeChannel implements Channel {
  closed = false;
  private readonly listeners: ((event: MessageEvent) => void)[] = [];

  constructor(
    private readonly hub: FakeHub,
    readonly tab: FakeTab,
    readonly name: string,
  ) {}

  postMessage(message: unknown): void {
    if (this.closed || this.tab.crashed) return;
    if (this.tab.frozen) this.tab.hold(this, structuredClone(message), true);
    else this.hub.deliver(this, message);
  }

  addEventListener(_type: 'message', listener: (event: MessageEvent) => void): void {
    this.listeners.push(listener);
  }

  receive(data: unknown): void {
    if (this.closed || this.tab.crashed) return;
    if (this.tab.frozen) {
      this.tab.hold(this, data, false);
      return;
    }
    for (const l of this.listeners) l({ data } as MessageEvent);
  }

  close(): void {
    this.closed = true;
    this.hub.drop(this);
  }
}

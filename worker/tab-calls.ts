/**
 * TabCalls: the calls a tab has sent to the owning tab and waits on, and how they cross the
 * channels (each call encoded and its answer checked as src/shared/storage-calls.ts declares).
 *
 * Invariant: every call settles. An answer settles it; a call without one fails after
 * `busyTimeout` with StorageBusyError, which means "not known whether it ran": the owner may have
 * run it and still answer. Such late answers are counted; for a commit, the owner's invalidation
 * (carrying the commit's txnId) is what tells the connection that it landed, and sending the
 * commit again with its txnId is answered with the tid it landed under. A tab that becomes the
 * owner takes the calls still waiting and runs them itself.
 *
 * A long call (LONG_CALLS: a putBlob streams and hashes the whole blob, for minutes when it is
 * large) may outlast busyTimeout while the owner is well: while one waits, the tab asks the owner
 * to show it is alive (`ping`, a 'hello' the owner answers) every third of busyTimeout, and each
 * sign of life (`alive`) restarts the long calls' wait. A frozen owner shows none: they fail after
 * busyTimeout as every call does.
 */
import { StorageBusyError, errorFromWire } from '../src/shared/errors.js';
import { PROTOCOL_VERSION, type Message } from '../src/shared/protocol.js';
import {
  decodeAnswer,
  encodeAnswer,
  encodeArgs,
  toChannel,
  type StorageMethod,
} from '../src/shared/storage-calls.js';

export type CallMessage = Message & { type: 'call' };

export interface WaitingCall {
  message: CallMessage;
  method: StorageMethod;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Waiting extends WaitingCall {
  timer: ReturnType<typeof setTimeout> | undefined;
  /** A long call: its wait restarts when the owner shows it is alive. */
  long: boolean;
}

/** Calls that may run longer than busyTimeout at a live owner. */
const LONG_CALLS: ReadonlySet<StorageMethod> = new Set<StorageMethod>(['putBlob']);

/** How many timed-out call ids are remembered, to count their late answers. */
const TIMED_OUT_KEPT = 1024;

export class TabCalls {
  private readonly waiting = new Map<number, Waiting>();
  /** Calls that failed with StorageBusyError, by id: their answer may still come. */
  private readonly timedOut = new Set<number>();
  /** Every call started and not settled yet, however it will settle. */
  private readonly unsettled = new Set<Promise<unknown>>();
  private nextId = 1;
  /** Asks the owner for a sign of life while a long call waits. */
  private pinger: ReturnType<typeof setInterval> | undefined;
  /** Answers that came after their call had failed with StorageBusyError. */
  lateAnswers = 0;

  constructor(
    private readonly options: {
      name: string;
      tabId: string;
      busyTimeout: number;
      onBusy: (error: StorageBusyError) => void;
      /** Asks the owner to show it is alive (it answers with `alive`), while a long call waits. */
      ping: () => void;
    },
  ) {}

  /** Starts a call; `send` posts it now if an owner is known (else it waits for one). */
  start(method: StorageMethod, args: unknown[], send: (message: CallMessage) => void) {
    const id = this.nextId++;
    const message: CallMessage = {
      v: PROTOCOL_VERSION,
      type: 'call',
      id,
      method,
      args: encodeArgs(method, args).map(toChannel),
      from: this.options.tabId,
    };
    const call = new Promise<unknown>((resolve, reject) => {
      const w: Waiting = {
        message,
        method,
        resolve,
        reject,
        timer: undefined,
        long: LONG_CALLS.has(method),
      };
      this.waiting.set(id, w);
      this.arm(id, w);
      if (w.long) {
        const { busyTimeout, ping } = this.options;
        this.pinger ??= setInterval(ping, busyTimeout / 3);
      }
      send(message);
    });
    this.unsettled.add(call);
    const done = (): void => void this.unsettled.delete(call);
    call.then(done, done);
    return call;
  }

  /** (Re)starts call `id`'s wait: it fails with StorageBusyError after busyTimeout. */
  private arm(id: number, w: Waiting): void {
    const { name, busyTimeout } = this.options;
    clearTimeout(w.timer);
    w.timer = setTimeout(() => {
      this.remove(id);
      this.timedOut.add(id);
      if (this.timedOut.size > TIMED_OUT_KEPT) {
        this.timedOut.delete(this.timedOut.values().next().value as number);
      }
      const error = new StorageBusyError(busyMessage(name, w.method, busyTimeout));
      this.options.onBusy(error);
      w.reject(error);
    }, busyTimeout);
  }

  /** Takes call `id` out of the waiting ones; stops pinging once no long call waits. */
  private remove(id: number): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.waiting.delete(id);
    if (w.long && ![...this.waiting.values()].some((other) => other.long)) {
      clearInterval(this.pinger);
      this.pinger = undefined;
    }
  }

  /** The owner showed it is alive: the long calls waiting on it wait busyTimeout more. */
  alive(): void {
    for (const [id, w] of this.waiting) if (w.long) this.arm(id, w);
  }

  /** Settles when every call started so far has settled (each within busyTimeout at most). */
  async settled(): Promise<void> {
    while (this.unsettled.size > 0) await Promise.allSettled([...this.unsettled]);
  }

  /** The messages of every call still waiting, to send again to a new owner. */
  messages(): CallMessage[] {
    return [...this.waiting.values()].map((w) => w.message);
  }

  /** Takes every waiting call out (this tab became the owner and runs them). */
  takeAll(): WaitingCall[] {
    const all = [...this.waiting.values()];
    for (const id of [...this.waiting.keys()]) this.remove(id);
    return all;
  }

  /**
   * Settles the call an answer is for.
   * @returns false for an answer that cannot be read (the call keeps waiting), else true.
   */
  answer(message: Message & { type: 'result' | 'error' }): boolean {
    const w = this.waiting.get(message.id);
    if (w === undefined) {
      // A resent call answered twice, or a call that already failed with StorageBusyError.
      if (this.timedOut.delete(message.id)) this.lateAnswers++;
      return true;
    }
    let value: unknown;
    if (message.type === 'result') {
      try {
        value = decodeAnswer(w.method, message.value);
      } catch {
        return false;
      }
    }
    this.remove(message.id);
    if (message.type === 'error') w.reject(errorFromWire(message.error));
    else w.resolve(value);
    return true;
  }
}

/** The message of a call that got no answer: for a commit, what the connection may rely on. */
function busyMessage(name: string, method: StorageMethod, timeout: number): string {
  const what =
    method === 'commit'
      ? 'It is not known whether this commit landed: commit again (transact retries), and it lands exactly once.'
      : 'Try again.';
  return `Database "${name}": the tab that holds it did not answer within ${timeout} ms (it may be frozen in the background). ${what}`;
}

/** An answer as a channel carries it: `load`'s records packed in one buffer. */
export function encodeResult(method: StorageMethod, value: unknown): unknown {
  return toChannel(encodeAnswer(method, value));
}

/**
 * StorageClient: the Storage contract for the page, served by its storage worker over Comlink
 * (src/shared/link.ts). Each call is encoded and its answer checked as storage-calls.ts declares
 * it; record batches cross as transferred buffers and errors as the same classes (link.ts's
 * transfer handlers). Invalidations and background failures come back through the events object
 * the page hands the worker at `open`, and so does a pack's progress (keyed by its pack call id;
 * a malformed one is dropped and counted in `stats().ignoredMessages`).
 *
 * Every call settles: the worker settles what it receives (it fails a call the owning tab does not
 * answer with StorageBusyError after busyTimeout), and what is still in flight when the page
 * closes the database, or when the worker fails to start, fails here. An uncaught error in a
 * running worker fails nothing (its calls still settle): it is reported to `subscribeErrors`.
 */
import { wrap, proxy, type Remote } from 'comlink';
import {
  DatabaseClosedError,
  ShelfError,
  StorageBusyError,
  StorageError,
  errorFromWire,
  isWireError,
  type WireError,
} from './shared/errors.js';
import {
  registerLinkHandlers,
  type Endpoint,
  type OpenRequest,
  type StorageEvents,
  type StorageService,
} from './shared/link.js';
import {
  STORAGE_METHODS,
  decodeAnswer,
  encodeArgs,
  type StorageMethod,
} from './shared/storage-calls.js';
import { ForwardingStorage } from './shared/forwarding-storage.js';
import type { Invalidation, RecoveryReport, StorageStats } from './shared/storage.js';

export class StorageClient extends ForwardingStorage {
  private readonly remote: Remote<StorageService>;
  /** The remote's methods, made once (each property read of a Comlink Remote makes a new proxy). */
  private readonly methods: Record<StorageMethod, (...args: unknown[]) => Promise<unknown>>;
  /** How to fail each call in flight (closing, or the worker did not start), and its method. */
  private readonly inFlight = new Map<(error: unknown) => void, StorageMethod | 'open'>();
  /** The error the endpoint threw while posting (a value it cannot clone): nothing was sent. */
  private unsent: unknown;
  private closing: Promise<void> | undefined;
  /** Set once the worker has opened the database. */
  private connected = false;
  /** Messages from the worker not acted on (malformed pack progress). */
  private ignoredMessages = 0;
  /** What the storage found damaged when opening (log storages only). */
  recovery: RecoveryReport | undefined;

  private constructor(
    endpoint: Endpoint,
    /** Ends the other side (terminates the worker) after close. */
    private readonly release: () => void,
  ) {
    super();
    registerLinkHandlers();
    this.remote = wrap<StorageService>({
      addEventListener: (type, listener) => endpoint.addEventListener(type, listener),
      removeEventListener: (type, listener) => endpoint.removeEventListener(type, listener),
      start: endpoint.start?.bind(endpoint),
      postMessage: (message, transfer) => {
        try {
          endpoint.postMessage(message, transfer);
        } catch (error) {
          this.unsent = error;
          throw error;
        }
      },
    });
    this.methods = Object.fromEntries(
      STORAGE_METHODS.map((method) => [method, this.remote[method]]),
    ) as unknown as StorageClient['methods'];
    endpoint.addEventListener('error', (event) => {
      const message = (event as ErrorEvent).message ?? 'unknown error';
      const error = new StorageError(
        `The shelfdb storage worker failed: ${message}. Reload the page to start it again.`,
      );
      // Before 'open' is answered the worker did not start: nothing will answer. After, an
      // uncaught error does not stop the worker, and its calls in flight still settle (a failed
      // call is no proof that it did not run): report it, fail nothing.
      if (this.connected) this.report(error);
      else this.failAll(error);
    });
  }

  /** Asks the worker behind `endpoint` to open a database, and resolves once it has. */
  static async connect(
    endpoint: Endpoint,
    request: OpenRequest,
    release: () => void,
  ): Promise<StorageClient> {
    const client = new StorageClient(endpoint, release);
    const events: StorageEvents = {
      invalidate: (invalidations: Invalidation[]) => {
        for (const invalidation of invalidations) {
          client.listeners.tellApart(invalidation, client.errorListeners);
        }
      },
      report: (error: WireError) =>
        client.report(isWireError(error) ? errorFromWire(error) : new StorageError(String(error))),
      packProgress: (packId: string, progress: unknown) => {
        if (!client.tellProgress(packId, progress)) client.ignoredMessages++;
      },
    };
    try {
      const opened = await client.track('open', client.remote.open(request, proxy(events)));
      client.recovery = opened.recovery;
      client.connected = true;
      return client;
    } catch (error) {
      release();
      throw error;
    }
  }

  override close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.track('close', this.methods.close());
      } finally {
        this.listeners.clear();
        this.failAll(new DatabaseClosedError());
        this.release();
      }
    })();
    return this.closing;
  }

  protected override async call(method: StorageMethod, args: unknown[]): Promise<unknown> {
    if (this.closing !== undefined) throw new DatabaseClosedError();
    const wire = encodeArgs(method, args);
    const service = this.methods[method];
    this.unsent = undefined;
    const sending = service(...wire);
    const unsent = this.unsent;
    let answer;
    try {
      answer = await this.track(method, sending);
    } catch (error) {
      if (error === unsent && unsent !== undefined) {
        throw new ShelfError(
          `shelfdb could not send this ${method} call to its storage worker (${(error as Error).message}). Nothing was stored. Pass plain data only.`,
          { cause: error },
        );
      }
      if (error instanceof StorageBusyError) this.reportBusy(error);
      throw error;
    }
    try {
      return decodeAnswer(method, answer);
    } catch (error) {
      // The worker answered, but not readably: whether the call ran is not known.
      throw new StorageBusyError(
        `The shelfdb storage worker's answer to ${method} could not be read (${(error as Error).message}); it is not known whether the call ran. Try again.`,
        { cause: error },
      );
    }
  }

  /** Asks the worker to stop the pack call `packId` (the page's signal aborted). */
  protected override abortPack(packId: string): void {
    if (this.closing !== undefined) return; // closing fails the pack call itself
    // Nobody awaits it: a failure to reach the worker goes to the error listeners.
    this.remote.abortPack(packId).catch((error: unknown) => this.report(error));
  }

  /** The storage's stats, with the messages from the worker this page ignored. */
  override async stats(): Promise<StorageStats> {
    const stats = await super.stats();
    if (this.ignoredMessages === 0) return stats;
    return { ...stats, ignoredMessages: (stats.ignoredMessages ?? 0) + this.ignoredMessages };
  }

  /** `promise`, failed early by `failAll`. */
  private track<T>(method: StorageMethod | 'open', promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.inFlight.set(reject, method);
      promise.then(resolve, reject).finally(() => this.inFlight.delete(reject));
    });
  }

  /**
   * Fails every call in flight with `error`, but a commit with StorageBusyError: the worker may
   * have written it before it stopped, so its outcome is not known (never "did not run").
   */
  private failAll(error: unknown): void {
    for (const [reject, method] of this.inFlight) {
      reject(
        method === 'commit'
          ? new StorageBusyError(
              `The shelfdb storage worker stopped before answering this commit (${(error as Error).message}): it is not known whether it landed. Open the database again and look.`,
              { cause: error },
            )
          : error,
      );
    }
    this.inFlight.clear();
  }
}

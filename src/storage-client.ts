/**
 * StorageClient: the Storage contract across postMessage, for the page side. It speaks the
 * messages of src/shared/protocol.ts to whatever answers them (its storage worker, which forwards
 * to the tab owning the files), sends and receives record batches as transferred ArrayBuffers,
 * and rethrows error envelopes as the same error classes.
 *
 * The worker settles every call (it fails a call the owning tab does not answer with
 * StorageBusyError after busyTimeout). A message that does not parse fails no other call: it is
 * ignored and counted (`wireStats`, `stats().ignoredMessages`), and only the call it answers, if
 * any, fails, with StorageBusyError (its outcome is not known). Background failures ('report',
 * and the worker's uncaught errors) go to `subscribeErrors` listeners.
 */
import {
  DatabaseClosedError,
  ShelfError,
  StorageBusyError,
  StorageError,
  errorFromWire,
} from './shared/errors.js';
import {
  PROTOCOL_VERSION,
  ProtocolVersionError,
  parseMessage,
  type OpenRequest,
  type StorageMethod,
} from './shared/protocol.js';
import { packRecords, unpackRecords } from './shared/record-batch.js';
import { ForwardingStorage } from './shared/forwarding-storage.js';
import type {
  CommitRequest,
  Invalidation,
  LoadedRecord,
  RecoveryReport,
  StorageStats,
  Tid,
} from './shared/storage.js';

/** The other side: a Worker, or anything with the same two methods. */
export interface Port {
  postMessage(message: unknown, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  addEventListener(type: 'error', listener: (event: Event) => void): void;
}

interface Call {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class StorageClient extends ForwardingStorage {
  /** Calls waiting for their answer, by id. */
  private readonly calls = new Map<number, Call>();
  private nextId = 1;
  private closing: Promise<void> | undefined;
  /** Set once the worker has answered 'open'. */
  private connected = false;
  /** Messages from the worker not acted on (malformed, another version, for no call). */
  private ignoredMessages = 0;
  private versionReported = false;
  /** Called when a call fails because the tab holding the database did not answer in time. */
  onBusy: ((error: StorageBusyError) => void) | undefined;
  /** What the storage found damaged when opening (log storages only). */
  recovery: RecoveryReport | undefined;

  private constructor(
    private readonly port: Port,
    /** Ends the other side (terminates the worker) after close. */
    private readonly release: () => void,
  ) {
    super();
    port.addEventListener('message', (event) => this.receive(event.data));
    port.addEventListener('error', (event) => {
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

  /** Asks the other side to open a database and resolves once it has. */
  static async connect(
    port: Port,
    request: OpenRequest,
    release: () => void,
  ): Promise<StorageClient> {
    const client = new StorageClient(port, release);
    try {
      const opened = (await client.send({ type: 'open', request })) as {
        recovery?: RecoveryReport;
      };
      client.recovery = opened.recovery;
      client.connected = true;
      return client;
    } catch (error) {
      release();
      throw error;
    }
  }

  override async load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]> {
    const buffer = (await this.call('load', [oids, atTid])) as ArrayBuffer;
    return unpackRecords(buffer) as LoadedRecord[];
  }

  override async commit(txn: CommitRequest): Promise<Tid> {
    const { records, ...rest } = txn;
    const buffer = packRecords(records);
    const answer = (await this.call('commit', [rest, buffer], [buffer])) as
      Tid | { tid: Tid; invalidation: Invalidation };
    if (typeof answer === 'number') return answer;
    // The worker folded this commit's invalidation into the answer: announce it here.
    for (const listener of this.listeners) listener(answer.invalidation);
    return answer.tid;
  }

  /** What crossed from the worker and was not acted on. */
  get wireStats(): { ignoredMessages: number } {
    return { ignoredMessages: this.ignoredMessages };
  }

  /** The storage's stats, with the messages the page and its worker ignored. */
  override async stats(): Promise<StorageStats> {
    const stats = (await this.call('stats', [])) as StorageStats;
    return {
      ...stats,
      ignoredMessages: (stats.ignoredMessages ?? 0) + this.ignoredMessages,
    } as StorageStats;
  }

  override close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.send({ type: 'call', method: 'close', args: [] });
      } finally {
        this.listeners.clear();
        this.failAll(new DatabaseClosedError());
        this.release();
      }
    })();
    return this.closing;
  }

  protected override call(
    method: StorageMethod,
    args: unknown[],
    transfer: Transferable[] = [],
  ): Promise<unknown> {
    if (this.closing !== undefined) return Promise.reject(new DatabaseClosedError());
    return this.send({ type: 'call', method, args }, transfer);
  }

  private send(message: Record<string, unknown>, transfer: Transferable[] = []): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      try {
        this.port.postMessage({ v: PROTOCOL_VERSION, id, ...message }, transfer);
      } catch (error) {
        // Nothing was sent (a value the platform cannot clone): nothing will answer this id.
        this.calls.delete(id);
        reject(
          new ShelfError(
            `shelfdb could not send this ${String(message.method ?? message.type)} call to its storage worker (${(error as Error).message}). Nothing was stored. Pass plain data only.`,
            { cause: error },
          ),
        );
      }
    });
  }

  private receive(data: unknown): void {
    let message;
    try {
      message = parseMessage(data);
    } catch (error) {
      this.refuse(data, error);
      return;
    }
    switch (message.type) {
      case 'result':
      case 'error': {
        const call = this.calls.get(message.id);
        if (call === undefined) {
          this.ignoredMessages++; // an answer to no call of this page
          return;
        }
        this.calls.delete(message.id);
        if (message.type === 'result') {
          call.resolve(message.value);
          return;
        }
        const error = errorFromWire(message.error);
        if (error instanceof StorageBusyError) this.onBusy?.(error);
        call.reject(error);
        return;
      }
      case 'invalidate':
        for (const listener of this.listeners) listener(message.invalidation);
        return;
      case 'report':
        this.report(errorFromWire(message.error));
        return;
      default:
        this.ignoredMessages++;
        return;
    }
  }

  /** A message that does not parse: counted; only the call it would answer (if any) fails. */
  private refuse(data: unknown, error: unknown): void {
    this.ignoredMessages++;
    if (error instanceof ProtocolVersionError && !this.versionReported) {
      this.versionReported = true;
      this.report(new StorageError(error.message, { cause: error }));
    }
    const id = (data as { id?: unknown } | null)?.id;
    const call = typeof id === 'number' ? this.calls.get(id) : undefined;
    if (call === undefined) return;
    this.calls.delete(id as number);
    // The worker answered, but not readably: whether the call ran is not known.
    call.reject(
      new StorageBusyError(
        `The shelfdb storage worker's answer could not be read (${(error as Error).message}); it is not known whether the call ran. Try again.`,
        { cause: error },
      ),
    );
  }

  private failAll(error: unknown): void {
    for (const call of this.calls.values()) call.reject(error);
    this.calls.clear();
  }
}

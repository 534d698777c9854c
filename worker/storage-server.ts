/**
 * The storage side of the page's link: `serveStorage` exposes one StorageService over Comlink
 * (src/shared/link.ts) on the worker's scope, answering with a Storage — in the worker entry the
 * TabRouter, which forwards to the tab that owns the files.
 *
 * Every call's arguments are checked per method (call-checks.ts) before they reach the storage.
 * A pack call's progress goes back to the page keyed by its pack call id, batched per slice
 * (ProgressBatch), the last batch handled by the page before the call is answered; `abortPack`
 * aborts the signal the worker gave that pack (see SharedPack for when the pack then stops).
 * Every commit the storage announces goes to the page's events (or, for the page's own commit,
 * rides in its answer: one message, not two), every background failure to `report`. Only calls of
 * service methods reach Comlink: any other message (malformed, a Comlink property read or write,
 * a release) is dropped and counted in `stats().ignoredMessages`, so nothing posted to the worker
 * can replace or reach past the service.
 */
import { expose, transfer, type Remote } from 'comlink';
import { StorageError, errorToWire } from '../src/shared/errors.js';
import {
  registerLinkHandlers,
  type Endpoint,
  type OpenRequest,
  type StorageEvents,
  type StorageService,
} from '../src/shared/link.js';
import {
  STORAGE_CALLS,
  STORAGE_METHODS,
  encodeAnswer,
  isStorageMethod,
  type StorageMethod,
} from '../src/shared/storage-calls.js';
import type {
  CommitRequest,
  Invalidation,
  PackOptions,
  PackResult,
  RecoveryReport,
  Storage,
} from '../src/shared/storage.js';
import { checkCall, checkPackId } from './call-checks.js';
import { ProgressBatch } from './progress-batch.js';

export type { Endpoint };

/** What `serveStorage`'s `open` callback resolves to: the storage to serve, and its recovery. */
export interface Opened {
  /** The storage the page's calls go to. */
  storage: Storage;
  /** What opening found damaged and dropped, for the page to report. */
  recovery?: RecoveryReport | undefined;
}

/** Serves one page: the first call must be `open`; calls before it fail. */
export function serveStorage(
  endpoint: Endpoint,
  open: (request: OpenRequest) => Promise<Opened>,
): void {
  registerLinkHandlers();
  let storage: Storage | undefined;
  let opening: Promise<Opened> | undefined;
  /** Messages not acted on (not a call of a service method). */
  let ignored = 0;
  /** txnIds of the page's commits in flight → their invalidation, once announced. */
  const ownCommits = new Map<string, Invalidation | null>();

  /** The page's events object (a Comlink proxy), from `open`. */
  let events: Remote<StorageEvents> | undefined;
  /**
   * Tells the page. The page's handlers never throw (each listener is told apart), so a failure
   * is the link's own (a value it could not carry): the page hears of it as an error, since it may
   * have missed a commit; should even that fail, it is thrown uncaught, which reaches the page as
   * the worker's 'error' event. Resolves once the page has handled it (or its failure was told).
   */
  const tell = (send: (to: Remote<StorageEvents>) => Promise<void>): Promise<void> => {
    const to = events;
    if (to === undefined) return Promise.resolve();
    return send(to).catch((error: unknown) => {
      const lost = new StorageError(
        `The shelfdb storage worker could not reach this page (${error instanceof Error ? error.message : String(error)}): it may have missed a commit. Call db.resync(), or reload the page.`,
        { cause: error },
      );
      to.report(errorToWire(lost)).catch((again: unknown) =>
        queueMicrotask(() => {
          throw again;
        }),
      );
    });
  };

  /** Announcements of this turn, sent together at its end (one message for a group commit). */
  let announcing: Invalidation[] = [];
  const announce = (invalidation: Invalidation): void => {
    announcing.push(invalidation);
    if (announcing.length > 1) return;
    queueMicrotask(() => {
      const batch = announcing;
      announcing = [];
      void tell((to) => to.invalidate(batch));
    });
  };

  const start = async (
    request: OpenRequest,
    pageEvents: Remote<StorageEvents>,
  ): Promise<{ recovery?: RecoveryReport }> => {
    checkOpenRequest(request);
    if (typeof pageEvents !== 'function') {
      // A Comlink proxy (a function-like Proxy) is what the page sends; plain data cannot be told.
      throw new StorageError('open: no events proxy from the page; nothing was opened.');
    }
    // The events of the open that opens the storage; a later open joins it and changes nothing.
    if (opening === undefined) events = pageEvents;
    opening ??= open(request).then((opened) => {
      storage = opened.storage;
      storage.subscribe((invalidation) => {
        if (invalidation.txnId !== undefined && ownCommits.has(invalidation.txnId)) {
          ownCommits.set(invalidation.txnId, invalidation);
          return;
        }
        announce(invalidation);
      });
      storage.subscribeErrors?.((error) => void tell((to) => to.report(errorToWire(error))));
      return opened;
    });
    opening.catch(() => (opening = undefined)); // the page may ask again
    const opened = await opening;
    return opened.recovery === undefined ? {} : { recovery: opened.recovery };
  };

  /** Runs one call of the page on the storage, checked. */
  const run = async (method: StorageMethod, wireArgs: unknown[]): Promise<unknown> => {
    if (storage === undefined) {
      throw new StorageError(`storage call ${method} before the database was opened`);
    }
    const args = checkCall(method, wireArgs);
    if (method === 'commit') return commit(storage, args[0] as CommitRequest);
    if (method === 'pack') return pack(storage, args[0] as WirePackOptions | undefined);
    if (method === 'pin') return storage.pin?.(args[0] as string, args[1] as number | null);
    if (method === 'stats') {
      const stats = await storage.stats();
      return { ...stats, ignoredMessages: (stats.ignoredMessages ?? 0) + ignored };
    }
    const fn = storage[method] as (...a: unknown[]) => Promise<unknown>;
    const answer = encodeAnswer(method, await fn.apply(storage, args));
    return STORAGE_CALLS[method].answer === 'bytes' ? transferred(answer as Uint8Array) : answer;
  };

  /** A commit of the page; its answer carries its own announcement. */
  const commit = async (s: Storage, txn: CommitRequest): Promise<unknown> => {
    const txnId = txn.txnId;
    const own = typeof txnId === 'string' && !ownCommits.has(txnId) ? txnId : undefined;
    if (own !== undefined) ownCommits.set(own, null);
    const announced = (): Invalidation | null | undefined => {
      if (own === undefined) return undefined;
      const invalidation = ownCommits.get(own);
      ownCommits.delete(own);
      return invalidation;
    };
    let tid;
    try {
      tid = await s.commit(txn);
    } catch (error) {
      // Announced and yet failed (the owner's answer was lost: StorageBusyError): the commit
      // landed, and the page learns so from its invalidation, as from anyone else's.
      const invalidation = announced();
      if (invalidation) announce(invalidation);
      throw error;
    }
    const invalidation = announced();
    return invalidation ? { tid, invalidation } : tid;
  };
  /** The page's pack calls running, by pack call id: `abortPack` aborts one's signal. */
  const packs = new Map<string, AbortController>();

  /** A pack of the page: its progress goes back by its pack call id, its abort comes by it. */
  const pack = async (s: Storage, options: WirePackOptions = {}): Promise<PackResult> => {
    const { packId, ...sent } = options;
    if (packId === undefined) return s.pack(sent);
    const controller = new AbortController();
    packs.set(packId, controller);
    let delivered = Promise.resolve();
    const batch = new ProgressBatch((progress) => {
      delivered = tell((to) => to.packProgress(packId, progress));
    });
    try {
      return await s.pack({
        ...sent,
        signal: controller.signal,
        onProgress: (progress) => batch.add(progress),
      });
    } finally {
      if (packs.get(packId) === controller) packs.delete(packId);
      batch.flush();
      // The page handles the last progress ('done') before it hears the answer: the events proxy
      // is a channel of its own, not ordered with the answers.
      await delivered;
    }
  };

  /** The page no longer waits for its pack call `packId`. */
  const abortPack = async (packId: unknown): Promise<void> => {
    checkPackId('abortPack', packId);
    packs
      .get(packId)
      ?.abort(new DOMException(`The page aborted its pack call ${packId}.`, 'AbortError'));
  };

  const service = {
    open: start,
    abortPack,
    ...Object.fromEntries(
      STORAGE_METHODS.map((method) => [method, (...args: unknown[]) => run(method, args)]),
    ),
  } as unknown as StorageService;

  expose(
    service,
    onlyServiceCalls(endpoint, () => ignored++),
  );
}

/**
 * A readBlob answer, its buffer transferred to the page rather than copied. Only a buffer the
 * answer alone spans is given away: a view into a larger one (a store's cache, a chunk) is copied
 * first, so the storage never finds its own bytes detached.
 */
function transferred(bytes: Uint8Array): Uint8Array {
  const whole =
    bytes.buffer instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength;
  const own = whole ? bytes : bytes.slice();
  return transfer(own, [own.buffer as ArrayBuffer]);
}

/** A pack call's options as they cross the link (call-checks.ts checked them). */
type WirePackOptions = Pick<PackOptions, 'keepTid'> & { packId?: string };

/** @throws StorageError for an open request the page could not have meant. */
function checkOpenRequest(r: unknown): asserts r is OpenRequest {
  const x = r as Partial<OpenRequest> | null;
  if (
    typeof x !== 'object' ||
    x === null ||
    typeof x.name !== 'string' ||
    !['auto', 'opfs', 'indexeddb'].includes(x.storage as string) ||
    !['strict', 'relaxed'].includes(x.durability as string) ||
    typeof x.recover !== 'boolean' ||
    typeof x.busyTimeout !== 'number'
  ) {
    throw new StorageError('open: malformed request; nothing was opened.');
  }
}

/**
 * `endpoint` as Comlink sees it: only messages that call a service method pass (a Comlink APPLY of
 * `open`, `abortPack` or a storage method with an argument list of wire values); every other one is dropped
 * and counted by `ignore`.
 */
function onlyServiceCalls(endpoint: Endpoint, ignore: () => void): Endpoint {
  const filters = new Map<unknown, (event: Event) => void>();
  return {
    postMessage: (message, transfer) => endpoint.postMessage(message, transfer),
    start: endpoint.start?.bind(endpoint),
    addEventListener: (type, listener) => {
      const filter = (event: Event): void => {
        if (type === 'message' && !isServiceCall((event as MessageEvent).data)) {
          ignore();
          return;
        }
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      };
      filters.set(listener, filter);
      endpoint.addEventListener(type, filter);
    },
    removeEventListener: (type, listener) => {
      const filter = filters.get(listener);
      if (filter !== undefined) endpoint.removeEventListener(type, filter);
    },
  };
}

/**
 * A Comlink wire value the service can take: plain data (a putBlob's Blob among it, a handle that
 * structured cloning carries without its bytes), a record batch, a proxy (events).
 */
function isWireValue(x: unknown): boolean {
  if (typeof x !== 'object' || x === null) return false;
  const { type, name, value } = x as Record<string, unknown>;
  if (type === 'RAW') return true;
  if (type !== 'HANDLER') return false;
  if (name === 'shelfdb:records') return value instanceof ArrayBuffer;
  return name === 'proxy' && typeof MessagePort !== 'undefined' && value instanceof MessagePort;
}

function isServiceCall(data: unknown): boolean {
  if (typeof data !== 'object' || data === null) return false;
  const { id, type, path, argumentList } = data as Record<string, unknown>;
  return (
    typeof id === 'string' &&
    type === 'APPLY' &&
    Array.isArray(path) &&
    path.length === 1 &&
    (path[0] === 'open' || path[0] === 'abortPack' || isStorageMethod(path[0])) &&
    Array.isArray(argumentList) &&
    argumentList.every(isWireValue)
  );
}

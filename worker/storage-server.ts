/**
 * The storage side of the wire: answers the messages of src/shared/protocol.ts with a Storage.
 * The worker entry serves its page with it (the storage being the TabRouter, which forwards to
 * the tab that owns the files).
 *
 * Record batches travel as one transferred ArrayBuffer each way (record-batch.ts); expected
 * failures travel as error envelopes (errorToWire), so the page rethrows the same class with the
 * same fields. Every commit the storage announces is posted as an 'invalidate' message (or folded
 * into the page's own commit's answer), every background failure as a 'report'. A message that
 * does not parse is never acted on and fails no other call: it is answered with an error when it
 * carries an id, else ignored; both are counted in `stats().ignoredMessages`. Arguments are
 * checked per method (call-checks.ts) before they reach the storage.
 */
import { StorageError, errorToWire } from '../src/shared/errors.js';
import {
  PROTOCOL_VERSION,
  ProtocolVersionError,
  parseMessage,
  type Message,
  type OpenRequest,
  type StorageMethod,
} from '../src/shared/protocol.js';
import { packRecords } from '../src/shared/record-batch.js';
import type { CommitRequest, Invalidation, Storage, StorageStats } from '../src/shared/storage.js';
import { checkCall } from './call-checks.js';

/** Where messages come from and go to: a worker's global scope, a MessagePort. */
export interface Endpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

export interface Opened {
  storage: Storage;
  /** What opening found damaged and dropped, for the page to report. */
  recovery?: unknown;
}

/** Serves one page: the first message must be 'open'; calls before it are refused. */
export function serveStorage(
  endpoint: Endpoint,
  open: (request: OpenRequest) => Promise<Opened>,
): void {
  let storage: Storage | undefined;
  let opening: Promise<Storage> | undefined;
  /** Messages not acted on (malformed, another version, not for the worker). */
  let ignored = 0;
  let versionReported = false;
  /** txnIds of the page's commits in flight → their invalidation, once announced. */
  const ownCommits = new Map<string, Invalidation | null>();
  const reply = (message: Message, transfer: Transferable[] = []): void =>
    endpoint.postMessage(message, transfer);
  const fail = (id: number, error: unknown): void =>
    reply({ v: PROTOCOL_VERSION, type: 'error', id, error: errorToWire(error) });

  /** A message that does not parse: answered when it has an id, else reported once if foreign. */
  const refuse = (data: unknown, error: unknown): void => {
    ignored++;
    const unreadable = new StorageError(
      `The shelfdb storage worker could not read a message from the page (${(error as Error).message}); it did nothing with it.`,
      { cause: error },
    );
    const id = (data as { id?: unknown } | null)?.id;
    if (Number.isSafeInteger(id)) fail(id as number, unreadable);
    else if (error instanceof ProtocolVersionError && !versionReported) {
      versionReported = true;
      reply({ v: PROTOCOL_VERSION, type: 'report', error: errorToWire(unreadable) });
    }
  };

  endpoint.addEventListener('message', (event: MessageEvent) => {
    let message: Message;
    try {
      message = parseMessage(event.data);
    } catch (error) {
      refuse(event.data, error);
      return;
    }
    if (message.type === 'open') {
      opening ??= open(message.request).then((opened) => {
        storage = opened.storage;
        storage.subscribe((invalidation) => {
          // The page's own commit: its answer carries the invalidation (one message, not two).
          if (invalidation.txnId !== undefined && ownCommits.has(invalidation.txnId)) {
            ownCommits.set(invalidation.txnId, invalidation);
            return;
          }
          reply({ v: PROTOCOL_VERSION, type: 'invalidate', invalidation });
        });
        storage.subscribeErrors?.((error) =>
          reply({ v: PROTOCOL_VERSION, type: 'report', error: errorToWire(error) }),
        );
        reply({
          v: PROTOCOL_VERSION,
          type: 'result',
          id: message.id,
          value: { recovery: opened.recovery },
        });
        return opened.storage;
      });
      opening.catch((error: unknown) => {
        opening = undefined;
        fail(message.id, error);
      });
      return;
    }
    if (message.type !== 'call') {
      ignored++; // answers and announcements go from the worker to the page, never back
      return;
    }
    const { id, method } = message;
    if (storage === undefined) {
      fail(id, new StorageError(`storage call ${method} before the database was opened`));
      return;
    }
    let args: unknown[];
    try {
      args = checkCall(method, message.args);
    } catch (error) {
      fail(id, error);
      return;
    }
    const txnId = method === 'commit' ? (args[0] as CommitRequest).txnId : undefined;
    const own = typeof txnId === 'string' && !ownCommits.has(txnId) ? txnId : undefined;
    if (own !== undefined) ownCommits.set(own, null);
    /** The invalidation of the page's commit, if the storage announced it. */
    const announced = (): Invalidation | null | undefined => {
      if (own === undefined) return undefined;
      const invalidation = ownCommits.get(own);
      ownCommits.delete(own);
      return invalidation;
    };
    void run(storage, method, args, () => ignored).then(
      ([value, transfer]) => {
        const invalidation = announced();
        const answer = invalidation ? { tid: value, invalidation } : value;
        reply({ v: PROTOCOL_VERSION, type: 'result', id, value: answer }, transfer);
      },
      (error: unknown) => {
        // Announced and yet failed (the owner's answer was lost: StorageBusyError): the commit
        // landed, and the page learns so from its invalidation, as from anyone else's.
        const invalidation = announced();
        if (invalidation) reply({ v: PROTOCOL_VERSION, type: 'invalidate', invalidation });
        fail(id, error);
      },
    );
  });
}

/** Runs one checked call; a record batch answer is transferred. */
async function run(
  storage: Storage,
  method: StorageMethod,
  args: unknown[],
  ignored: () => number,
): Promise<[unknown, Transferable[]]> {
  switch (method) {
    case 'load': {
      const buffer = packRecords(await storage.load(args[0] as number[], args[1] as number));
      return [buffer, [buffer]];
    }
    case 'pin':
      return [await storage.pin?.(args[0] as string, args[1] as number | null), []];
    case 'stats': {
      const stats = (await storage.stats()) as StorageStats & { ignoredMessages?: number };
      return [{ ...stats, ignoredMessages: (stats.ignoredMessages ?? 0) + ignored() }, []];
    }
    default: {
      const fn = storage[method] as (...a: unknown[]) => Promise<unknown>;
      return [await fn.apply(storage, args), []];
    }
  }
}

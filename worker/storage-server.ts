/**
 * The storage side of the wire: answers the messages of src/shared/protocol.ts with a Storage.
 * The worker entry serves its page with it; the tabs issue will serve other tabs with it too.
 *
 * Record batches travel as one transferred ArrayBuffer each way (record-batch.ts); expected
 * failures travel as error envelopes (errorToWire), so the page rethrows the same class with the
 * same fields. Every commit the storage announces is posted as an 'invalidate' message.
 */
import { errorToWire } from '../src/shared/errors.js';
import {
  PROTOCOL_VERSION,
  ProtocolError,
  parseMessage,
  type Message,
  type OpenRequest,
} from '../src/shared/protocol.js';
import { packRecords, unpackRecords } from '../src/shared/record-batch.js';
import type { CommitRequest, Invalidation, Storage } from '../src/shared/storage.js';

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
  /** txnIds of the page's commits in flight → their invalidation, once announced. */
  const ownCommits = new Map<string, Invalidation | null>();
  const reply = (message: Message, transfer: Transferable[] = []): void =>
    endpoint.postMessage(message, transfer);
  const fail = (id: number, error: unknown): void =>
    reply({ v: PROTOCOL_VERSION, type: 'error', id, error: errorToWire(error) });

  endpoint.addEventListener('message', (event: MessageEvent) => {
    let message: Message;
    try {
      message = parseMessage(event.data);
    } catch (error) {
      // Malformed or of another version: report it to the sender, never act on it.
      const id = (event.data as { id?: unknown } | null)?.id;
      if (typeof id === 'number') fail(id, error);
      else if (error instanceof ProtocolError)
        reply({ v: PROTOCOL_VERSION, type: 'error', id: -1, error: errorToWire(error) });
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
    if (message.type !== 'call') return;
    const { id, method, args } = message;
    if (storage === undefined) {
      fail(id, new ProtocolError(`storage call ${method} before open`));
      return;
    }
    const txnId = method === 'commit' ? (args[0] as { txnId?: string }).txnId : undefined;
    if (txnId !== undefined) ownCommits.set(txnId, null);
    const settle = (): Invalidation | null | undefined => {
      if (txnId === undefined) return undefined;
      const invalidation = ownCommits.get(txnId);
      ownCommits.delete(txnId);
      return invalidation;
    };
    void call(storage, method, args).then(
      ([value, transfer]) => {
        const invalidation = settle();
        const answer = invalidation ? { tid: value, invalidation } : value;
        reply({ v: PROTOCOL_VERSION, type: 'result', id, value: answer }, transfer);
      },
      (error: unknown) => {
        settle();
        fail(id, error);
      },
    );
  });
}

async function call(
  storage: Storage,
  method: string,
  args: unknown[],
): Promise<[unknown, Transferable[]]> {
  switch (method) {
    case 'load': {
      const records = await storage.load(args[0] as number[], args[1] as number | undefined);
      const buffer = packRecords(records);
      return [buffer, [buffer]];
    }
    case 'commit': {
      const txn = args[0] as Omit<CommitRequest, 'records'>;
      const records = unpackRecords(args[1] as ArrayBuffer);
      return [await storage.commit({ ...txn, records }), []];
    }
    case 'newOids':
      return [await storage.newOids(args[0] as number), []];
    case 'sync':
      return [await storage.sync(args[0] as number), []];
    case 'pack':
      return [await storage.pack(args[0] as object), []];
    case 'stats':
      return [await storage.stats(), []];
    case 'verify':
      return [await storage.verify(), []];
    case 'transactions':
      return [await storage.transactions(args[0] as object), []];
    case 'history':
      return [await storage.history(args[0] as number, args[1] as number | undefined), []];
    case 'pin':
      return [await storage.pin?.(args[0] as string, args[1] as number | null), []];
    case 'close':
      return [await storage.close(), []];
    default:
      throw new ProtocolError(`unknown storage method ${method}`);
  }
}

/**
 * The link between a page and its own storage worker, over Comlink: the worker `expose`s one
 * `StorageService` (worker/storage-server.ts), the page holds a `Remote` of it
 * (src/storage-client.ts). The methods are the Storage calls of storage-calls.ts, plus `open`.
 *
 * Comlink structured-clones arguments and answers, so two transfer handlers carry what cloning
 * would lose or make slow: a `RecordBatch` crosses as one transferred ArrayBuffer (both ways),
 * and an error — thrown, or passed to `report` — crosses as a `WireError` envelope, so the page
 * catches the same class with the same fields (`WriteConflictError` with its `.oids`); an error
 * of no shelfdb class keeps its name, message and stack.
 */
import { transferHandlers, type Endpoint as ComlinkEndpoint, type TransferHandler } from 'comlink';
import { errorFromWire, errorToWire, isWireError, type WireError } from './errors.js';
import { RecordBatch } from './record-batch.js';
import type { AnnouncedCommit } from './storage-calls.js';
import type {
  CommitRequest,
  Invalidation,
  PackOptions,
  PackResult,
  RecoveryReport,
  RevisionInfo,
  StorageStats,
  SyncResult,
  Tid,
  TransactionInfo,
  VerifyReport,
} from './storage.js';

/** Where messages come from and go to: a Worker, a worker's global scope, a MessagePort. */
export type Endpoint = ComlinkEndpoint;

/** What a page asks its storage worker to open. */
export interface OpenRequest {
  name: string;
  /** 'auto': OPFS where the worker has sync access handles, else IndexedDB. */
  storage: 'auto' | 'opfs' | 'indexeddb';
  durability: 'strict' | 'relaxed';
  recover: boolean;
  /** Milliseconds a call waits for the owning tab before failing with StorageBusyError. */
  busyTimeout: number;
}

/** What the worker tells the page without being asked (the page passes it as a Comlink proxy). */
export interface StorageEvents {
  /** A commit landed (another tab's, or one whose own answer was lost). */
  invalidate(invalidation: Invalidation): void;
  /** Work nobody awaited failed (a background checkpoint or flush, in whichever tab). */
  report(error: unknown): void;
}

/** The storage worker's service, as the page calls it. */
export interface StorageService {
  open(request: OpenRequest, events: StorageEvents): Promise<{ recovery?: RecoveryReport }>;
  load(oids: number[], atTid?: Tid): Promise<RecordBatch>;
  newOids(count: number): Promise<number[]>;
  commit(
    fields: Omit<CommitRequest, 'records'>,
    records: RecordBatch,
  ): Promise<Tid | AnnouncedCommit>;
  sync(sinceTid: Tid): Promise<SyncResult>;
  pack(options?: PackOptions): Promise<PackResult>;
  stats(): Promise<StorageStats>;
  verify(): Promise<VerifyReport>;
  transactions(options?: { limit?: number; before?: Tid }): Promise<TransactionInfo[]>;
  history(oid: number, limit?: number): Promise<RevisionInfo[]>;
  pin(holder: string, tid: Tid | null): Promise<void>;
  close(): Promise<void>;
}

const recordBatchHandler: TransferHandler<RecordBatch, ArrayBuffer> = {
  canHandle: (value): value is RecordBatch => value instanceof RecordBatch,
  serialize: (batch) => {
    const buffer = batch.buffer;
    return [buffer, [buffer]];
  },
  // Decoded (and checked) where the receiver reads `records`, so a malformed batch fails its call.
  deserialize: (buffer) => RecordBatch.fromBuffer(buffer),
};

const errorHandler: TransferHandler<Error, WireError> = {
  canHandle: (value): value is Error => value instanceof Error,
  serialize: (error) => [errorToWire(error), []],
  deserialize: (wire) => (isWireError(wire) ? errorFromWire(wire) : new Error(String(wire))),
};

/**
 * Registers the handlers with Comlink (both sides call it before they use the link; registering
 * twice is harmless). Comlink's own 'throw' handler is replaced by one that sends a thrown value as
 * a WireError, keeping Comlink's test for "this is a thrown value".
 */
export function registerLinkHandlers(): void {
  transferHandlers.set('shelfdb:records', recordBatchHandler as TransferHandler<unknown, unknown>);
  transferHandlers.set('shelfdb:error', errorHandler as TransferHandler<unknown, unknown>);
  const thrown = transferHandlers.get('throw') as TransferHandler<unknown, unknown>;
  transferHandlers.set('throw', {
    canHandle: thrown.canHandle,
    serialize: (value) => [errorToWire((value as { value: unknown }).value), []],
    deserialize: (wire) => {
      throw isWireError(wire) ? errorFromWire(wire) : new Error(String(wire));
    },
  });
}

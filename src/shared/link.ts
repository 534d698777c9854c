/**
 * The link between a page and its own storage worker, over Comlink: the worker `expose`s one
 * `StorageService` (worker/storage-server.ts), the page holds a `Remote` of it
 * (src/storage-client.ts). The methods are the Storage calls of storage-calls.ts, plus `open`.
 *
 * Comlink structured-clones arguments and answers, so two transfer handlers carry what cloning
 * would lose or make slow: a `RecordBatch` crosses as one transferred ArrayBuffer (both ways),
 * and a thrown error carries its `WireError` envelope, so the page catches the same class with the
 * same fields (`WriteConflictError` with its `.oids`); an error of no shelfdb class keeps its name,
 * message and stack. (A reported error crosses as a WireError argument.)
 *
 * Blobs need no handler: a putBlob's Blob and a blobFile's answer cross by structured clone, which
 * in browsers carries a handle to the bytes, not the bytes (a 20 MB File put from the page adds
 * nothing to its heap: e2e/blob-tabs.spec.ts); readBlob's bytes are transferred, not copied
 * (`Comlink.transfer` in worker/storage-server.ts: no handler, so the app's own links never see
 * it). A JS subclass of Blob (shelfdb's StoredBlob) clones as the empty native Blob underneath:
 * give `await blob.file()` instead.
 *
 * Invalidations come on the events object's own channel, a page's own commit's in its answer: the
 * two are not ordered, so a page may hear of its commit before an earlier one of another tab.
 * Each invalidation names the tid before it (`prevTid`), and a connection that sees a gap syncs.
 */
import { transferHandlers, type Endpoint as ComlinkEndpoint, type TransferHandler } from 'comlink';
import { errorFromWire, errorToWire, isWireError, type WireError } from './errors.js';
import { RecordBatch } from './record-batch.js';
import type { AnnouncedCommit } from './storage-calls.js';
import type {
  CommitRequest,
  Invalidation,
  PackProgress,
  RecoveryReport,
  Storage,
  Tid,
} from './storage.js';

/** Where messages come from and go to: a Worker, a worker's global scope, a MessagePort. */
export type Endpoint = ComlinkEndpoint;

/** What a page asks its storage worker to open. */
export interface OpenRequest {
  /** The database's name, as given to `openDatabase`. */
  name: string;
  /** 'auto': OPFS where the worker has sync access handles, else IndexedDB. */
  storage: 'auto' | 'opfs' | 'indexeddb';
  /** 'strict': a commit is acknowledged after flush; 'relaxed': after the write. */
  durability: 'strict' | 'relaxed';
  /** Open a damaged log anyway, keeping every readable transaction (see `openDatabase`). */
  recover: boolean;
  /** Milliseconds a call waits for the owning tab before failing with StorageBusyError. */
  busyTimeout: number;
}

/** What the worker tells the page without being asked (the page passes it as a Comlink proxy). */
export interface StorageEvents {
  /**
   * Commits landed (another tab's, or one whose own answer was lost), oldest first: those
   * announced in one turn (a group commit) cross in one message.
   */
  invalidate(invalidations: Invalidation[]): void;
  /** Work nobody awaited failed (a background checkpoint or flush, in whichever tab). */
  report(error: WireError): void;
  /**
   * How the page's pack call `packId` goes (storage-calls.ts, PackProgressBatch): at most one
   * message per slice of the pack; the worker waits for the last one to be handled before it
   * answers the pack call, so 'done' reaches the page before the pack's result.
   */
  packProgress(packId: string, progress: PackProgress[]): void;
}

/** The storage worker's service, as the page calls it. */
export interface StorageService extends Pick<
  Required<Storage>,
  | 'newOids'
  | 'sync'
  | 'pack'
  | 'stats'
  | 'verify'
  | 'transactions'
  | 'history'
  | 'pin'
  | 'putBlob'
  | 'readBlob'
  | 'blobFile'
  | 'close'
> {
  open(request: OpenRequest, events: StorageEvents): Promise<{ recovery?: RecoveryReport }>;
  /** `Storage.load`, its records in one batch. */
  load(oids: number[], atTid?: Tid): Promise<RecordBatch>;
  /** `Storage.commit`: the request's fields, then its records in one batch. */
  commit(
    fields: Omit<CommitRequest, 'records'>,
    records: RecordBatch,
  ): Promise<Tid | AnnouncedCommit>;
  /**
   * The page no longer waits for its pack call `packId` (its signal aborted): the worker aborts
   * the signal it gave that pack, which stops unless another caller joined it.
   */
  abortPack(packId: string): Promise<void>;
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

/** A thrown value as Comlink's own 'throw' handler sends it, and shelfdb's envelope beside it. */
interface Thrown {
  isError: boolean;
  value: unknown;
}

/**
 * Comlink's 'throw' handler with shelfdb's errors kept whole: the same wire shape as Comlink's own
 * (`{ isError, value: { message, name, stack } }`), so a Comlink link of the app's own between
 * code that does not load shelfdb still reads it, plus the `WireError` envelope in `value.shelf`,
 * from which this side rebuilds the class with its fields.
 */
const thrownHandler = (
  canHandle: (value: unknown) => boolean,
): TransferHandler<unknown, Thrown> => ({
  canHandle: (value): value is unknown => canHandle(value),
  serialize: (thrown) => {
    const value = (thrown as { value: unknown }).value;
    if (!(value instanceof Error)) return [{ isError: false, value }, []];
    const { name, message, stack } = value;
    return [{ isError: true, value: { name, message, stack, shelf: errorToWire(value) } }, []];
  },
  deserialize: (thrown) => {
    if (!thrown.isError) throw thrown.value;
    const value = thrown.value as { message?: unknown; shelf?: unknown };
    if (isWireError(value.shelf)) throw errorFromWire(value.shelf);
    throw Object.assign(new Error(String(value.message)), value);
  },
});

/**
 * Registers the handlers with Comlink (both sides call it before they use the link; registering
 * twice is harmless). Comlink keeps them in one map for the whole page, so they stay invisible to
 * other Comlink links of the app: the records handler takes only shelfdb's RecordBatch, and the
 * 'throw' handler writes what Comlink's own writes (keeping its test for "a thrown value").
 */
export function registerLinkHandlers(): void {
  transferHandlers.set('shelfdb:records', recordBatchHandler as TransferHandler<unknown, unknown>);
  const thrown = transferHandlers.get('throw') as TransferHandler<unknown, unknown>;
  transferHandlers.set(
    'throw',
    thrownHandler(thrown.canHandle) as TransferHandler<unknown, unknown>,
  );
}

/**
 * The error tree of shelfdb, and its wire form.
 *
 * ShelfError
 * ├─ ConflictError (.oids)
 * │  ├─ WriteConflictError   another connection committed an object this one wrote
 * │  └─ ReadConflictError    a needed revision was packed away, or a readCurrent object changed
 * ├─ GhostError (.oid, .className)   a property of an unloaded object was touched
 * ├─ SerializationError (.path)      a value that cannot be stored
 * │  └─ UnregisteredClassError (.className)
 * ├─ StorageError
 * │  ├─ CorruptStorageError
 * │  ├─ StorageFullError
 * │  └─ StorageBusyError
 * ├─ ProtocolError                   a message between worker and tabs that could not be read
 * │  └─ ProtocolVersionError (.version)   another tab runs another version of the app
 * └─ DatabaseClosedError
 *
 * Structured clone flattens an error to name/message/stack, so errors cross a worker or a tab as a
 * `WireError` envelope (`errorToWire`; on the Comlink link by its transfer handler, see
 * link.ts), and `errorFromWire` rebuilds the same class with the same fields on the other
 * side.
 */

/**
 * The base of every error shelfdb throws on purpose: `catch (e) { if (e instanceof ShelfError) … }`
 * tells shelfdb's errors from the app's own. Its message says what happened, to what, and what to
 * do. Errors keep their class and fields across the storage worker and between tabs.
 */
export class ShelfError extends Error {
  /** The class name, as `error.name` shows it ('ShelfError', 'WriteConflictError', …). */
  override name = 'ShelfError';
}

/**
 * A commit or load conflicted with another connection's or tab's commit (a WriteConflictError or a
 * ReadConflictError): nothing of the transaction was stored. `await conn.abort()` and redo the
 * change on the newest snapshot, or write through `conn.transact()`, which does so.
 */
export class ConflictError extends ShelfError {
  override name = 'ConflictError';
  /** The oids whose revisions conflicted. */
  readonly oids: number[];
  constructor(message: string, oids: number[]) {
    super(message);
    this.oids = oids;
  }
}

/**
 * Another connection or tab committed an object this commit writes, after this connection's
 * snapshot (first committer wins). Nothing was stored; the connection refuses writes until
 * `abort()`. `.oids` names the objects.
 * @example
 * try {
 *   await conn.commit();
 * } catch (error) {
 *   if (!(error instanceof WriteConflictError)) throw error;
 *   await conn.abort(); // then redo the change, or use conn.transact() which retries
 * }
 */
export class WriteConflictError extends ConflictError {
  override name = 'WriteConflictError';
  constructor(oids: number[], message?: string) {
    super(
      message ??
        `Write conflict on oid ${oids.join(', ')}: another connection committed ${
          oids.length === 1 ? 'this object' : 'these objects'
        } after this connection's snapshot. Nothing was stored. Call conn.abort() and redo the change, or use conn.transact(), which does so.`,
      oids,
    );
  }
}

/**
 * A revision this connection's snapshot needs was removed by pack, or an object pinned with
 * `conn.readCurrent(obj)` was changed by someone else before this commit. `.oids` names them.
 * `await conn.abort()` moves to the newest snapshot; try again there.
 */
export class ReadConflictError extends ConflictError {
  override name = 'ReadConflictError';
  constructor(oids: number[], message?: string) {
    super(
      message ??
        `Read conflict on oid ${oids.join(', ')}: the revision this connection's snapshot needs is gone or changed. Call conn.abort() to move to the newest snapshot and try again.`,
      oids,
    );
  }
}

/**
 * A property of a ghost (an object whose state is not loaded) was read or written. Load it first
 * with `await conn.load(obj)`, or run the code inside `conn.transact()`, which loads the ghosts it
 * touches and runs the code again.
 */
export class GhostError extends ShelfError {
  override name = 'GhostError';
  /** The ghost's oid. */
  readonly oid: number;
  /** The ghost's stored class name. */
  readonly className: string;
  constructor(oid: number, className: string, message?: string) {
    super(
      message ??
        `${className} ${oid} is a ghost: its state is not loaded. Load it first with \`await conn.load(obj)\`, or run this code inside \`conn.transact()\`, which loads it and runs the code again.`,
    );
    this.oid = oid;
    this.className = className;
  }
}

/**
 * A commit met a value that cannot be stored (a function, a symbol, a DOM node, a WeakMap…), at
 * `.path`; nothing was written. Store plain data or a persistent object there instead.
 */
export class SerializationError extends ShelfError {
  override name = 'SerializationError';
  /** Where the value sits, like `Todo 12 → .project.owner`. */
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.path = path;
  }
}

/**
 * A commit met an instance of a class this database does not know, at `.path`; nothing was
 * written. Make the class extend Persistent and list it in `openDatabase`'s `classes` (or call
 * `registerClass`), or store plain data instead.
 */
export class UnregisteredClassError extends SerializationError {
  override name = 'UnregisteredClassError';
  /** The class's name (its constructor's `name`). */
  readonly className: string;
  constructor(className: string, path: string, message?: string) {
    super(
      message ??
        `Cannot store an instance of class ${className} at ${path}: the class is not registered. Make it extend Persistent, give it a stable stored name (static _p_name = 'app.${className}') and list it in the database's classes or call registerClass(${className}); or store plain data instead.`,
      path,
    );
    this.className = className;
  }
}

/**
 * The storage failed: the platform refused a read or write (the platform's error is the `cause`),
 * or the database stopped writing after a failure it could not undo (reopen it). The subclasses
 * name the common cases.
 */
export class StorageError extends ShelfError {
  override name = 'StorageError';
}

/**
 * The stored files are damaged, or are not a shelfdb database; the message names the file and byte
 * offset, and nothing was changed. Copy the files away, then open with `{ recover: true }` to keep
 * every readable transaction.
 */
export class CorruptStorageError extends StorageError {
  override name = 'CorruptStorageError';
}

/**
 * The browser or disk refused to store more (`cause`: the platform's QuotaExceededError or ENOSPC).
 * Nothing of the call was stored and the database keeps working for reads and smaller commits: free
 * space (delete data, then `db.pack()`) or ask for `db.persist()`.
 */
export class StorageFullError extends StorageError {
  override name = 'StorageFullError';
}

/**
 * The database is held by someone who did not answer in time (a tab frozen in the background), or
 * is open already (a 'file' database open in another process). For a commit it means "not known
 * whether it landed": `conn.commit()` resends it (it lands once), `conn.abort()` drops it.
 */
export class StorageBusyError extends StorageError {
  override name = 'StorageBusyError';
}

/** A message between the storage worker and the tabs that could not be read. */
export class ProtocolError extends ShelfError {
  override name = 'ProtocolError';
}

/** A message of another protocol version: another version of the app runs in another tab. */
export class ProtocolVersionError extends ProtocolError {
  override name = 'ProtocolVersionError';
  constructor(
    /** The version the message said it speaks. */
    readonly version: unknown,
    expected: number,
    message = `shelfdb protocol version mismatch: got ${String(version)}, this code speaks ${expected}. Reload every tab of this app so they run the same version.`,
  ) {
    super(message);
  }
}

/** A call on a database (or one of its connections) after `db.close()`. Open it again. */
export class DatabaseClosedError extends ShelfError {
  override name = 'DatabaseClosedError';
  constructor(message = 'The database is closed. Open it again with openDatabase().') {
    super(message);
  }
}

/**
 * The error to report when `failed` happened and undoing what came before it (`cleanup`: closing
 * or releasing what was opened) was then needed: `failed` itself once `cleanup` succeeded; if it
 * failed too, a StorageError telling both (`failed` is its cause), so neither is lost.
 * @example
 * catch (error) { throw await afterCleanup(error, () => dir.close(), 'releasing the lock'); }
 */
export async function afterCleanup(
  failed: unknown,
  cleanup: () => Promise<void>,
  what: string,
): Promise<unknown> {
  try {
    await cleanup();
  } catch (cleanupError) {
    const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
    return new StorageError(
      `${message(failed)} Then ${what} failed too: ${message(cleanupError)}`,
      { cause: failed },
    );
  }
  return failed;
}

/** An error as it crosses postMessage. */
export interface WireError {
  /** Marks the envelope, so a returned value is never mistaken for an error. */
  shelfError: true;
  name: string;
  message: string;
  stack?: string;
  oids?: number[];
  oid?: number;
  className?: string;
  path?: string;
  version?: unknown;
}

export function errorToWire(error: unknown): WireError {
  if (!(error instanceof Error)) {
    return { shelfError: true, name: 'Error', message: String(error) };
  }
  const wire: WireError = { shelfError: true, name: error.name, message: error.message };
  if (error.stack !== undefined) wire.stack = error.stack;
  if (error instanceof ConflictError) wire.oids = [...error.oids];
  if (error instanceof GhostError) {
    wire.oid = error.oid;
    wire.className = error.className;
  }
  if (error instanceof SerializationError) wire.path = error.path;
  if (error instanceof UnregisteredClassError) wire.className = error.className;
  if (error instanceof ProtocolVersionError) wire.version = error.version;
  return wire;
}

export function isWireError(value: unknown): value is WireError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { shelfError?: unknown }).shelfError === true &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Rebuilds the error class named by the envelope; unknown names become a plain Error. */
export function errorFromWire(wire: WireError): Error {
  const m = wire.message;
  let error: Error;
  switch (wire.name) {
    case 'WriteConflictError':
      error = new WriteConflictError(wire.oids ?? [], m);
      break;
    case 'ReadConflictError':
      error = new ReadConflictError(wire.oids ?? [], m);
      break;
    case 'ConflictError':
      error = new ConflictError(m, wire.oids ?? []);
      break;
    case 'GhostError':
      error = new GhostError(wire.oid ?? -1, wire.className ?? '', m);
      break;
    case 'UnregisteredClassError':
      error = new UnregisteredClassError(wire.className ?? '', wire.path ?? '', m);
      break;
    case 'SerializationError':
      error = new SerializationError(m, wire.path ?? '');
      break;
    case 'CorruptStorageError':
      error = new CorruptStorageError(m);
      break;
    case 'StorageFullError':
      error = new StorageFullError(m);
      break;
    case 'StorageBusyError':
      error = new StorageBusyError(m);
      break;
    case 'StorageError':
      error = new StorageError(m);
      break;
    case 'ProtocolVersionError':
      error = new ProtocolVersionError(wire.version, NaN, m);
      break;
    case 'ProtocolError':
      error = new ProtocolError(m);
      break;
    case 'DatabaseClosedError':
      error = new DatabaseClosedError(m);
      break;
    case 'ShelfError':
      error = new ShelfError(m);
      break;
    case 'RangeError':
      error = new RangeError(m);
      break;
    case 'TypeError':
      error = new TypeError(m);
      break;
    default:
      error = new Error(m);
      error.name = wire.name;
  }
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

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
 * wire-handlers.ts), and `errorFromWire` rebuilds the same class with the same fields on the other
 * side.
 */

export class ShelfError extends Error {
  override name = 'ShelfError';
}

export class ConflictError extends ShelfError {
  override name = 'ConflictError';
  /** The oids whose revisions conflicted. */
  readonly oids: number[];
  constructor(message: string, oids: number[]) {
    super(message);
    this.oids = oids;
  }
}

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

export class GhostError extends ShelfError {
  override name = 'GhostError';
  readonly oid: number;
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

export class SerializationError extends ShelfError {
  override name = 'SerializationError';
  /** Where the value sits, like `Todo 12 → .project.owner`. */
  readonly path: string;
  constructor(message: string, path: string) {
    super(message);
    this.path = path;
  }
}

export class UnregisteredClassError extends SerializationError {
  override name = 'UnregisteredClassError';
  readonly className: string;
  constructor(className: string, path: string, message?: string) {
    super(
      message ??
        `Cannot store an instance of class ${className} at ${path}: the class is not registered. Make it extend Persistent and call registerClass(${className}), or store plain data instead.`,
      path,
    );
    this.className = className;
  }
}

export class StorageError extends ShelfError {
  override name = 'StorageError';
}

export class CorruptStorageError extends StorageError {
  override name = 'CorruptStorageError';
}

export class StorageFullError extends StorageError {
  override name = 'StorageFullError';
}

export class StorageBusyError extends StorageError {
  override name = 'StorageBusyError';
}

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

export class DatabaseClosedError extends ShelfError {
  override name = 'DatabaseClosedError';
  constructor(message = 'The database is closed. Open it again with openDatabase().') {
    super(message);
  }
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

/**
 * Object state ⇄ bytes.
 *
 * Encoding is CBOR (cbor-encode.ts, cbor-decode.ts; the format and its tags are in cbor-tags.ts).
 * Until 0.2 shelfdb used cbor-x with `structuredClone`; its own codec writes the same bytes for
 * the values shelfdb stores, and reads what cbor-x wrote, at a tenth of the size in the page
 * bundle. Cycles and shared references inside one object's state survive; a persistent object
 * is stored as a reference, [oid, className], and decoding makes a ghost of the right class
 * without a load.
 *
 * Before encoding, `scan` walks the state once: it refuses what cannot be stored (functions,
 * symbols, class instances that are neither persistent nor plain data, WeakMaps, DOM nodes…) and
 * collects the persistent objects (and the Blobs, which a commit stores first) referenced. The walk runs without building paths; only when it
 * finds a bad value does it walk again to name the path, all the way down through plain data:
 * `.name` or `["odd key"]` for a field, `[2]` for an array item, `{"x"}` for the value of Map key
 * "x" (`{3}`, `{12n}` for number and bigint keys; `{#0}` by entry number for object keys),
 * `{key #0}` inside a Map's key itself, `{#2}` for a Set's item by its place in iteration order.
 * So `Todo 12 → .project.owner`, `Doc 5 → .byName{"x"}.tags[2]`.
 */
import { CborDecoder, type ResolveBlob } from './cbor-decode.js';
import { CborEncoder } from './cbor-encode.js';
import { BLOB_TAG } from './cbor-tags.js';
import { blobTagItems, type BlobTagFields } from './blob-tag.js';
import type { BlobCatalog } from './blob-uploads.js';
import { makeStoredBlob } from './stored-blob.js';
import { SerializationError, UnregisteredClassError } from './shared/errors.js';
import { writeRecords, type RecordHead } from './shared/record-batch.js';
import { Persistent, isStoredKey, metaOf } from './persistent.js';

/** A record of a commit with its state still in its object (the raw instance behind the proxy). */
export interface RecordSource extends RecordHead {
  /** The object's fields: those `isStoredKey` accepts are its state. */
  fields: Record<string, unknown>;
}

/** Turns a reference read from bytes into the connection's object for that oid. */
export type RefResolver = (oid: number, className: string) => Persistent;

/** The stored form of a reference to a persistent object: [oid, className]. */
function refOf(value: object): readonly [number, string] | undefined {
  if (!(value instanceof Persistent)) return undefined;
  const m = metaOf(value);
  if (m.oid === undefined || m.className === undefined) {
    // scan() and Connection.commit assign oids before encoding; reaching this is a bug.
    throw new Error(`shelfdb: encoding a reference to an object without an oid`);
  }
  return [m.oid, m.className];
}

/** Why a value was refused, before its path is known. */
class Refusal {
  constructor(
    readonly describe: (path: string) => SerializationError,
    readonly at: unknown,
  ) {}
}

const isNativeClass = (ctor: unknown): boolean =>
  typeof ctor === 'function' &&
  /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(ctor));

function refuse(value: unknown): Refusal {
  const kind = typeof value;
  if (kind === 'function') {
    return new Refusal(
      (p) => new SerializationError(`Cannot store a function at ${p}: store data, not code.`, p),
      value,
    );
  }
  if (kind === 'symbol') {
    return new Refusal(
      (p) =>
        new SerializationError(`Cannot store a symbol at ${p}: symbols have no stored form.`, p),
      value,
    );
  }
  const ctor = (value as { constructor?: { name?: string } }).constructor;
  const name = typeof ctor?.name === 'string' && ctor.name !== '' ? ctor.name : 'Object';
  if (ctor === undefined || isNativeClass(ctor)) {
    return new Refusal(
      (p) =>
        new SerializationError(
          `Cannot store a ${name} at ${p}: shelfdb stores plain objects, arrays, Map, Set, Date, typed arrays, ArrayBuffer, DataView, primitives and persistent objects.`,
          p,
        ),
      value,
    );
  }
  return new Refusal((p) => new UnregisteredClassError(name, p), value);
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const identifier = /^[A-Za-z_$][\w$]*$/;
const keySegment = (key: string): string =>
  identifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
/** The path segment of the value under the `index`th key of a Map. */
function mapValueSegment(key: unknown, index: number): string {
  if (typeof key === 'string') return `{${JSON.stringify(key)}}`;
  if (typeof key === 'bigint') return `{${key}n}`;
  if (key === null || (typeof key !== 'object' && typeof key !== 'function')) {
    return `{${String(key)}}`;
  }
  return `{#${index}}`; // an object has no short name: its entry number
}

/**
 * How many arrays, plain objects, Maps and Sets one object's state may nest inside each other.
 * Encoder and decoder are recursive, and the decoder takes more stack per level (up to twice as
 * much for shared containers: tag 28 and the container each cost a call), so a state the encoder
 * could write might not be readable: a commit that succeeded, and a record that then loads as
 * CorruptStorageError. Refusing at commit what nests deeper keeps every stored state readable
 * with room to spare: at this depth the costliest state (shared Maps) takes about a quarter of
 * V8's default stack to read. (MongoDB allows 100 levels, Firestore 20.)
 */
export const MAX_NESTING = 256;

function isContainer(value: object): boolean {
  return (
    Array.isArray(value) || isPlainObject(value) || value instanceof Map || value instanceof Set
  );
}

function tooDeep(value: unknown, limit: number): Refusal {
  return new Refusal((p) => {
    const shown = p.length > 160 ? `${p.slice(0, 100)}…${p.slice(-40)}` : p;
    return new SerializationError(
      `Cannot store ${shown}: it is nested more than ${limit} levels deep (arrays, objects, Maps and Sets inside each other), deeper than shelfdb can read back. Split it: make the deep parts persistent objects of their own (a linked list as Persistent nodes, a tree as a BTree).`,
      p,
    );
  }, value);
}

/** Meets each persistent object and each Blob a walk finds (the walk does not descend into them). */
type RefVisitor = (ref: Persistent | Blob) => void;

/** Thrown by `pathTo`'s visitor to stop the walk where the target is. */
const FOUND = Symbol('found');

/**
 * Walks `value` (not descending into persistent objects), handing persistent objects to `visit`.
 * With `path` set it tracks where it is, to name the path of a refused value or a reference.
 * @throws Refusal
 */
function walk(
  value: unknown,
  visit: RefVisitor,
  seen: Set<object>,
  path: string[] | null,
  limit: number,
  depth = 0,
): void {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol') throw refuse(value);
    return;
  }
  if (value instanceof Persistent) {
    visit(value);
    return;
  }
  if (seen.has(value)) return;
  seen.add(value);
  const inner = depth + 1;
  if (inner > limit && isContainer(value)) throw tooDeep(value, limit);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) throw refuse(value);
    for (let i = 0; i < value.length; i++) {
      path?.push(`[${i}]`);
      walk(value[i], visit, seen, path, limit, inner);
      path?.pop();
    }
    return;
  }
  if (isPlainObject(value)) {
    const obj = value as Record<string, unknown>;
    for (const key in obj) {
      path?.push(keySegment(key));
      walk(obj[key], visit, seen, path, limit, inner);
      path?.pop();
    }
    return;
  }
  if (value instanceof Date || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return;
  if (value instanceof Blob) {
    visit(value); // a File too; stored by the commit before it captures (blob-uploads.ts)
    return;
  }
  if (value instanceof Map) {
    let i = 0;
    for (const [k, v] of value) {
      path?.push(`{key #${i}}`);
      walk(k, visit, seen, path, limit, inner);
      path?.pop();
      path?.push(mapValueSegment(k, i++));
      walk(v, visit, seen, path, limit, inner);
      path?.pop();
    }
    return;
  }
  if (value instanceof Set) {
    let i = 0;
    for (const item of value) {
      path?.push(`{#${i++}}`);
      walk(item, visit, seen, path, limit, inner);
      path?.pop();
    }
    return;
  }
  throw refuse(value);
}

export class Serializer {
  private readonly encoder = new CborEncoder(refOf, (value) =>
    value instanceof Blob
      ? { tag: BLOB_TAG, items: blobTagItems(this.blobFields(value)) }
      : undefined,
  );
  private readonly decoder = new CborDecoder();
  /** Loaded Blobs become StoredBlobs reading through the catalog (BlobReferences without one). */
  private readonly storedBlob: ResolveBlob | undefined;
  /** While `packCommit` runs: the tags of the Blobs its commit records. */
  private capturing: ReadonlyMap<Blob, Readonly<BlobTagFields>> | undefined;

  /**
   * @param blobs the database's Blobs (blob-uploads.ts): without it, a state holding a Blob
   *   cannot be encoded, and decodes its Blobs as BlobReferences.
   */
  constructor(readonly blobs?: BlobCatalog) {
    this.storedBlob =
      blobs === undefined
        ? undefined
        : (fields) => {
            blobs.decoded(fields);
            return makeStoredBlob(blobs, fields);
          };
  }

  /** The tag of a Blob being encoded: recorded by the commit being packed, or before. */
  private blobFields(blob: Blob): Readonly<BlobTagFields> {
    const fields = this.capturing?.get(blob) ?? this.blobs?.fieldsOf(blob);
    // The commit stores and records every Blob before it encodes; reaching this is a bug.
    if (fields === undefined) throw new Error('shelfdb: encoding a Blob that has no record');
    return fields;
  }

  /**
   * Checks that `state` can be stored and returns the persistent objects it references.
   * @param label names the object in error paths, like `Todo 12` or `new Todo`.
   * @param maxNesting how deep containers may nest (MAX_NESTING for a state to be committed);
   *   `Infinity` to gather the references of a state that is stored already, which may have been
   *   written deeper (by cbor-x before 0.2, or a BrokenObject's state inside its wrapper).
   * @throws SerializationError / UnregisteredClassError naming the path of the first bad value.
   */
  scan(
    state: Record<string, unknown>,
    label: string | (() => string),
    maxNesting = MAX_NESTING,
  ): Persistent[] {
    return this.scanKeys(state, Object.keys(state), label, maxNesting);
  }

  /**
   * `scan` of a persistent object's stored fields (those `isStoredKey` accepts) read straight from
   * its raw instance, without copying them out into a state first.
   */
  scanFields(fields: Record<string, unknown>, label: () => string, blobs?: Blob[]): Persistent[] {
    return this.scanKeys(
      fields,
      Object.keys(fields).filter(isStoredKey),
      label,
      MAX_NESTING,
      blobs,
    );
  }

  private scanKeys(
    state: Record<string, unknown>,
    keys: string[],
    label: string | (() => string),
    maxNesting: number,
    blobs?: Blob[],
  ): Persistent[] {
    const refs: Persistent[] = [];
    const seen = new Set<object>();
    try {
      const visit = (ref: Persistent | Blob): void => {
        if (ref instanceof Persistent) refs.push(ref);
        else blobs?.push(ref);
      };
      for (const key of keys) walk(state[key], visit, seen, null, maxNesting);
      return refs;
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
    }
    // Walk again, tracking the path this time.
    const path: string[] = [];
    try {
      for (const key of keys) {
        path.push(keySegment(key));
        walk(state[key], () => undefined, new Set(), path, maxNesting);
        path.pop();
      }
    } catch (e) {
      if (e instanceof Refusal) {
        throw e.describe(`${typeof label === 'string' ? label : label()} → ${path.join('')}`);
      }
      throw e;
    }
    throw new Error('shelfdb: scan refused a value it could not find again');
  }

  /**
   * The path in an already scanned `state` through which it references `target` (the first way
   * in), for error messages: `Bag 12 → .slot.inner`. Just `label` if it does not.
   */
  pathTo(state: Record<string, unknown>, label: string, target: Persistent): string {
    const path: string[] = [];
    const visit = (ref: Persistent | Blob): void => {
      if (ref === target) throw FOUND;
    };
    try {
      for (const key in state) {
        path.push(keySegment(key));
        walk(state[key], visit, new Set(), path, Infinity);
        path.pop();
      }
    } catch (e) {
      if (e === FOUND) return `${label} → ${path.join('')}`;
      throw e;
    }
    return label;
  }

  /**
   * Encodes a commit's records, scanned, straight into one record batch (record-batch.ts's
   * layout): each state from its object's stored fields, with no copy per record. Every persistent
   * object they reference must have an oid by now, and every Blob a record (one of `newBlobs`, or
   * one the catalog knows). Returns the batch (its first `length` bytes of
   * `buffer`) and each record's state size.
   */
  packCommit(
    records: readonly RecordSource[],
    newBlobs?: ReadonlyMap<Blob, Readonly<BlobTagFields>>,
  ): {
    buffer: ArrayBuffer;
    length: number;
    stateSizes: number[];
  } {
    const encoder = this.encoder;
    this.capturing = newBlobs;
    try {
      encoder.beginBatch();
      const stateSizes = writeRecords(encoder, records, (r) =>
        encoder.appendFields(r.fields, isStoredKey),
      );
      return { ...encoder.endBatch(), stateSizes };
    } finally {
      this.capturing = undefined;
    }
  }

  /** Encodes scanned state. Every persistent object it references must have an oid by now. */
  encode(state: Record<string, unknown>): Uint8Array {
    return this.encoder.encode(state); // a new array: later encodes do not touch it
  }

  /**
   * Decodes bytes, turning references into objects through `resolve`. The result shares no
   * memory with `bytes`, which belong to the storage (or to a whole transferred batch).
   * @throws CorruptStorageError when the bytes are not a whole, well-formed state.
   */
  decode(bytes: Uint8Array, resolve: RefResolver): Record<string, unknown> {
    return this.decoder.decode(bytes, resolve, this.storedBlob);
  }
}

/** Helpers for the JSON value tests: naming of references, state generators, graph checks. */
import fc from 'fast-check';
import { defineField } from '../src/archive/json-markers.js';
import {
  canonicalJson,
  decodeState,
  jsonToState,
  stateToJson,
  StoredRef,
  type Json,
  type RefMarker,
} from '../src/archive/json-value.js';
import { CborEncoder } from '../src/cbor-encode.js';

/** Encodes as serialize.ts does, a StoredRef standing for a persistent object. */
export const encoder = new CborEncoder((value) =>
  value instanceof StoredRef ? [value.oid, value.className] : undefined,
);

/** An archive's naming: even oids are entries (`$ref` by id), odd ones are outside (`$ext`). */
const CLASSES = new Map<number, string>();
export function refToJson(ref: StoredRef): Json {
  CLASSES.set(ref.oid, ref.className);
  return ref.oid % 2 === 0 ? { $ref: String(ref.oid) } : { $ext: ref.oid, class: ref.className };
}
export function refFromJson(marker: RefMarker): StoredRef {
  if (marker.$ref !== undefined) {
    const oid = Number(marker.$ref);
    return new StoredRef(oid, CLASSES.get(oid) ?? 'app.Unknown');
  }
  return new StoredRef(marker.$ext as number, marker.class as string);
}

/**
 * Fails unless `a` and `b` are the same values with the same sharing: a one-to-one pairing of
 * their objects under which every pair has the same kind and content (keys compared as sets:
 * their order is not content). References compare by oid and class.
 */
export function expectSameGraph(a: unknown, b: unknown): void {
  const pairs = new Map<object, object>();
  const back = new Map<object, object>();
  const walk = (x: unknown, y: unknown, path: string): void => {
    const fail = (why: string): never => {
      throw new Error(`${path || '.'}: ${why}`);
    };
    if (typeof x !== 'object' || x === null) {
      if (!Object.is(x, y)) fail(`${String(x)} ≠ ${String(y)}`);
      return;
    }
    if (typeof y !== 'object' || y === null) return void fail('an object became a primitive');
    // A plain object is one whatever its prototype (the encoder writes a null-prototype one so).
    const kind = (o: object): unknown => Object.getPrototypeOf(o) ?? Object.prototype;
    if (kind(x) !== kind(y)) fail('the kinds differ');
    if (x instanceof StoredRef) {
      const r = y as StoredRef;
      if (x.oid !== r.oid || x.className !== r.className) fail('another reference');
      return;
    }
    if (pairs.has(x) || back.has(y)) {
      if (pairs.get(x) !== y) fail('the sharing differs');
      return;
    }
    pairs.set(x, y);
    back.set(y, x);
    if (x instanceof Date) {
      if (!Object.is(x.getTime(), (y as Date).getTime())) fail('another time');
    } else if (x instanceof ArrayBuffer || ArrayBuffer.isView(x)) {
      const items = (v: object): unknown[] =>
        v instanceof ArrayBuffer || v instanceof DataView
          ? [...new Uint8Array(v instanceof DataView ? v.buffer : v)]
          : [...(v as unknown as Iterable<unknown>)];
      const [p, q] = [items(x), items(y)];
      if (p.length !== q.length || p.some((v, i) => !Object.is(v, q[i]))) fail('other elements');
    } else if (x instanceof Map) {
      const [p, q] = [[...x], [...(y as Map<unknown, unknown>)]];
      if (p.length !== q.length) fail('another size');
      p.forEach(([k, v], i) => {
        walk(k, q[i]?.[0], `${path}{key #${i}}`);
        walk(v, q[i]?.[1], `${path}{#${i}}`);
      });
    } else if (x instanceof Set) {
      const [p, q] = [[...x], [...(y as Set<unknown>)]];
      if (p.length !== q.length) fail('another size');
      p.forEach((v, i) => walk(v, q[i], `${path}{#${i}}`));
    } else {
      const [p, q] = [Object.keys(x).sort(), Object.keys(y).sort()];
      if (JSON.stringify(p) !== JSON.stringify(q)) fail(`keys ${p.join()} ≠ ${q.join()}`);
      for (const key of p) {
        const get = (o: object): unknown => (o as Record<string, unknown>)[key];
        walk(get(x), get(y), `${path}[${JSON.stringify(key)}]`);
      }
    }
  };
  walk(a, b, '');
}

/** Every value a state can store (API.md "Serializable values"), as leaves. */
const leaf = fc.oneof(
  fc.constantFrom(
    null,
    undefined,
    true,
    false,
    -0,
    0,
    NaN,
    Infinity,
    -Infinity,
    2 ** 53,
    -(2 ** 32),
  ),
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }),
  fc.date({ noInvalidDate: false }),
  // Often enough: an invalid Date, and −0 where storage keeps it (in the bytes of an array).
  fc.constant(null).map(() => new Date(NaN)),
  fc.double().map((x) => new Float64Array([x, -0])),
  fc.oneof(
    fc.int8Array(),
    fc.uint8Array(),
    fc.uint8ClampedArray(),
    fc.int16Array(),
    fc.uint16Array(),
    fc.int32Array(),
    fc.uint32Array(),
    fc.float32Array(),
    fc.float64Array(),
    fc.bigInt64Array(),
    fc.bigUint64Array(),
  ),
  fc.uint8Array().map((bytes) => bytes.buffer),
  fc.uint8Array().map((bytes) => new DataView(bytes.buffer)),
  // One class per oid, as in a database.
  fc.nat(1000).map((oid) => new StoredRef(oid, oid % 3 === 0 ? 'app.Person' : 'app.Todo')),
);

/** Keys, with the awkward ones often: markers, escapes, `__proto__`, integer-like ones. */
const key = fc.oneof(
  fc.string(),
  fc.constantFrom('$ref', '$same', '$$x', '$', '__proto__', '10', '9', 'a.b', ''),
);

/** Adds a value met before into a container: what makes shared parts and cycles. */
interface Link {
  into: number;
  from: number;
  key: string;
}

/** Every object of `value` (containers and leaves), in walk order. */
function objectsOf(value: unknown, out: object[] = []): object[] {
  if (typeof value !== 'object' || value === null || out.includes(value)) return out;
  if (value instanceof StoredRef) return out;
  out.push(value);
  if (value instanceof Map) for (const [k, v] of value) objectsOf(v, objectsOf(k, out));
  else if (value instanceof Set || Array.isArray(value)) for (const v of value) objectsOf(v, out);
  else if (!(value instanceof Date || value instanceof ArrayBuffer || ArrayBuffer.isView(value))) {
    for (const v of Object.values(value)) objectsOf(v, out);
  }
  return out;
}

/** A copy of the containers of `value` (fast-check reuses generated values while it shrinks). */
function copied(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copied);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [copied(k), copied(v)]));
  if (value instanceof Set) return new Set([...value].map(copied));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
    return value; // a leaf: never changed by `linked`
  }
  const out = {};
  for (const [k, v] of Object.entries(value)) defineField(out, k, copied(v));
  return out;
}

/** `state` with each link added (a container gets an object from elsewhere, maybe its ancestor). */
function linked(original: Record<string, unknown>, links: Link[]): Record<string, unknown> {
  const state = copied(original) as Record<string, unknown>;
  const objects = objectsOf(state).slice(1); // the state itself is never inside itself
  for (const { into, from, key } of links) {
    const container = objects[into % Math.max(objects.length, 1)];
    const value = objects[from % Math.max(objects.length, 1)];
    if (container === undefined || value === undefined) continue;
    if (Array.isArray(container)) container.push(value);
    else if (container instanceof Map) container.set(key, value);
    else if (container instanceof Set) container.add(value);
    else if (Object.getPrototypeOf(container) === Object.prototype) {
      defineField(container, key, value);
    }
  }
  return state;
}

export const states = fc
  .tuple(
    // Few keys per level: a failure shrinks in seconds, where wide states take minutes.
    fc.dictionary(
      key,
      fc.anything({ key, values: [leaf], maxDepth: 3, maxKeys: 4, withMap: true, withSet: true }),
      { maxKeys: 6 },
    ),
    fc.array(fc.record({ into: fc.nat(), from: fc.nat(), key }), { maxLength: 6 }),
  )
  .map(([state, links]) => linked(state, links));

/** The export → text → commit path: stored bytes, JSON text, and the bytes written back. */
export function throughJson(state: Record<string, unknown>, pretty: boolean) {
  const first = decodeState(encoder.encode(state));
  const json = stateToJson(first, refToJson);
  const text = canonicalJson(json, { pretty });
  const committed = jsonToState(JSON.parse(text) as { [key: string]: Json }, refFromJson);
  const second = decodeState(encoder.encode(committed));
  return { first, text, second };
}

/**
 * JSON → state: the inverse of json-value.ts's canonical form. It rebuilds Maps, Sets, Dates,
 * bigints, binary values, shared objects and cycles; a reference marker (`$ref`, `$ext`) becomes
 * what the caller stores for it.
 *
 * The JSON may come from a person's editor, so every marker is checked: a malformed one is a
 * CorruptStorageError naming its path (serialize.ts's path language, as `$same` uses it) and what
 * to write instead. Plain-object keys are walked in sorted order, as valueToJson walks them, so a
 * `$same` resolves to the first occurrence whatever order the text has its keys in. What nests
 * deeper than a state may (MAX_NESTING) is refused: it could be written but not read back.
 */
import { CorruptStorageError } from '../shared/errors.js';
import { MAX_NESTING } from '../serialize.js';
import { fromBase64 } from './base64.js';
import { BLOB_MARKER_KEYS, blobFromJson } from './blob-json.js';
import {
  DECIMAL_INTEGER,
  isoDate,
  markedNumberProblem,
  show,
  typedArrayElements,
} from './json-leaves.js';
import {
  BYTE_KINDS,
  defineField,
  keySegment,
  MARKED_NUMBERS,
  NUMBER_ARRAYS,
  showPath,
  type Json,
  type JsonObject,
} from './json-markers.js';

/** A reference marker as read: `{ $ref }` (an archive entry) or `{ $ext, class }` (outside it). */
export interface RefMarker {
  /** The id of the archive entry referenced. */
  $ref?: string;
  /** The oid of an object outside the archive. */
  $ext?: number;
  /** Its class (with `$ext`). */
  class?: string;
}

/** What to store for a reference marker found at `path`; may throw to refuse it. */
export type JsonRef = (marker: RefMarker, path: string) => unknown;

/** How jsonToValue/jsonToState read. */
export interface FromJsonOptions {
  /** Names the JSON in messages, in front of the path: `objects/12.json → .tags[2]`. */
  where?: string;
}

/**
 * The value `json` stands for (valueToJson's inverse).
 * @throws CorruptStorageError naming the path of a malformed marker (an unknown `$` key, a `$date`
 *   that is not an ISO date, bad base64, a `$same` to a path not met before, …).
 */
export function jsonToValue(json: Json, ref: JsonRef, options: FromJsonOptions = {}): unknown {
  const walk = new ValueWalk(ref, options.where);
  return walk.run(() => walk.value(json, '', 0));
}

/** A state from its JSON object (stateToJson's inverse; see jsonToValue). */
export function jsonToState(
  json: JsonObject,
  ref: JsonRef,
  options: FromJsonOptions = {},
): Record<string, unknown> {
  const walk = new ValueWalk(ref, options.where);
  return walk.run(() => {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw walk.malformed('', 'a state must be a JSON object of its fields');
    }
    if (Object.prototype.hasOwnProperty.call(json, '__proto__')) {
      // The decoder reads a state's field __proto__ back as __proto_ (cbor-decode.ts): written,
      // it would not be the field it says.
      throw walk.malformed(
        '.__proto__',
        'a state has no field named __proto__ (it would read back as __proto_); rename it',
      );
    }
    // The state's fields nest from depth 0, as Serializer.scan counts them.
    return walk.plainObject(json, '', -1);
  });
}

/** The markers and the other keys each allows. */
const MARKER_KEYS: ReadonlyMap<string, readonly string[]> = new Map([
  ['$ref', []],
  ['$ext', ['class']],
  ['$undefined', []],
  ['$number', []],
  ['$bigint', []],
  ['$date', []],
  ['$map', []],
  ['$set', []],
  ['$type', []], // base64 or values: checked by kind
  ['$same', []],
  ['$blob', BLOB_MARKER_KEYS],
]);

/** One conversion: the objects made so far, by the path where each was made. */
class ValueWalk {
  private readonly made = new Map<string, unknown>();

  constructor(
    private readonly ref: JsonRef,
    private readonly where: string | undefined,
  ) {}

  /** Runs the walk, turning a stack overflow (JSON nested absurdly deep) into a clear error. */
  run<T>(walk: () => T): T {
    try {
      return walk();
    } catch (e) {
      if (e instanceof RangeError) {
        throw this.malformed('', `it is nested too deeply to read (${e.message})`);
      }
      throw e;
    }
  }

  malformed(path: string, problem: string): CorruptStorageError {
    const at = this.where === undefined ? showPath(path) : `${this.where} → ${showPath(path)}`;
    return new CorruptStorageError(
      `The archive's JSON is malformed at ${at}: ${problem}. Correct it there (or export the object again).`,
    );
  }

  /** `json` at `path`, inside containers nested `depth` deep. */
  value(json: Json, path: string, depth: number): unknown {
    switch (typeof json) {
      case 'string':
      case 'boolean':
        return json;
      case 'number':
        if (!Number.isFinite(json)) throw this.malformed(path, `${json} is not a JSON number`);
        return json;
      case 'object':
        if (json === null) return null;
        if (Array.isArray(json)) {
          const array: unknown[] = [];
          this.enter(array, path, depth);
          json.forEach((item, i) =>
            array.push(this.value(item, hasPath(item) ? `${path}[${i}]` : '', depth + 1)),
          );
          return array;
        }
        return this.object(json, path, depth);
      default:
        throw this.malformed(path, `a ${typeof json} is not JSON`);
    }
  }

  /**
   * Registers the container made at `path` (for `$same`), checking it nests no deeper than a
   * stored state may (MAX_NESTING, counted as Serializer.scan counts).
   */
  private enter(container: object, path: string, depth: number): void {
    if (depth + 1 > MAX_NESTING) {
      throw this.malformed(
        path,
        `arrays, objects, Maps and Sets are nested more than ${MAX_NESTING} levels deep here, deeper than shelfdb can read back: make the deep parts objects of their own`,
      );
    }
    this.made.set(path, container);
  }

  private object(json: JsonObject, path: string, depth: number): unknown {
    const markers = Object.keys(json).filter((k) => k.startsWith('$') && !k.startsWith('$$'));
    if (markers.length === 0) return this.plainObject(json, path, depth);
    const marker = markers[0] as string;
    const allowed = MARKER_KEYS.get(marker);
    if (markers.length > 1 || allowed === undefined) {
      const names = markers.map((k) => JSON.stringify(k)).join(', ');
      throw this.malformed(
        path,
        `${names} ${markers.length > 1 ? 'are not one marker' : 'is no marker'} (markers: ${[...MARKER_KEYS.keys()].join(', ')}); a key of your own that starts with $ is written with one more ("$x" → "$$x")`,
      );
    }
    if (marker !== '$type') this.onlyKeys(json, path, marker, allowed);
    const content = json[marker] as Json;
    switch (marker) {
      case '$ref':
        if (typeof content !== 'string' || content === '') {
          throw this.malformed(
            path,
            `"$ref" must be the id of an archive entry, a string; found ${show(content)}`,
          );
        }
        return this.ref({ $ref: content }, showPath(path));
      case '$ext': {
        const className = json.class;
        if (typeof content !== 'number' || !Number.isSafeInteger(content) || content < 0) {
          throw this.malformed(
            path,
            `"$ext" must be an oid, an integer ≥ 0; found ${show(content)}`,
          );
        }
        if (typeof className !== 'string' || className === '') {
          throw this.malformed(
            path,
            `"$ext" needs "class", the referenced object's class name; found ${show(className)}`,
          );
        }
        return this.ref({ $ext: content, class: className }, showPath(path));
      }
      case '$undefined':
        if (content !== true)
          throw this.malformed(path, `"$undefined" must be true; found ${show(content)}`);
        return undefined;
      case '$number':
        return this.markedNumber(content, path);
      case '$bigint':
        if (typeof content !== 'string' || !DECIMAL_INTEGER.test(content)) {
          throw this.malformed(
            path,
            `"$bigint" must be a decimal integer in a string, as "-123"; found ${show(content)}`,
          );
        }
        return BigInt(content);
      case '$date':
        return this.date(content, path);
      case '$map':
        return this.map(content, path, depth);
      case '$set':
        return this.set(content, path, depth);
      case '$type':
        return this.binary(json, path);
      case '$blob':
        return blobFromJson(
          json,
          (record) => this.value(record, `${path}.record`, depth),
          (problem) => this.malformed(path, problem),
        );
      default:
        return this.same(content, path);
    }
  }

  plainObject(json: JsonObject, path: string, depth: number): Record<string, unknown> {
    const object: Record<string, unknown> = {};
    this.enter(object, path, depth);
    for (const written of Object.keys(json).sort()) {
      // Markers are handled by the caller: a key starting with $ here starts with $$.
      const key = written.startsWith('$') ? written.slice(1) : written;
      const item = json[written] as Json;
      defineField(
        object,
        key,
        this.value(item, hasPath(item) ? `${path}${keySegment(key)}` : '', depth + 1),
      );
    }
    return object;
  }

  private onlyKeys(
    json: JsonObject,
    path: string,
    marker: string,
    allowed: readonly string[],
  ): void {
    const extra = Object.keys(json).filter((k) => k !== marker && !allowed.includes(k));
    if (extra.length > 0) {
      throw this.malformed(
        path,
        `a "${marker}" marker has ${allowed.length === 0 ? 'no other key' : `only ${allowed.map((k) => `"${k}"`).join(', ')} beside it`}, but this one has ${extra.map((k) => JSON.stringify(k)).join(', ')}`,
      );
    }
  }

  private markedNumber(content: Json, path: string): number {
    const number = typeof content === 'string' ? MARKED_NUMBERS.get(content) : undefined;
    if (number === undefined) throw this.malformed(path, markedNumberProblem(content));
    return number;
  }

  private date(content: Json, path: string): Date {
    const date =
      content === null ? new Date(NaN) : typeof content === 'string' ? isoDate(content) : undefined;
    if (date === undefined) {
      throw this.malformed(
        path,
        `"$date" must be an ISO 8601 date with a time zone, as "2026-01-02T03:04:05.000Z", or null for an invalid Date; found ${show(content)}`,
      );
    }
    this.made.set(path, date);
    return date;
  }

  private map(content: Json, path: string, depth: number): Map<unknown, unknown> {
    if (!Array.isArray(content)) {
      throw this.malformed(
        path,
        `"$map" must be an array of [key, value] pairs; found ${show(content)}`,
      );
    }
    const map = new Map<unknown, unknown>();
    this.enter(map, path, depth);
    content.forEach((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw this.malformed(
          `${path}{#${i}}`,
          `a "$map" entry must be a [key, value] pair; found ${show(pair)}`,
        );
      }
      const [k, v] = pair as [Json, Json];
      const key = this.value(k, hasPath(k) ? `${path}{key #${i}}` : '', depth + 1);
      if (map.has(key)) throw this.malformed(`${path}{key #${i}}`, 'the Map has this key already');
      map.set(key, this.value(v, hasPath(v) ? `${path}{#${i}}` : '', depth + 1));
    });
    return map;
  }

  private set(content: Json, path: string, depth: number): Set<unknown> {
    if (!Array.isArray(content)) {
      throw this.malformed(path, `"$set" must be an array of the items; found ${show(content)}`);
    }
    const set = new Set<unknown>();
    this.enter(set, path, depth);
    content.forEach((item, i) => {
      const value = this.value(item, hasPath(item) ? `${path}{#${i}}` : '', depth + 1);
      if (set.has(value)) throw this.malformed(`${path}{#${i}}`, 'the Set has this item already');
      set.add(value);
    });
    return set;
  }

  private same(content: Json, path: string): unknown {
    const target = typeof content === 'string' ? (content === '.' ? '' : content) : undefined;
    if (target === undefined || !this.made.has(target)) {
      throw this.malformed(
        path,
        `"$same" must be the path of an object met before it (keys are read in sorted order: move the full value to the first place it is met); found ${show(content)}`,
      );
    }
    return this.made.get(target);
  }

  private binary(json: JsonObject, path: string): unknown {
    const kind = json.$type;
    const isBytes = typeof kind === 'string' && (BYTE_KINDS as readonly string[]).includes(kind);
    const numbers = typeof kind === 'string' ? NUMBER_ARRAYS.get(kind) : undefined;
    if (!isBytes && numbers === undefined) {
      throw this.malformed(
        path,
        `"$type" must be one of ${[...BYTE_KINDS, ...NUMBER_ARRAYS.keys()].join(', ')}; found ${show(kind ?? null)}`,
      );
    }
    this.onlyKeys(json, path, '$type', [isBytes ? 'base64' : 'values']);
    const value = isBytes
      ? this.bytes(kind as string, json.base64 ?? null, path)
      : this.numbers(
          kind as string,
          numbers as NonNullable<typeof numbers>,
          json.values ?? null,
          path,
        );
    this.made.set(path, value);
    return value;
  }

  private bytes(kind: string, base64: Json, path: string): unknown {
    const bytes = typeof base64 === 'string' ? fromBase64(base64) : undefined;
    if (bytes === undefined) {
      throw this.malformed(
        path,
        `"base64" of a ${kind} must be base64 text (A-Z a-z 0-9 + /, padded with =); found ${show(base64)}`,
      );
    }
    if (kind === 'ArrayBuffer') return bytes.buffer;
    if (kind === 'DataView') return new DataView(bytes.buffer);
    if (kind === 'Uint8ClampedArray') return new Uint8ClampedArray(bytes.buffer);
    return bytes;
  }

  private numbers(
    kind: string,
    cls: NonNullable<ReturnType<typeof NUMBER_ARRAYS.get>>,
    values: Json,
    path: string,
  ): unknown {
    if (!Array.isArray(values)) {
      throw this.malformed(
        path,
        `"values" of a ${kind} must be an array of its elements; found ${show(values)}`,
      );
    }
    const elements = typedArrayElements(kind, values);
    if (!Array.isArray(elements))
      throw this.malformed(`${path}[${elements.index}]`, elements.problem);
    return new (cls as new (items: readonly (number | bigint)[]) => unknown)(elements);
  }
}

/**
 * Whether the walk needs the path of `json`: an object is made (and remembered) or refused by it.
 * Strings, numbers, booleans and null are not, and building every path slowed the walk.
 */
function hasPath(json: Json): boolean {
  return typeof json === 'object'
    ? json !== null
    : typeof json === 'number' && !Number.isFinite(json);
}

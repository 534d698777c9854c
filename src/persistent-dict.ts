/**
 * PersistentDict: a Map that is one persistent object, loaded whole, so its methods are
 * synchronous. Mutations mark it changed; reads do not. Use a BTree for collections too large to
 * load at once.
 */
import { Persistent } from './persistent.js';

/**
 * @example
 * const people = new PersistentDict<string, Person>();
 * people.set('ada', ada);
 * root.set('people', people);
 * await conn.commit();
 */
export class PersistentDict<K = unknown, V = unknown> extends Persistent implements Map<K, V> {
  /** The entries, stored as one CBOR map. */
  data: Map<K, V>;

  constructor(entries?: Iterable<readonly [K, V]> | null) {
    super();
    this.data = new Map(entries ?? undefined);
  }

  get size(): number {
    return this.data.size;
  }

  get(key: K): V | undefined {
    return this.data.get(key);
  }

  has(key: K): boolean {
    return this.data.has(key);
  }

  set(key: K, value: V): this {
    this.data.set(key, value);
    this._p_noteChange();
    return this;
  }

  /**
   * The value of `key`; if there is none, stores `value` under it first (a change) and returns it.
   * Map's upsert (ES2026), so a dict still implements Map where the app's TypeScript has it.
   */
  getOrInsert(key: K, value: V): V {
    if (this.data.has(key)) return this.data.get(key) as V;
    this.set(key, value);
    return value;
  }

  /** Like `getOrInsert`, with the value made by `compute(key)` only when `key` is missing. */
  getOrInsertComputed(key: K, compute: (key: K) => V): V {
    if (this.data.has(key)) return this.data.get(key) as V;
    const value = compute(key);
    this.set(key, value);
    return value;
  }

  delete(key: K): boolean {
    if (!this.data.has(key)) return false;
    this.data.delete(key);
    this._p_noteChange();
    return true;
  }

  clear(): void {
    if (this.data.size === 0) return;
    this.data.clear();
    this._p_noteChange();
  }

  forEach(callback: (value: V, key: K, map: Map<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.data) callback.call(thisArg, v, k, this);
  }

  keys(): MapIterator<K> {
    return this.data.keys();
  }

  values(): MapIterator<V> {
    return this.data.values();
  }

  entries(): MapIterator<[K, V]> {
    return this.data.entries();
  }

  /** The `[key, value]` entries, in insertion order: `for (const [k, v] of dict)`. */
  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.data.entries();
  }

  /** 'PersistentDict', for `Object.prototype.toString`. */
  get [Symbol.toStringTag](): string {
    return 'PersistentDict';
  }
}

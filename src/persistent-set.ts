/**
 * PersistentSet: a Set that is one persistent object, loaded whole. Mutations mark it changed;
 * reads do not.
 */
import { Persistent } from './persistent.js';

/**
 * @example
 * const tags = new PersistentSet<string>(['work']);
 * tags.add('home');
 */
export class PersistentSet<T = unknown> extends Persistent implements Iterable<T> {
  /** The members. */
  items: Set<T>;

  constructor(values?: Iterable<T> | null) {
    super();
    this.items = new Set(values ?? undefined);
  }

  /** Number of values. */
  get size(): number {
    return this.items.size;
  }

  /** True when `value` is in the set. */
  has(value: T): boolean {
    return this.items.has(value);
  }

  /** Adds `value` (marks the set changed). Returns the set. */
  add(value: T): this {
    if (!this.items.has(value)) {
      this.items.add(value);
      this._p_noteChange();
    }
    return this;
  }

  /** Removes `value` (marks the set changed if it was there). Returns whether it was there. */
  delete(value: T): boolean {
    if (!this.items.delete(value)) return false;
    this._p_noteChange();
    return true;
  }

  /** Removes every value (marks the set changed). */
  clear(): void {
    if (this.items.size === 0) return;
    this.items.clear();
    this._p_noteChange();
  }

  /** Calls `callback` for each value, in insertion order, as `Set.forEach` does. */
  forEach(callback: (value: T, value2: T, set: PersistentSet<T>) => void, thisArg?: unknown): void {
    for (const v of this.items) callback.call(thisArg, v, v, this);
  }

  /** The values, in insertion order (as `Set.keys`). */
  keys(): SetIterator<T> {
    return this.items.keys();
  }

  /** The values, in insertion order. */
  values(): SetIterator<T> {
    return this.items.values();
  }

  /** `[value, value]` pairs, in insertion order (as `Set.entries`). */
  entries(): SetIterator<[T, T]> {
    return this.items.entries();
  }

  /** The values, in insertion order: `for (const v of set)`. */
  [Symbol.iterator](): SetIterator<T> {
    return this.items.values();
  }

  /** 'PersistentSet', for `Object.prototype.toString`. */
  get [Symbol.toStringTag](): string {
    return 'PersistentSet';
  }
}

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

  get size(): number {
    return this.items.size;
  }

  has(value: T): boolean {
    return this.items.has(value);
  }

  add(value: T): this {
    if (!this.items.has(value)) {
      this.items.add(value);
      this._p_noteChange();
    }
    return this;
  }

  delete(value: T): boolean {
    if (!this.items.delete(value)) return false;
    this._p_noteChange();
    return true;
  }

  clear(): void {
    if (this.items.size === 0) return;
    this.items.clear();
    this._p_noteChange();
  }

  forEach(callback: (value: T, value2: T, set: PersistentSet<T>) => void, thisArg?: unknown): void {
    for (const v of this.items) callback.call(thisArg, v, v, this);
  }

  keys(): SetIterator<T> {
    return this.items.keys();
  }

  values(): SetIterator<T> {
    return this.items.values();
  }

  entries(): SetIterator<[T, T]> {
    return this.items.entries();
  }

  [Symbol.iterator](): SetIterator<T> {
    return this.items.values();
  }

  get [Symbol.toStringTag](): string {
    return 'PersistentSet';
  }
}

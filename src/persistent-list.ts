/**
 * PersistentList: an array that is one persistent object, loaded whole. Mutating methods mark it
 * changed; reads do not.
 */
import { Persistent } from './persistent.js';

/**
 * @example
 * const todos = new PersistentList<Todo>();
 * todos.push(new Todo());
 * root.set('todos', todos);
 * await conn.commit();
 */
export class PersistentList<T = unknown> extends Persistent implements Iterable<T> {
  /** The elements. */
  items: T[];

  constructor(items?: Iterable<T> | null) {
    super();
    this.items = items ? [...items] : [];
  }

  /** Number of items. */
  get length(): number {
    return this.items.length;
  }

  /** The element at `index`; negative indexes count from the end. */
  at(index: number): T | undefined {
    return this.items.at(index);
  }

  /**
   * The item at `index` (from 0), or undefined past the end. Unlike `at`, a negative index is not
   * counted from the end.
   */
  get(index: number): T | undefined {
    return this.items[index];
  }

  /**
   * Replaces the element at `index` (negative counts from the end).
   * @throws RangeError when `index` is outside the list.
   */
  set(index: number, value: T): void {
    const i = index < 0 ? this.items.length + index : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.items.length) {
      throw new RangeError(
        `PersistentList.set: index ${index} is outside the list (length ${this.items.length}). Use push() to add elements.`,
      );
    }
    this.items[i] = value;
    this._p_noteChange();
  }

  /** Appends `values` (marks the list changed). Returns the new length. */
  push(...values: T[]): number {
    const n = this.items.push(...values);
    this._p_noteChange();
    return n;
  }

  /** Removes and returns the last item (marks the list changed if there was one). */
  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    const value = this.items.pop();
    this._p_noteChange();
    return value;
  }

  /** Removes and returns the first item (marks the list changed if there was one). */
  shift(): T | undefined {
    if (this.items.length === 0) return undefined;
    const value = this.items.shift();
    this._p_noteChange();
    return value;
  }

  /** Inserts `values` at the start (marks the list changed). Returns the new length. */
  unshift(...values: T[]): number {
    const n = this.items.unshift(...values);
    this._p_noteChange();
    return n;
  }

  /**
   * Removes `deleteCount` items from `start` and inserts `values` there, as `Array.splice` (marks
   * the list changed). Returns the removed items.
   */
  splice(start: number, deleteCount?: number, ...values: T[]): T[] {
    const removed =
      deleteCount === undefined
        ? this.items.splice(start)
        : this.items.splice(start, deleteCount, ...values);
    if (removed.length > 0 || values.length > 0) this._p_noteChange();
    return removed;
  }

  /** The index of the first item `=== value` from `fromIndex`, or -1. */
  indexOf(value: T, fromIndex?: number): number {
    return this.items.indexOf(value, fromIndex);
  }

  /** True when an item is `value` (SameValueZero, as `Array.includes`). */
  includes(value: T, fromIndex?: number): boolean {
    return this.items.includes(value, fromIndex);
  }

  /** A plain array copy of the elements. */
  toArray(): T[] {
    return [...this.items];
  }

  /** The items in order: `for (const item of list)`. */
  [Symbol.iterator](): ArrayIterator<T> {
    return this.items[Symbol.iterator]();
  }
}

/**
 * BrokenObject: what a record of a class this page has not registered loads as. It keeps the
 * stored class name and the decoded fields, cannot be changed, and is never written: objects that
 * reference it keep referencing the same stored record, so nothing is lost because one page lacks
 * a class.
 */
import { Persistent, metaOf } from './persistent.js';

export class BrokenObject extends Persistent {
  /** The decoded fields of the stored record (references to other objects are ghosts). */
  declare readonly state: Record<string, unknown>;

  /** @throws TypeError: shelfdb makes BrokenObjects; apps do not. */
  constructor() {
    super();
    throw new TypeError(
      'BrokenObject stands in for stored records of unregistered classes; it is made by shelfdb, not constructed.',
    );
  }

  /** The stored class name. */
  get className(): string {
    return metaOf(this).className ?? '';
  }
}

/**
 * How the explorer's views talk to its shell: they fire these (bubbling, composed, so they cross
 * shadow roots) and the shell acts (shows an object, opens another database).
 */

/** A view asks the explorer to show object `oid` (a reference clicked, an oid typed). */
export class NavigateEvent extends Event {
  constructor(
    /** The object to show. */
    readonly oid: number,
  ) {
    super('shelf-navigate', { bubbles: true, composed: true });
  }
}

/** A view asks the explorer to show another database of this origin. */
export class OpenDatabaseEvent extends Event {
  constructor(
    /** Its name, as `openDatabase` takes it. */
    readonly name: string,
    /** Where it lives (`listDatabases()` tells). */
    readonly storage: 'opfs' | 'indexeddb',
  ) {
    super('shelf-open-database', { bubbles: true, composed: true });
  }
}

/** A readable message for anything thrown: the error's name and message, never a blank. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return `${name}${error.message || 'an error without a message'}`;
  }
  return `Failed: ${String(error)}`;
}

/**
 * An edit made from the explorer, in a connection of its own (as demo/note-editor.ts does): the
 * object is loaded there when the form opens, and that connection's snapshot stays put while the
 * form is open (`autoSync` off), so that another tab's commit to the object fires 'stale' at once
 * (the form says saving will conflict) and saving then fails with WriteConflictError rather than
 * silently overwriting what the other side wrote. On a conflict the session aborts, which moves it
 * to the newest snapshot, and reads the other side's value there: the user sees it, and may retry
 * (apply the same change to the current state) or discard.
 */
import { StorageBusyError, WriteConflictError } from '../shared/errors.js';
import { BrokenObject } from '../broken-object.js';
import type { Connection } from '../connection.js';
import type { Database } from '../database.js';
import { Persistent } from '../persistent.js';
import type { StaleEvent } from '../events.js';

/** The scalar types a field or a dict value can be edited as. */
export type ScalarType = 'string' | 'number' | 'boolean' | 'null';

/** A typed text read as a value, or why it is not one. */
export type ParsedScalar = { ok: true; value: unknown } | { ok: false; error: string };

/** The editable type of `value`, or undefined if it is not a scalar the explorer edits. */
export function scalarType(value: unknown): ScalarType | undefined {
  if (value === null) return 'null';
  const t = typeof value;
  return t === 'string' || t === 'number' || t === 'boolean' ? t : undefined;
}

/** Reads `text` as a value of `type` (numbers: decimal, NaN, Infinity, -Infinity). */
export function parseScalar(text: string, type: ScalarType): ParsedScalar {
  switch (type) {
    case 'string':
      return { ok: true, value: text };
    case 'null':
      return { ok: true, value: null };
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (t === 'true' || t === 'false') return { ok: true, value: t === 'true' };
      return { ok: false, error: `${JSON.stringify(text)} is not a boolean: type true or false.` };
    }
    case 'number': {
      const t = text.trim();
      if (t === 'NaN') return { ok: true, value: NaN };
      const n = Number(t);
      if (t === '' || Number.isNaN(n)) {
        return {
          ok: false,
          error: `${JSON.stringify(text)} is not a number (like 42, -1.5, 1e6, Infinity or NaN).`,
        };
      }
      return { ok: true, value: n };
    }
  }
}

/**
 * Whether a value read now is the one the user started from: the same scalar (NaN is NaN, -0 is
 * not 0), or a reference to the same object. Other values (arrays, maps, plain objects) are
 * decoded anew by each load, so they cannot be compared here: the caller passes no `expected`.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  return (
    a instanceof Persistent &&
    b instanceof Persistent &&
    a._p_oid !== undefined &&
    a._p_oid === b._p_oid
  );
}

/** Whether `value` is one `sameValue` can compare across loads. */
export function comparable(value: unknown): boolean {
  return value === undefined || scalarType(value) !== undefined || value instanceof Persistent;
}

/** How a save ended. */
export type SaveResult =
  | { kind: 'saved'; tid: number }
  /** Changed elsewhere since the form opened: `theirs` is what the other side stored. */
  | { kind: 'conflict'; theirs: unknown; message: string }
  /**
   * StorageBusyError: not known whether the commit landed (it may land later). The session keeps
   * it: the next save resends it, and it lands once.
   */
  | { kind: 'unknown'; message: string };

/** One open edit form's connection and object. */
export class EditSession {
  /** Another tab or connection committed the object since it was loaded here. */
  stale = false;
  /** The last commit failed with StorageBusyError: the next save resends it, unchanged. */
  private uncertain = false;
  private readonly onStale = (event: Event): void => {
    const oid = this.obj._p_oid;
    if (oid !== undefined && (event as StaleEvent).oids.includes(oid)) {
      this.stale = true;
      this.staleChanged();
    }
  };

  private constructor(
    private readonly conn: Connection,
    /** The object, loaded in the session's connection. */
    readonly obj: Persistent,
    private readonly staleChanged: () => void,
  ) {
    conn.addEventListener('stale', this.onStale);
  }

  /**
   * Opens a connection of `db`, loads object `oid` there and keeps its snapshot still.
   * `staleChanged` runs when 'stale' marks the object changed elsewhere.
   * @throws Error when there is no object `oid`, or it is a BrokenObject (read-only).
   */
  static async open(db: Database, oid: number, staleChanged: () => void): Promise<EditSession> {
    const conn = db.open();
    conn.autoSync = false; // so another's commit fires 'stale' here instead of moving silently
    try {
      const obj = await conn.get(oid);
      if (obj === undefined) throw new Error(`There is no object ${oid} (removed meanwhile?).`);
      if (obj instanceof BrokenObject) {
        throw new Error(
          `${obj.className} ${oid} is read-only here: its class is not registered in this page.`,
        );
      }
      return new EditSession(conn, obj, staleChanged);
    } catch (error) {
      conn.close();
      throw error;
    }
  }

  /**
   * Applies `change` to the object and commits it with `note`. On a WriteConflictError the
   * connection aborts (moving to the newest snapshot) and `read` gives the other side's value.
   * Other errors are thrown, after dropping the change.
   *
   * `expected`: the value the user started from (what the form showed, taken from the explorer's
   * own connection). The session loaded the object on its own, perhaps after another tab changed
   * it (the view had not refreshed yet, or the form was made again): if `read` gives another value
   * here, nothing is written and the other side's value comes back as a conflict, as if the commit
   * had conflicted; the user sees it before a Retry (with it as `expected`) writes over it.
   */
  async save(
    change: (obj: Persistent) => void,
    read: (obj: Persistent) => unknown,
    note: string,
    expected?: { value: unknown },
  ): Promise<SaveResult> {
    if (this.uncertain) return this.resend(note);
    if (expected !== undefined && !sameValue(read(this.obj), expected.value)) {
      await this.conn.abort(); // nothing changed here: moves to the newest state to show it
      this.stale = false;
      await this.conn.load(this.obj);
      return {
        kind: 'conflict',
        theirs: read(this.obj),
        message: 'The stored value is not the one the form started from.',
      };
    }
    try {
      change(this.obj);
      const tid = await this.conn.commit(note.trim() === '' ? {} : { note });
      return { kind: 'saved', tid };
    } catch (error) {
      if (error instanceof StorageBusyError) {
        // Perhaps landed, perhaps not yet: abort would drop the answer, not the commit.
        this.uncertain = true;
        return { kind: 'unknown', message: error.message };
      }
      await this.conn.abort();
      this.stale = false;
      if (!(error instanceof WriteConflictError)) throw error;
      await this.conn.load(this.obj);
      return { kind: 'conflict', theirs: read(this.obj), message: error.message };
    }
  }

  /** Sends the commit of unknown fate again (same transaction: it lands once). */
  private async resend(note: string): Promise<SaveResult> {
    try {
      const tid = await this.conn.commit(note.trim() === '' ? {} : { note });
      this.uncertain = false;
      return { kind: 'saved', tid };
    } catch (error) {
      if (error instanceof StorageBusyError) return { kind: 'unknown', message: error.message };
      this.uncertain = false;
      await this.conn.abort();
      throw error;
    }
  }

  /** Closes the session's connection (the form is done). */
  close(): void {
    this.conn.removeEventListener('stale', this.onStale);
    this.conn.close();
  }
}

/**
 * Platform failures mapped at the storage boundary (STYLE.md, Words): a full disk is a
 * StorageFullError whatever the platform calls it (OPFS and IndexedDB: a DOMException named
 * QuotaExceededError; Node: ENOSPC or EDQUOT), with the original kept as `cause`. Other platform
 * errors (an I/O error) become a StorageError saying what was being done. Errors of shelfdb's own
 * classes pass through unchanged.
 */
import { ShelfError, StorageError, StorageFullError } from '../src/shared/errors.js';

/** True for the platform's "no space left" errors. */
export function isFullDisk(error: unknown): boolean {
  const e = error as { name?: string; code?: string } | null | undefined;
  return e?.name === 'QuotaExceededError' || e?.code === 'ENOSPC' || e?.code === 'EDQUOT';
}

/**
 * The error to report for a platform failure while doing `what` (a phrase: "This commit was not
 * stored", "The pack was abandoned").
 */
export function storageFailure(error: unknown, what: string): Error {
  if (error instanceof ShelfError) return error;
  if (isFullDisk(error)) {
    return new StorageFullError(
      `The browser or disk refused to store more (storage quota exceeded). ${what}; committed data is intact. Free space (db.pack(), fewer or smaller objects) or ask for more with db.persist().`,
      { cause: error },
    );
  }
  const message = (error as { message?: unknown } | null)?.message;
  return new StorageError(
    `The storage failed (${typeof message === 'string' ? message : String(error)}). ${what}; committed data is intact.`,
    { cause: error },
  );
}

/**
 * Platform failures mapped at the storage boundary: a full disk is a
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
 * The error to report for a platform failure.
 * @param outcome what the failure left, as a sentence ("This commit was not stored; committed data
 *   is intact.").
 * @param doing what failed, completing "while …" ("committing a transaction"), if worth saying.
 */
export function storageFailure(error: unknown, outcome: string, doing?: string): Error {
  if (error instanceof ShelfError) return error;
  const during = doing === undefined ? '' : ` while ${doing}`;
  if (isFullDisk(error)) {
    return new StorageFullError(
      `The browser or disk refused to store more (storage quota exceeded)${during}. ${outcome} Free space (db.pack(), fewer or smaller objects) or ask for more with db.persist().`,
      { cause: error },
    );
  }
  const e = error as { name?: unknown; message?: unknown } | null;
  const what =
    typeof e?.message === 'string'
      ? `${typeof e.name === 'string' ? `${e.name}: ` : ''}${e.message}`
      : String(error);
  return new StorageError(`The storage failed${during} (${what}). ${outcome}`, { cause: error });
}

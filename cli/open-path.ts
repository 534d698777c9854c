/**
 * Opening the database a command names. The CLI never creates one: `openDatabase` would make a
 * new database in a missing or empty directory, so a path is checked first — it must exist, be a
 * directory, and hold a shelfdb manifest slot or segment — and a mistyped path is refused with
 * exit 2 instead of leaving an empty database behind.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { openDatabase } from '../src/open-database.js';
import type { Database } from '../src/database.js';
import { afterCleanup, CorruptStorageError, StorageBusyError } from '../src/shared/errors.js';
import { MANIFEST_SLOTS } from '../worker/shelf-format.js';
import { CommandFailure, EXIT } from './io.js';

/** A segment file's name (shelf-format.ts: `seg-<n>.log`). */
const SEGMENT = /^seg-\d+\.log$/;

/**
 * Refuses (exit 2) a path that is missing, not a directory, or holds no shelfdb database.
 * @throws CommandFailure naming the path and what to do.
 */
export function checkDatabasePath(path: string): string {
  const full = resolve(path);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(full).isDirectory();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') {
      throw new CommandFailure(
        `${full} does not exist. Give the directory of a shelfdb 'file' database (the path given to openDatabase(name, { storage: 'file', path })).`,
        EXIT.usage,
      );
    }
    throw new CommandFailure(`Cannot read ${full}: ${(error as Error).message}`, EXIT.usage, {
      cause: error,
    });
  }
  if (!isDirectory) {
    throw new CommandFailure(
      `${full} is a file, not a database: a shelfdb 'file' database is a directory (holding manifest.0, manifest.1 and seg-*.log files).`,
      EXIT.usage,
    );
  }
  const names = readdirSync(full);
  const isDatabase = names.some(
    (name) => (MANIFEST_SLOTS as readonly string[]).includes(name) || SEGMENT.test(name),
  );
  if (!isDatabase) {
    throw new CommandFailure(
      `${full} is not a shelfdb database: it holds no manifest.0, manifest.1 or seg-*.log file${names.length === 0 ? ' (it is empty)' : ''}. Check the path; the command line never creates a database.`,
      EXIT.usage,
    );
  }
  return full;
}

/**
 * Opens the database at `path` for a command.
 * @throws CommandFailure (exit 2) when the path is not a database, the database is open in
 *   another process (the lock file), or it is damaged (pointing at `shelfdb recover`).
 */
export async function openForCommand(
  path: string,
  options: { recover?: boolean } = {},
): Promise<Database> {
  const full = checkDatabasePath(path);
  try {
    return await openDatabase(basename(full) || 'shelfdb', {
      storage: 'file',
      path: full,
      recover: options.recover ?? false,
    });
  } catch (error) {
    if (error instanceof StorageBusyError) {
      // Its message names the lock file and the process holding it ("open in another process
      // (pid …)") and what to do.
      throw new CommandFailure(`Cannot open ${full}: ${error.message}`, EXIT.usage, {
        cause: error,
      });
    }
    if (error instanceof CorruptStorageError) {
      throw new CommandFailure(
        `Cannot open ${full}: ${error.message}\nTo open it anyway, copy the directory somewhere safe, then run: shelfdb recover ${full}`,
        EXIT.usage,
        { cause: error },
      );
    }
    throw new CommandFailure(`Cannot open ${full}: ${(error as Error).message}`, EXIT.usage, {
      cause: error,
    });
  }
}

/** Runs `use` on the open database and closes it after, whatever happens. */
export async function withDatabase<T>(
  path: string,
  options: { recover?: boolean },
  use: (db: Database) => Promise<T>,
): Promise<T> {
  const db = await openForCommand(path, options);
  let result: T;
  try {
    result = await use(db);
  } catch (error) {
    throw await afterCleanup(error, () => db.close(), `closing ${path}`);
  }
  await db.close(); // releases the lock file: the path opens again at once
  return result;
}

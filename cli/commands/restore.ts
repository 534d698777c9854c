/**
 * `shelfdb restore <file> <path>`: makes a new 'file' database at `path` from a backup
 * (restoreDatabase), keeping every oid, tid, time, note and stored byte. The one command that
 * creates a database: `path` must not exist or be an empty directory, anything else is refused
 * (exit 2) before anything is read — except the leftover of a restore that was cut off (its
 * `restoring` mark), which the restore replaces. The backup is read and checked whole before the database is
 * made; a restore that fails leaves no database behind.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { restoreDatabase } from '../../src/archive/restore.js';
import { FILE_MARK } from '../../src/archive/restore-mark.js';
import { CommandFailure, EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { Progress } from '../progress.js';
import { countOf, dataProblem, openArchiveInput, plural } from './archive-files.js';

/** What `restore --json` prints. */
export interface RestoreJson {
  /** The new database's directory, absolute. */
  path: string;
  /** Transactions it holds. */
  transactions: number;
  /** Its newest tid (0 for an empty backup). */
  tid: number;
  /** Objects it holds. */
  objects: number;
}

/** Runs `restore`. */
export async function restore(
  file: string,
  path: string,
  json: boolean,
  streams: Streams,
): Promise<ExitCode> {
  const full = await checkNewDatabasePath(path);
  const input = await openArchiveInput(file, 'backup', false);
  const progress = new Progress(streams.stderr, 'restore');
  progress.note(`${plural(countOf(input.header, 'transactions'), 'transaction')}`);
  let done: RestoreJson;
  try {
    const db = await restoreDatabase(basename(full) || 'shelfdb', input.blob as Blob, {
      storage: 'file',
      path: full,
    });
    try {
      const stats = await db.stats();
      let tid = 0;
      for await (const txn of db.transactions({ limit: 1 })) tid = txn.tid;
      done = { path: full, transactions: stats.transactions, tid, objects: stats.objects };
    } finally {
      await db.close();
    }
  } catch (error) {
    throw dataProblem(error, input);
  } finally {
    progress.clear();
  }
  if (json) writeJson(streams.stdout, done);
  else
    writeLine(
      streams.stdout,
      `restored ${file} into ${path}: ${plural(done.transactions, 'transaction')} up to tid ${done.tid}, ${plural(done.objects, 'object')}.`,
    );
  return EXIT.ok;
}

/**
 * Refuses (exit 2) a path a new database may not be made at: a file, or a directory holding
 * anything (a database or not: restore never writes into what exists) but an unfinished restore.
 * @returns the absolute path.
 */
async function checkNewDatabasePath(path: string): Promise<string> {
  const full = resolve(path);
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(full)).isDirectory();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return full;
    throw error;
  }
  if (!isDirectory) {
    throw new CommandFailure(
      `${full} is a file: restore makes a new database directory there. Give a path that does not exist, or an empty directory.`,
      EXIT.usage,
    );
  }
  const names = await readdir(full);
  // The leftover of a restore cut off (its mark, restore-mark.ts): restoreDatabase replaces it.
  if (names.includes(FILE_MARK)) return full;
  if (names.length > 0) {
    throw new CommandFailure(
      `${full} is not empty (it holds ${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}): restore makes a new database and never writes into an existing directory. Give a path that does not exist, or an empty directory.`,
      EXIT.usage,
    );
  }
  return full;
}

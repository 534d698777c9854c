/**
 * `shelfdb undo <path> <tid> [--note text]`: commits a new transaction that restores, for every
 * object transaction `tid` wrote, the revision it had before (`db.undo`, ZODB's transactional
 * undo). A later transaction that changed one of those objects again is a conflict: nothing is
 * stored, the objects are named, exit 1.
 */
import { EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';

/** What `undo --json` prints. */
export interface UndoJson {
  /** The transaction undone. */
  undid: number;
  /** The new transaction that undid it. */
  tid: number;
}

/** Runs `undo`. */
export async function undo(
  path: string,
  tid: number,
  options: { note?: string; json: boolean },
  streams: Streams,
): Promise<ExitCode> {
  // A conflict (WriteConflictError naming the objects changed again) or a transaction pack removed
  // what undo needs for (ReadConflictError) rejects here; main reports it with exit 1.
  const done = await withDatabase(path, {}, async (db): Promise<UndoJson> => {
    const note = options.note === undefined ? {} : { note: options.note };
    return { undid: tid, tid: await db.undo(tid, note) };
  });
  if (options.json) writeJson(streams.stdout, done);
  else
    writeLine(
      streams.stdout,
      `undid transaction ${done.undid}: the undo is transaction ${done.tid}.`,
    );
  return EXIT.ok;
}

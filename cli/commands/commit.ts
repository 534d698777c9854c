/**
 * `shelfdb commit <path> <dir|file> [--on-conflict fail|archive|live] [--note text]`: writes what
 * a checkout or archive changed, in one transaction (commitArchive, classes kept as stored: the
 * command line has none). A conflict with 'fail' (the default), an external reference that does
 * not resolve, or an archive of another database: nothing is written, exit 1 naming the entries.
 *
 * After committing from a checkout, the checkout is written again from the database (the same
 * start object, at the new transaction), so its serials and hashes are those of what was just
 * committed and the next edit is checked against it; objects added by hand get their oids as ids.
 */
import { commitArchive } from '../../src/archive/commit-archive.js';
import { WriteConflictError } from '../../src/shared/errors.js';
import { EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';
import { Progress } from '../progress.js';
import { dataProblem, objectAt, openArchiveInput } from './archive-files.js';
import { checkoutInto } from './checkout.js';

/** What `commit --json` prints. */
export interface CommitJson {
  /** The checkout or archive file, absolute. */
  source: string;
  /** The new transaction, or null when the archive changed nothing. */
  tid: number | null;
  /** True when a checkout was written again from what was committed. */
  updated: boolean;
}

/** Runs `commit`. */
export async function commit(
  path: string,
  source: string,
  options: { onConflict: 'fail' | 'archive' | 'live'; note?: string; json: boolean },
  streams: Streams,
): Promise<ExitCode> {
  const input = await openArchiveInput(source, 'tree', true);
  const progress = new Progress(streams.stderr, 'commit');
  const done = await withDatabase(path, {}, async (db): Promise<CommitJson> => {
    const conn = db.open();
    await conn.sync();
    const before = conn.snapshotTid;
    let tid: number;
    try {
      tid = await commitArchive(conn, input.open(progress), {
        onConflict: options.onConflict,
        unregistered: 'keep',
        ...(options.note === undefined ? {} : { note: options.note }),
      });
    } catch (error) {
      if (error instanceof WriteConflictError && options.onConflict === 'fail') {
        throw new WriteConflictError(
          error.oids,
          `${error.message} (On the command line: --on-conflict archive or --on-conflict live.)`,
        );
      }
      throw dataProblem(error, input);
    } finally {
      progress.clear();
    }
    const committed = tid !== before;
    let updated = false;
    if (committed && input.form === 'directory') {
      const after = db.open(); // at the newest snapshot: what was just committed
      const start = await objectAt(after, path, Number(input.header.start), 'the start object');
      await checkoutInto(after, start, input.path, progress);
      updated = true;
    }
    return { source: input.path, tid: committed ? tid : null, updated };
  });
  if (options.json) writeJson(streams.stdout, done);
  else if (done.tid === null) {
    writeLine(streams.stdout, `nothing to commit: ${source} matches the database.`);
  } else {
    const updated = done.updated ? `; ${source} is checked out again as committed` : '';
    writeLine(streams.stdout, `committed ${source} as transaction ${done.tid}${updated}.`);
  }
  return EXIT.ok;
}

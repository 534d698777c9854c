/**
 * `shelfdb verify <path>`: walks every checksum, record, the index and the references from the
 * root; exit 1 with the list of problems. A database too damaged to open is a problem of the
 * database too (exit 1, pointing at `shelfdb recover`), not a usage error: verify answers "is it
 * healthy?", and no is its answer.
 */
import { CorruptStorageError } from '../../src/shared/errors.js';
import type { VerifyReport } from '../../src/shared/storage.js';
import { CommandFailure, EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';
import { Progress } from '../progress.js';

/** Runs `verify`. */
export async function verify(path: string, json: boolean, streams: Streams): Promise<ExitCode> {
  const progress = new Progress(streams.stderr, 'verify');
  let report: VerifyReport;
  try {
    progress.note(`checking every checksum, record and reference of ${path}…`);
    report = await withDatabase(path, {}, (db) => db.verify());
  } catch (error) {
    const cause = error instanceof CommandFailure ? error.cause : undefined;
    if (!(cause instanceof CorruptStorageError)) throw error;
    report = {
      ok: false,
      problems: [{ kind: 'open', message: (error as Error).message }],
    };
  } finally {
    progress.clear();
  }
  if (json) {
    writeJson(streams.stdout, report);
  } else if (report.ok) {
    writeLine(streams.stdout, `${path}: ok, no problems found.`);
  } else {
    const n = report.problems.length;
    writeLine(streams.stdout, `${path}: ${n} problem${n === 1 ? '' : 's'} found:`);
    for (const problem of report.problems) {
      const where = [
        problem.oid === undefined ? '' : ` oid ${problem.oid}`,
        problem.offset === undefined ? '' : ` at byte ${problem.offset}`,
      ].join('');
      writeLine(streams.stdout, `  ${problem.kind}${where}: ${problem.message}`);
    }
  }
  return report.ok ? EXIT.ok : EXIT.problems;
}

/**
 * `shelfdb check <path> <dir|file>`: what committing a checkout or an archive file would meet
 * (checkArchive), entry by entry, writing nothing. Lists every entry that is not unchanged with its
 * status; exits 1 when commit would be refused: a conflict (changed in both) or an external
 * reference that does not resolve in this database.
 */
import {
  checkArchive,
  type CheckEntry,
  type EntryStatus,
} from '../../src/archive/check-archive.js';
import { EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';
import { Progress } from '../progress.js';
import { dataProblem, openArchiveInput } from './archive-files.js';

/** What `check --json` prints. */
export interface CheckJson {
  /** The checkout or archive file, absolute. */
  source: string;
  /** Every entry (unchanged ones too), as checkArchive reports them. */
  entries: CheckEntry[];
  /** How many entries have each status. */
  counts: Partial<Record<EntryStatus, number>>;
  /** False when commit would be refused (a conflict, an unresolved external reference). */
  ok: boolean;
}

/** Statuses that make commit refuse (with its default policy). */
const BLOCKING: readonly EntryStatus[] = ['conflict', 'unresolved-external'];

/** Runs `check`. */
export async function check(
  path: string,
  source: string,
  json: boolean,
  streams: Streams,
): Promise<ExitCode> {
  const input = await openArchiveInput(source, 'tree', true);
  const progress = new Progress(streams.stderr, 'check');
  const report = await withDatabase(path, {}, async (db) => {
    try {
      return await checkArchive(db.open(), input.open(progress));
    } catch (error) {
      throw dataProblem(error, input);
    } finally {
      progress.clear();
    }
  });
  const counts: Partial<Record<EntryStatus, number>> = {};
  for (const entry of report.entries) counts[entry.status] = (counts[entry.status] ?? 0) + 1;
  const ok = report.entries.every((e) => !BLOCKING.includes(e.status));
  if (json) {
    writeJson(streams.stdout, { source: input.path, entries: report.entries, counts, ok });
  } else {
    const shown = report.entries.filter((e) => e.status !== 'unchanged');
    const width = Math.max(0, ...shown.map((e) => e.status.length));
    for (const entry of shown) writeLine(streams.stdout, line(entry, width));
    const summary = Object.entries(counts)
      .map(([status, n]) => `${n} ${status}`)
      .join(', ');
    writeLine(
      streams.stdout,
      `${source}: ${report.entries.length} ${report.entries.length === 1 ? 'entry' : 'entries'} (${summary}).`,
    );
    writeLine(streams.stdout, advice(counts, path, source));
    if ((counts.removed ?? 0) > 0) {
      writeLine(
        streams.stdout,
        'Removed entries: commit does not delete objects; one that nothing references any more is removed by the next pack.',
      );
    }
  }
  return ok ? EXIT.ok : EXIT.problems;
}

/** One entry not unchanged: status, path, oid, and why. */
function line(entry: CheckEntry, width: number): string {
  const oid = entry.oid === undefined ? '' : `  oid ${entry.oid}`;
  const detail = entry.detail === undefined ? '' : `  (${entry.detail})`;
  return `${entry.status.padEnd(width)}  ${entry.path}${oid}${detail}`;
}

/** What to do next. */
function advice(
  counts: Partial<Record<EntryStatus, number>>,
  path: string,
  source: string,
): string {
  if ((counts['unresolved-external'] ?? 0) > 0) {
    return 'Commit would be refused: fix or remove the references to objects this database does not hold.';
  }
  if ((counts.conflict ?? 0) > 0) {
    return `Commit would be refused: entries changed both here and in the database. Commit with --on-conflict archive or live, or check out again and redo the edits.`;
  }
  const toWrite =
    (counts['changed-archive'] ?? 0) + (counts['class-changed'] ?? 0) + (counts.added ?? 0);
  if (toWrite === 0) return 'Nothing to commit.';
  return `To write them: shelfdb commit ${path} ${source}`;
}

/**
 * `shelfdb history <path> <oid> [--limit N]`: the stored revisions of one object, newest first,
 * each with its transaction's time and note and its decoded fields. Revisions pack removed are
 * gone: only what the database still holds is listed.
 */
import { CommandFailure, EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { formatTime } from '../format.js';
import { withDatabase } from '../open-path.js';
import { RecordReader, type RecordJson } from '../record-json.js';

/** One revision as `history --json` lists it. */
export interface RevisionJson extends RecordJson {
  /** ISO time of the transaction that wrote it. */
  date: string;
  /** That transaction's note. */
  note: string;
}

/** Runs `history`. */
export async function history(
  path: string,
  oid: number,
  options: { limit?: number; json: boolean },
  streams: Streams,
): Promise<ExitCode> {
  const revisions = await withDatabase(path, {}, async (db): Promise<RevisionJson[]> => {
    const found = await db.storage.history(oid, options.limit);
    if (found.length === 0) {
      throw new CommandFailure(
        `${path} has no revision of object ${oid}: it was never stored, or pack removed it as unreachable.`,
        EXIT.problems,
      );
    }
    const reader = new RecordReader();
    return found.map((revision) => ({
      ...reader.toJson(revision.record),
      date: formatTime(revision.time),
      note: revision.note,
    }));
  });
  if (options.json) {
    writeJson(streams.stdout, { oid, revisions });
  } else {
    for (const revision of revisions) {
      const note = revision.note === '' ? '(no note)' : JSON.stringify(revision.note);
      writeLine(
        streams.stdout,
        `tid ${revision.tid}  ${revision.date}  ${revision.class}  ${note}`,
      );
      const body = revision.damaged ?? JSON.stringify(revision.fields);
      writeLine(streams.stdout, `  ${body}`);
    }
  }
  return revisions.some((r) => r.damaged !== undefined) ? EXIT.problems : EXIT.ok;
}

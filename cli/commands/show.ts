/**
 * `shelfdb show <path> <oid> [--at <tid>]`: one object's class, fields and references as JSON,
 * decoded without the app's classes (record-json.ts). `--at` reads it as of that transaction
 * (`storage.load([oid], tid)`): the newest revision with a tid at or before it.
 */
import { CommandFailure, EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';
import { RecordReader, type RecordJson } from '../record-json.js';

/** Runs `show`. */
export async function show(
  path: string,
  oid: number,
  options: { at?: number; json: boolean },
  streams: Streams,
): Promise<ExitCode> {
  const shown = await withDatabase(path, {}, async (db): Promise<RecordJson> => {
    const [record] = await db.storage.load([oid], options.at);
    if (record === undefined) {
      const why =
        options.at === undefined
          ? 'it was never stored, or pack removed it as unreachable'
          : `no revision at or before tid ${options.at}: it was created later, never stored, or pack removed it`;
      throw new CommandFailure(
        `${path} has no object ${oid}${options.at === undefined ? '' : ` as of tid ${options.at}`} (${why}). \`shelfdb log ${path}\` lists the transactions and the oids they wrote.`,
        EXIT.problems,
      );
    }
    return new RecordReader().toJson(record);
  });
  if (options.json) writeJson(streams.stdout, shown);
  else writeLine(streams.stdout, JSON.stringify(shown, null, 2));
  return shown.damaged === undefined ? EXIT.ok : EXIT.problems;
}

/**
 * `shelfdb dump <path>`: every object's current revision, one JSON line per record, in oid order,
 * streamed: records are loaded a batch of oids at a time and written before the next batch, so the
 * database is never held in memory.
 *
 * Between batches it waits for room in stdout (`roomIn`), so a slow reader never makes the output
 * pile up in memory either.
 *
 * Storage has no list of oids, so the dump walks the oid range from 0 (the root). It ends when it
 * has found as many objects as `stats().objects`, or past the highest oid any transaction in the
 * log wrote (found by streaming `transactions()`): oids handed out but never committed leave gaps,
 * and the bound keeps a gap at the end from running on forever. Finding fewer objects than stats
 * counts is a problem of the database (exit 1, said on stderr), as is a record that does not
 * decode (shown with `damaged`).
 */
import { EXIT, roomIn, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';
import { Progress } from '../progress.js';
import { RecordReader } from '../record-json.js';

/** Oids asked for per load. */
const BATCH = 512;

/** Runs `dump`. Its output is JSON lines with or without `--json`. */
export async function dump(path: string, streams: Streams): Promise<ExitCode> {
  const progress = new Progress(streams.stderr, 'dump');
  return withDatabase(path, {}, async (db) => {
    const { objects } = await db.stats();
    let highest = 0;
    for await (const txn of db.transactions()) {
      for (const oid of txn.oids) if (oid > highest) highest = oid;
    }
    const reader = new RecordReader();
    let found = 0;
    let damaged = 0;
    try {
      for (let start = 0; found < objects && start <= highest; start += BATCH) {
        const oids = Array.from({ length: BATCH }, (_, i) => start + i);
        for (const record of await db.storage.load(oids)) {
          const shown = reader.toJson(record);
          if (shown.damaged !== undefined) damaged++;
          writeJson(streams.stdout, shown);
          found++;
        }
        progress.update(found, objects);
        await roomIn(streams.stdout); // a slow reader holds the next batch back
      }
    } finally {
      progress.clear();
    }
    let code: ExitCode = EXIT.ok;
    if (found < objects) {
      writeLine(
        streams.stderr,
        `dump: found ${found} objects up to oid ${highest} (the highest any transaction wrote), but the database counts ${objects}. Run \`shelfdb verify ${path}\`.`,
      );
      code = EXIT.problems;
    }
    if (damaged > 0) {
      writeLine(
        streams.stderr,
        `dump: ${damaged} record${damaged === 1 ? '' : 's'} could not be decoded (see "damaged" in their lines). Run \`shelfdb verify ${path}\`.`,
      );
      code = EXIT.problems;
    }
    return code;
  });
}

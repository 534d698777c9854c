/**
 * `shelfdb backup <path> <file> [--gzip]`: the whole database (every transaction still listed,
 * with its oids, tids, times, notes and the exact stored bytes) as one archive file (db.backup),
 * written through a temp file renamed when complete. `shelfdb restore` makes a database from it.
 */
import { formatBytes } from '../format.js';
import { EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';
import { Progress } from '../progress.js';
import {
  checkOutputFile,
  countOf,
  plural,
  writeArchiveFile,
  writtenHeader,
} from './archive-files.js';

/** What `backup --json` prints. */
export interface BackupJson {
  /** The backup file, absolute. */
  file: string;
  /** The snapshot it holds: its newest tid, at most. */
  snapshot: number;
  /** Transactions in it. */
  transactions: number;
  /** The file's size. */
  bytes: number;
}

/** Runs `backup`. */
export async function backup(
  path: string,
  file: string,
  options: { gzip: boolean; json: boolean },
  streams: Streams,
): Promise<ExitCode> {
  const full = await checkOutputFile(file);
  const progress = new Progress(streams.stderr, 'backup');
  const done = await withDatabase(path, {}, async (db): Promise<BackupJson> => {
    const stream = db.backup({ gzip: options.gzip });
    const { bytes, checked: header } = await writeArchiveFile(
      stream,
      full,
      progress,
      writtenHeader,
    );
    return {
      file: full,
      snapshot: typeof header.snapshot === 'number' ? header.snapshot : 0,
      transactions: countOf(header, 'transactions'),
      bytes,
    };
  });
  if (options.json) writeJson(streams.stdout, done);
  else
    writeLine(
      streams.stdout,
      `backed up ${path} (${plural(done.transactions, 'transaction')}, up to tid ${done.snapshot}) to ${file} (${formatBytes(done.bytes)}).`,
    );
  return EXIT.ok;
}

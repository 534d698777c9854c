/**
 * `shelfdb recover <path>`: opens a damaged database with `recover: true`, which keeps every
 * readable transaction and replaces damaged spans with filler (it writes to the files: copy the
 * directory first), and reports what was cut off the end or dropped (`db.recovery`).
 */
import type { LogSpan, RecoveryReport } from '../../src/shared/storage.js';
import { EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';

/** Runs `recover`. */
export async function recover(path: string, json: boolean, streams: Streams): Promise<ExitCode> {
  const report = await withDatabase(
    path,
    { recover: true },
    async (db): Promise<RecoveryReport> => db.recovery ?? { truncated: [], dropped: [] },
  );
  if (json) {
    writeJson(streams.stdout, report);
    return EXIT.ok;
  }
  const span = (s: LogSpan): string =>
    `${s.file} bytes ${s.offset}–${s.offset + s.length} (${s.length} bytes)`;
  if (report.truncated.length === 0 && report.dropped.length === 0) {
    writeLine(streams.stdout, `${path}: nothing damaged, nothing dropped.`);
    return EXIT.ok;
  }
  for (const s of report.truncated) {
    writeLine(
      streams.stdout,
      `cut off the end: ${span(s)}: a transaction torn by a crash, never acknowledged`,
    );
  }
  for (const s of report.dropped) {
    writeLine(streams.stdout, `dropped: ${span(s)}: a damaged transaction, replaced by filler`);
  }
  writeLine(
    streams.stdout,
    `${path} opens again. Run \`shelfdb verify ${path}\` to check the rest.`,
  );
  return EXIT.ok;
}

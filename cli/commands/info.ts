/** `shelfdb info <path>`: size, objects, transactions, garbage ratio, format version, last pack. */
import { FORMAT_VERSION } from '../../worker/shelf-format.js';
import { EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { formatBytes, formatRatio, formatTable, formatTime } from '../format.js';
import { withDatabase } from '../open-path.js';

/** What `info --json` prints. */
export interface InfoJson {
  path: string;
  /** The file format version (the database opened, so it is the one this shelfdb reads). */
  formatVersion: number;
  bytes: number;
  objects: number;
  transactions: number;
  garbageBytes: number;
  /** garbageBytes / bytes (0 for an empty database). */
  garbageRatio: number;
  /** ISO time of the last pack, null before the first. */
  lastPack: string | null;
}

/** Runs `info`. */
export async function info(path: string, json: boolean, streams: Streams): Promise<ExitCode> {
  const report = await withDatabase(path, {}, async (db): Promise<InfoJson> => {
    const stats = await db.stats();
    return {
      path,
      formatVersion: FORMAT_VERSION,
      bytes: stats.bytes,
      objects: stats.objects,
      transactions: stats.transactions,
      garbageBytes: stats.garbageBytes,
      garbageRatio: stats.bytes === 0 ? 0 : stats.garbageBytes / stats.bytes,
      lastPack: stats.lastPack === undefined ? null : formatTime(stats.lastPack),
    };
  });
  if (json) {
    writeJson(streams.stdout, report);
    return EXIT.ok;
  }
  writeLine(
    streams.stdout,
    formatTable([
      ['path', report.path],
      ['format version', String(report.formatVersion)],
      [
        'size',
        report.bytes < 1024
          ? formatBytes(report.bytes)
          : `${formatBytes(report.bytes)} (${report.bytes} bytes)`,
      ],
      ['objects', String(report.objects)],
      ['transactions', String(report.transactions)],
      [
        'garbage',
        `${formatBytes(report.garbageBytes)} (${formatRatio(report.garbageRatio)}: what pack could reclaim, at most)`,
      ],
      ['last pack', report.lastPack ?? 'never'],
    ]),
  );
  return EXIT.ok;
}

/**
 * `shelfdb pack <path>`: removes what is unreachable from the root and revisions no snapshot
 * reads, drawing the 'pack' events (PackEvent) as a progress line. Ctrl-C aborts the pack through
 * its signal: the database stays valid (what was compacted stays compacted).
 */
import type { PackEvent } from '../../src/events.js';
import { CommandFailure, EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { formatBytes } from '../format.js';
import { withDatabase } from '../open-path.js';
import { Progress } from '../progress.js';

/** Runs `pack`. `signal` (bin.ts: SIGINT) aborts it. */
export async function pack(
  path: string,
  json: boolean,
  streams: Streams,
  signal?: AbortSignal,
): Promise<ExitCode> {
  const progress = new Progress(streams.stderr, 'pack');
  const result = await withDatabase(path, {}, async (db) => {
    const onPack = (event: Event): void => {
      const { phase, done, total } = event as PackEvent;
      progress.update(done, total, phase);
    };
    db.addEventListener('pack', onPack);
    try {
      return await db.pack(signal === undefined ? {} : { signal });
    } catch (error) {
      if (signal?.aborted !== true) throw error;
      throw new CommandFailure(
        `pack of ${path} stopped when asked to: the database is valid, and what was compacted stays compacted. Run it again to finish.`,
        EXIT.problems,
        { cause: error },
      );
    } finally {
      db.removeEventListener('pack', onPack);
      progress.clear();
    }
  });
  if (json) {
    writeJson(streams.stdout, result);
    return EXIT.ok;
  }
  writeLine(
    streams.stdout,
    `packed ${path}: ${formatBytes(result.bytesBefore)} → ${formatBytes(result.bytesAfter)}; removed ${result.objectsRemoved} unreachable object${result.objectsRemoved === 1 ? '' : 's'} and ${result.revisionsRemoved} old revision${result.revisionsRemoved === 1 ? '' : 's'}.`,
  );
  return EXIT.ok;
}

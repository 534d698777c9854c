/**
 * `shelfdb export <path> <oid> <file> [--gzip] [--boundary owned|reachable]`: an archive of object
 * `oid` and what it owns (exportTree), written to `file` through a temp file renamed when complete
 * and read back (its header) before the rename. References leaving the boundary stay `$ext`.
 */
import { exportTree } from '../../src/archive/export-tree.js';
import { formatBytes } from '../format.js';
import { EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';
import { Progress } from '../progress.js';
import {
  checkOutputFile,
  countOf,
  objectAt,
  plural,
  writeArchiveFile,
  writtenHeader,
} from './archive-files.js';

/** What `export --json` prints. */
export interface ExportJson {
  /** The archive file, absolute. */
  file: string;
  /** The start object's oid. */
  start: number;
  /** The tid the objects were read at. */
  snapshot: number;
  /** Objects exported (entries). */
  objects: number;
  /** Items of the BTrees exported. */
  btreeItems: number;
  /** The file's size. */
  bytes: number;
}

/** Runs `export`. */
export async function exportTo(
  path: string,
  oid: number,
  file: string,
  options: { gzip: boolean; boundary: 'owned' | 'reachable'; json: boolean },
  streams: Streams,
): Promise<ExitCode> {
  const full = await checkOutputFile(file);
  const progress = new Progress(streams.stderr, 'export');
  const done = await withDatabase(path, {}, async (db): Promise<ExportJson> => {
    const conn = db.open();
    const start = await objectAt(conn, path, oid, 'the object to export');
    const stream = exportTree(conn, start, { boundary: options.boundary, gzip: options.gzip });
    const { bytes, checked: header } = await writeArchiveFile(
      stream,
      full,
      progress,
      writtenHeader,
    );
    return {
      file: full,
      start: oid,
      snapshot: typeof header.snapshot === 'number' ? header.snapshot : 0,
      objects: countOf(header, 'objects'),
      btreeItems: countOf(header, 'btreeItems'),
      bytes,
    };
  });
  if (options.json) writeJson(streams.stdout, done);
  else {
    const items = done.btreeItems === 0 ? '' : ` and ${plural(done.btreeItems, 'BTree item')}`;
    writeLine(
      streams.stdout,
      `exported ${plural(done.objects, 'object')}${items} from oid ${oid} (as of tid ${done.snapshot}) to ${file} (${formatBytes(done.bytes)}).`,
    );
  }
  return EXIT.ok;
}

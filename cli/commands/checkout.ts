/**
 * `shelfdb checkout <path> <oid> <dir>`: the export of object `oid` (exportTree, default boundary)
 * written into `dir` as files (writeCheckout): `shelfdb-archive.json` and `objects/<id>.json`, to
 * edit, keep in git, then `check` and `commit`. `dir` must be new, empty, or an earlier checkout
 * (replaced); anything else is refused before the database is read.
 */
import { checkCheckoutTarget, writeCheckout } from '../../src/archive/directory.js';
import { exportTree } from '../../src/archive/export-tree.js';
import { readArchive, type ArchiveEntry, type StreamedEntry } from '../../src/archive/snarf.js';
import { TreeBlobs } from '../../src/archive/tree-blobs.js';
import { ShelfError } from '../../src/shared/errors.js';
import { CommandFailure, EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';
import { Progress } from '../progress.js';
import { objectAt, plural } from './archive-files.js';

/** What `checkout --json` prints. */
export interface CheckoutJson {
  /** The checkout directory, absolute. */
  dir: string;
  /** The start object's oid. */
  start: number;
  /** Object files written (a BTree's pages not counted). */
  objects: number;
  /** Files written, pages and the header included. */
  files: number;
  /** Files of an earlier checkout removed (objects no longer exported). */
  removed: number;
}

/** Runs `checkout`. */
export async function checkout(
  path: string,
  oid: number,
  dir: string,
  json: boolean,
  streams: Streams,
): Promise<ExitCode> {
  try {
    await checkCheckoutTarget(dir);
  } catch (error) {
    if (!(error instanceof ShelfError)) throw error;
    throw new CommandFailure(error.message, EXIT.usage, { cause: error });
  }
  const progress = new Progress(streams.stderr, 'checkout');
  const done = await withDatabase(path, {}, async (db): Promise<CheckoutJson> => {
    const conn = db.open();
    const start = await objectAt(conn, path, oid, 'the object to check out');
    return { start: oid, ...(await checkoutInto(conn, start, dir, progress)) };
  });
  if (json) writeJson(streams.stdout, done);
  else {
    const removed =
      done.removed === 0
        ? ''
        : `; removed ${plural(done.removed, 'file')} of objects no longer in it`;
    writeLine(
      streams.stdout,
      `checked out ${plural(done.objects, 'object')} from oid ${oid} into ${dir}${removed}.`,
    );
  }
  return EXIT.ok;
}

/**
 * Exports `start` at `conn`'s snapshot into the checkout `dir` (commit uses it too, to bring a
 * checkout up to what it committed).
 */
export async function checkoutInto(
  conn: Parameters<typeof exportTree>[0],
  start: Parameters<typeof exportTree>[1],
  dir: string,
  progress: Progress,
): Promise<Omit<CheckoutJson, 'start'>> {
  let objects = 0;
  async function* counted(): AsyncGenerator<ArchiveEntry | StreamedEntry> {
    for await (const entry of readArchive(exportTree(conn, start), {
      streamed: TreeBlobs.isBlobPath,
    })) {
      if (/^objects\/[^/]+\.json$/.test(entry.path) && !entry.path.includes('.page-')) {
        objects++;
        progress.note(`${plural(objects, 'object')}`);
      }
      yield entry;
    }
  }
  try {
    const result = await writeCheckout(dir, counted());
    return { dir: result.dir, objects, files: result.files, removed: result.removed };
  } finally {
    progress.clear();
  }
}

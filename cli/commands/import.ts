/**
 * `shelfdb import <path> <file|dir> --into <oid> --name <key>`: stores a copy of an archive's
 * objects with new oids (importCopy) under the PersistentDict or BTree `--into` at key `--name`,
 * in one transaction. The copy never touches the objects it was exported from. A key that `--into`
 * holds already is refused (exit 2): the command never replaces what is there.
 */
import { importCopy } from '../../src/archive/import-copy.js';
import { BrokenObject } from '../../src/broken-object.js';
import { BTree } from '../../src/btree.js';
import { PersistentDict } from '../../src/persistent-dict.js';
import { CommandFailure, EXIT, writeJson, writeLine, type ExitCode, type Streams } from '../io.js';
import { withDatabase } from '../open-path.js';
import { Progress } from '../progress.js';
import { dataProblem, objectAt, openArchiveInput, plural } from './archive-files.js';

/** What `import --json` prints. */
export interface ImportJson {
  /** The archive file or checkout, absolute. */
  source: string;
  /** The container the copy went into. */
  into: number;
  /** Its key there. */
  name: string;
  /** The copy of the archive's start object. */
  start: number;
  /** Every exported oid → the oid of its copy. */
  oids: Record<string, number>;
}

/** Runs `import`. */
export async function importInto(
  path: string,
  source: string,
  options: { into: number; name: string; json: boolean },
  streams: Streams,
): Promise<ExitCode> {
  const input = await openArchiveInput(source, 'tree', true);
  const progress = new Progress(streams.stderr, 'import');
  const done = await withDatabase(path, {}, async (db): Promise<ImportJson> => {
    const conn = db.open();
    const into = await objectAt(conn, path, options.into, '--into');
    if (!(into instanceof PersistentDict) && !(into instanceof BTree)) {
      throw new CommandFailure(
        `--into ${options.into} is a ${into instanceof BrokenObject ? into.className : into.constructor.name}, not a PersistentDict or BTree: give the oid of a container to hold the copy (\`shelfdb show ${path} <oid>\` shows an object's class).`,
        EXIT.usage,
      );
    }
    const taken = into instanceof BTree ? await into.has(options.name) : into.has(options.name);
    if (taken) {
      throw new CommandFailure(
        `oid ${options.into} holds the key ${JSON.stringify(options.name)} already: give another --name (import never replaces what is there).`,
        EXIT.usage,
      );
    }
    let map: Map<number, number>;
    try {
      map = await importCopy(conn, input.open(progress), into, options.name, {
        unregistered: 'keep',
      });
    } catch (error) {
      throw dataProblem(error, input);
    } finally {
      progress.clear();
    }
    const startOid = Number(input.header.start);
    return {
      source: input.path,
      into: options.into,
      name: options.name,
      start: map.get(startOid) ?? -1,
      oids: Object.fromEntries([...map].map(([from, to]) => [String(from), to])),
    };
  });
  if (options.json) writeJson(streams.stdout, done);
  else
    writeLine(
      streams.stdout,
      `imported ${plural(Object.keys(done.oids).length, 'object')} from ${source} into oid ${done.into} as ${JSON.stringify(done.name)}: the copy of oid ${Number(input.header.start)} is oid ${done.start}.`,
    );
  return EXIT.ok;
}

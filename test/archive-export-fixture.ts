/** Helpers for the exportTree tests: a database with the test classes, an export parsed. */
import { BTree, Database, MemoryStorage, Persistent } from '../src/index.js';
import { exportTree, type ExportTreeOptions } from '../src/archive/export-tree.js';
import type { Json } from '../src/archive/json-value.js';
import { readArchive } from '../src/archive/snarf.js';
import type { Storage } from '../src/shared/storage.js';
import { CLASSES } from './fixtures.js';

export class Folder extends Persistent {
  static _p_name = 'test.Folder';
  name = '';
  parent: Folder | null = null;
  index: BTree<number, unknown> | null = null;
}

/** An entry of an export, its JSON parsed. */
export interface Parsed {
  path: string;
  json: { [key: string]: Json } & Json[];
}

export function openDb(storage: Storage = new MemoryStorage()): Database {
  return new Database(storage, { classes: [...CLASSES, Folder] });
}

export const text = new TextDecoder();

/** Every entry of an archive, in order, parsed. */
export async function parse(stream: ReadableStream<Uint8Array>): Promise<Parsed[]> {
  const out: Parsed[] = [];
  for await (const entry of readArchive(stream)) {
    out.push({ path: entry.path, json: JSON.parse(text.decode(entry.bytes)) as Parsed['json'] });
  }
  return out;
}

/** The object entries of an export by id, and its header. */
export async function exported(
  conn: ReturnType<Database['open']>,
  start: Persistent | number,
  options: ExportTreeOptions = {},
) {
  const entries = await parse(exportTree(conn, start, options));
  const header = entries[0]?.json as { [key: string]: Json };
  const objects = new Map<string, { [key: string]: Json }>();
  for (const { path, json } of entries) {
    const match = /^objects\/([^/]+)\.json$/.exec(path);
    if (match !== null) objects.set(match[1] as string, json);
  }
  return { entries, header, objects };
}

export const oidOf = (obj: Persistent): number => obj._p_oid as number;
export const idOf = (obj: Persistent): string => String(oidOf(obj));

/** Parses an archive's chunks (as read from its stream). */
export async function collect(chunks: Uint8Array[]) {
  const entries = await parse(new Blob(chunks as BlobPart[]).stream());
  const header = entries[0]?.json as { [key: string]: Json };
  const objects = new Map<string, { [key: string]: Json }>();
  for (const { path, json } of entries) {
    const match = /^objects\/([^/]+)\.json$/.exec(path);
    if (match !== null) objects.set(match[1] as string, json);
  }
  return { header, objects };
}

/**
 * A tree archive (design15 "The tree archive", written by exportTree) read as a stream of checked
 * objects, the model check, commit and import share: the header first (its `entries` list every
 * exported id), then each object in archive order (a BTree's with its pages) with its hash as it
 * is now, handed over one at a time so that no caller needs the whole archive parsed at once.
 *
 * Entries come from a SNARF archive (readArchive, which checks every entry's CRC at the end) or
 * from any `AsyncIterable<ArchiveEntry>` (a directory checkout). Blob entries (`blobs/<hash>`) are
 * checked, and stored for commit and import, as they come (tree-blobs.ts). The caller writes nothing before
 * the generator has returned: only then was every entry read and its CRC checked. Everything
 * malformed is a CorruptStorageError naming the entry's path: a foreign or unknown-version
 * header, bad JSON, an entry of the wrong shape, a page out of sequence or out of key order, a
 * `$ref` to an id that is not in the archive.
 *
 * Memory: one object's parsed state at a time; a BTree's pages are kept as their bytes (parsed
 * once here to check them and hash them, again one at a time by `pageItems` when a tree is
 * rebuilt), so a large tree costs its archive bytes, not its items as objects.
 */
import { checkKey, compareKeys, type BTreeKey, type KeyKind } from '../btree-keys.js';
import { CorruptStorageError } from '../shared/errors.js';
import { BTREE_CLASS } from './btree-items.js';
import { jsonToValue, type Json, type JsonObject } from './json-value.js';
import { objectHash, pageHash } from './object-entry.js';
import {
  isArchiveSource,
  readArchive,
  type ArchiveEntry,
  type ArchiveSource,
  type StreamedEntry,
} from './snarf.js';
import { BlobAgreement } from './blob-agreement.js';
import { TreeBlobs, type TreeBlobOptions } from './tree-blobs.js';
import { TREE_FORMAT, TREE_HEADER, TREE_VERSIONS } from './tree-format.js';

/**
 * What check, commit and import read from: an archive, entries, or (in Node) the path of a
 * directory checkout.
 */
export type TreeSource = ArchiveSource | AsyncIterable<ArchiveEntry | StreamedEntry> | string;

/** The header's fields that readers use. */
export interface ArchiveHeader {
  /** The id of the export's start object. */
  start: string;
  /** Every id exported (so an entry deleted since is 'removed'). */
  entries: string[];
  /** The tid exported at. */
  snapshot: number | undefined;
}

/** One page of a BTree's items. */
export interface ArchivePage {
  /** The entry's path. */
  path: string;
  /** The entry's bytes (JSON array of [key, value]), parsed again by `pageItems`. */
  bytes: Uint8Array;
  /** How many items it holds. */
  count: number;
  /** Its page hash (object-entry.ts pageHash), when hashes were asked for; else ''. */
  hash: string;
}

/** One object entry. */
export interface ArchiveObject {
  /** The entry's path: `objects/<id>.json`. */
  path: string;
  /** Its archive id. */
  id: string;
  /** The oid it was exported from; undefined for an object a person added. */
  oid: number | undefined;
  /** The stored class name. */
  className: string;
  /** The hash written at export (the base); undefined for an added object. */
  baseHash: string | undefined;
  /** The tid of the revision exported (its `serial`); undefined for an added object. */
  serial: number | undefined;
  /** The hash of the entry as it is now, when hashes were asked for (readTreeObjects); else ''. */
  hash: string;
  /** Its state (a BTree's: count, degree, kind). */
  state: JsonObject;
  /** A BTree's pages, in order; undefined for other objects. */
  pages: ArchivePage[] | undefined;
  /** A BTree's item count (what its pages hold) and key kind; undefined for other objects. */
  items: { count: number; kind: KeyKind | null } | undefined;
  /** The ids its `$ref`s name, with the path of the entry (or page) that names each. */
  refs: Map<string, string>;
  /** The oids its `$ext`s name → their class, with the entry (or page) path. */
  exts: Map<number, { className: string; path: string }>;
}

const OBJECT_PATH = /^objects\/([A-Za-z0-9_.-]+)\.json$/;
const PAGE_PATH = /^objects\/([A-Za-z0-9_.-]+)\.page-(\d+)\.json$/;
const ID = /^[A-Za-z0-9_.-]+$/;
const text = new TextDecoder('utf-8', { fatal: true });

const corrupt = (path: string, what: string): CorruptStorageError =>
  new CorruptStorageError(
    `Archive entry ${path}: ${what}. The archive is damaged or was edited by hand wrongly: fix the entry or export again. Nothing was written.`,
  );

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Options of `readTreeObjects`. */
export interface TreeReadOptions {
  /** Compute each object's hash as it is now (check and commit compare them; import needs none). */
  hashes?: boolean;
  /** Given the header before any object is read (import allots the new oids from its `entries`). */
  onHeader?: (header: ArchiveHeader) => void | Promise<void>;
  /** Where blobs are looked for and whether blob entries are stored (tree-blobs.ts). */
  blobs?: TreeBlobOptions;
}

/** What is known once every entry was read: the header and the ids it lists with no entry. */
export interface TreeEnd {
  /** The header. */
  header: ArchiveHeader;
  /** Ids the header lists that have no entry any more. */
  removed: string[];
  /** The blob records read, to check a merge function's `$blob` markers against. */
  agreement: BlobAgreement;
}

/**
 * The objects of a tree archive, one at a time in archive order, each checked as it is read; the
 * generator's return value is the header and the removed ids. The checks that need the whole
 * archive run after its last entry (and after snarf.ts checked every CRC): a `$ref` to an id
 * that never came, the start's entry, a `$blob` marker and its blob record that name different
 * blobs (blob-agreement.ts). Memory: the ids seen, the ids referenced but not seen yet,
 * and the BTree pages of the tree being read (as bytes); every object is the caller's to keep or
 * drop.
 * @throws CorruptStorageError naming the entry for anything malformed (see the module comment).
 */
export async function* readTreeObjects(
  source: TreeSource,
  options: TreeReadOptions = {},
): AsyncGenerator<ArchiveObject, TreeEnd, undefined> {
  const entries =
    typeof source === 'string'
      ? // This exact path is what browser builds swap for directory.browser.ts (no node:fs there).
        (await import('./directory.js')).directoryEntries(source, {
          streamed: TreeBlobs.isBlobPath,
        })
      : isArchiveSource(source)
        ? readArchive(source, { streamed: TreeBlobs.isBlobPath })
        : source;
  const hashes = options.hashes === true;
  const blobs = new TreeBlobs(options.blobs);
  const agreement = new BlobAgreement();
  let header: ArchiveHeader | undefined;
  /**
   * Every id listed or met → whether its entry came (one map for both: an archive of 100,000s of
   * objects holds one string per id, the header's, not a second copy per entry read).
   */
  const seen = new Map<string, boolean>();
  /** Ids a `$ref` named before their entry came, with the path that named each first. */
  const pendingRefs = new Map<string, string>();
  const came = (id: string): boolean => seen.get(id) === true;
  const onBlob: OnBlob = (json, path) => agreement.marker(json, path, came);
  let pending: PendingTree = newTree('');
  for await (const entry of entries) {
    const { path } = entry;
    if (header === undefined) {
      if ('chunks' in entry) throw corrupt(path, `the first entry is not ${TREE_HEADER}`);
      header = readHeader(entry);
      for (const id of header.entries) seen.set(id, false);
      await options.onHeader?.(header);
      continue;
    }
    if (TreeBlobs.isBlobPath(path)) {
      await blobs.entry(entry);
      continue;
    }
    if ('chunks' in entry) throw corrupt(path, 'not an entry of a shelfdb tree archive');
    const page = PAGE_PATH.exec(path);
    if (page !== null) {
      const id = page[1] as string;
      if (pending.id !== id) pending = newTree(id);
      if (Number(page[2]) !== pending.pages.length || seen.get(id) === true) {
        throw corrupt(path, `a page out of sequence (expected page ${pending.pages.length})`);
      }
      pending.pages.push(await readPage(entry, pending, hashes, onBlob));
      continue;
    }
    const object = OBJECT_PATH.exec(path);
    if (object === null) throw corrupt(path, 'not an entry of a shelfdb tree archive');
    const id = object[1] as string;
    if (seen.get(id) === true) throw corrupt(path, `a second entry for id ${id}`);
    const tree = pending.id === id ? pending : undefined;
    const obj = await readObject(entry, id, tree, hashes, onBlob);
    blobs.note(path, obj.className, obj.state);
    agreement.entry(id, obj.className, obj.state, path);
    pending = newTree('');
    seen.set(id, true);
    pendingRefs.delete(id);
    for (const [ref, where] of obj.refs) {
      if (seen.get(ref) !== true && !pendingRefs.has(ref)) pendingRefs.set(ref, where);
    }
    yield obj;
  }
  if (header === undefined) throw corrupt(TREE_HEADER, 'missing: this is not a tree archive');
  if (pending.id !== '') {
    throw corrupt(pending.pages[0]?.path ?? '', `pages of an object without its entry`);
  }
  for (const [id, path] of pendingRefs) {
    throw corrupt(path, `a $ref to "${id}", which is no entry of this archive`);
  }
  if (seen.get(header.start) !== true) {
    throw corrupt(
      TREE_HEADER,
      `its start "${header.start}" has no entry (objects/${header.start}.json)`,
    );
  }
  await agreement.finish(options.blobs?.reader);
  await blobs.checkComplete();
  return { header, removed: header.entries.filter((id) => !came(id)), agreement };
}

/** A BTree's pages read so far, before its entry. */
interface PendingTree {
  id: string;
  pages: ArchivePage[];
  refs: Refs;
  last: unknown;
  kind?: KeyKind;
}
const newTree = (id: string): PendingTree => ({ id, pages: [], refs: newRefs(), last: undefined });

/** The items of one page, parsed (checked when the archive was read). */
export function pageItems(page: ArchivePage): [Json, Json][] {
  return JSON.parse(text.decode(page.bytes)) as [Json, Json][];
}

function parse(entry: ArchiveEntry): Json {
  try {
    return JSON.parse(text.decode(entry.bytes)) as Json;
  } catch (error) {
    throw corrupt(entry.path, `not JSON (${(error as Error).message})`);
  }
}

function readHeader(entry: ArchiveEntry): ArchiveHeader {
  if (entry.path !== TREE_HEADER) {
    throw corrupt(entry.path, `the first entry is not ${TREE_HEADER}: this is not a tree archive`);
  }
  const json = parse(entry);
  if (!isObject(json) || json.format !== TREE_FORMAT) {
    throw corrupt(entry.path, `not a shelfdb archive header (format "${TREE_FORMAT}")`);
  }
  if (!TREE_VERSIONS.includes(json.version as number)) {
    throw corrupt(
      entry.path,
      `format version ${JSON.stringify(json.version)} is not one this shelfdb reads (${TREE_VERSIONS.join(', ')}); update shelfdb`,
    );
  }
  if (json.kind !== 'tree') {
    throw corrupt(entry.path, `kind ${JSON.stringify(json.kind)} is not a tree archive`);
  }
  const { start, entries, snapshot } = json;
  if (
    typeof start !== 'string' ||
    !Array.isArray(entries) ||
    !entries.every((id) => typeof id === 'string' && ID.test(id))
  ) {
    throw corrupt(entry.path, 'its start or entries are missing or malformed');
  }
  return {
    start,
    entries: entries as string[],
    snapshot: typeof snapshot === 'number' ? snapshot : undefined,
  };
}

/** The references an entry's JSON names. */
interface Refs {
  ids: Map<string, string>;
  exts: Map<number, { className: string; path: string }>;
}
const newRefs = (): Refs => ({ ids: new Map(), exts: new Map() });

/** Told each `$blob` marker met, with the path of its entry or page. */
type OnBlob = (json: JsonObject, path: string) => void;

/**
 * Collects the `$ref` and `$ext` markers in `json` (a marker is an object with that key: a data
 * key starting with `$` is written with one more), and hands each `$blob` marker to `onBlob` once
 * its own `record` reference was checked.
 */
function collectRefs(json: Json, refs: Refs, path: string, onBlob: OnBlob): void {
  if (Array.isArray(json)) {
    for (const item of json) collectRefs(item, refs, path, onBlob);
    return;
  }
  if (!isObject(json)) return;
  if ('$ref' in json) {
    const id = json.$ref;
    if (typeof id !== 'string')
      throw corrupt(path, `a $ref that is not an id: ${JSON.stringify(id)}`);
    if (!refs.ids.has(id)) refs.ids.set(id, path);
    return;
  }
  if ('$ext' in json) {
    const oid = json.$ext;
    const className = json.class;
    if (
      typeof oid !== 'number' ||
      !Number.isSafeInteger(oid) ||
      oid < 0 ||
      typeof className !== 'string'
    ) {
      throw corrupt(path, `an $ext without an oid and a class: ${JSON.stringify(json)}`);
    }
    if (!refs.exts.has(oid)) refs.exts.set(oid, { className, path });
    return;
  }
  for (const key of Object.keys(json)) collectRefs(json[key] as Json, refs, path, onBlob);
  if ('$blob' in json) onBlob(json, path);
}

/** A page checked: [key, value] pairs, keys of one kind in increasing order after `last`. */
async function readPage(
  entry: ArchiveEntry,
  tree: { refs: Refs; last: unknown; kind?: KeyKind },
  hashes: boolean,
  onBlob: OnBlob,
): Promise<ArchivePage> {
  const json = parse(entry);
  if (!Array.isArray(json)) throw corrupt(entry.path, 'a page is not a JSON array of [key, value]');
  json.forEach((item, i) => {
    if (!Array.isArray(item) || item.length !== 2) {
      throw corrupt(entry.path, `item ${i} is not a [key, value] pair`);
    }
    let key: unknown;
    try {
      key = jsonToValue(item[0] as Json, () => {
        throw new CorruptStorageError('a key cannot be a reference');
      });
      tree.kind = checkKey(key, tree.kind);
    } catch (error) {
      throw corrupt(
        entry.path,
        `item ${i}: its key is not a BTree key (${(error as Error).message})`,
      );
    }
    if (tree.last !== undefined && compareKeys(tree.last as BTreeKey, key as BTreeKey) >= 0) {
      throw corrupt(entry.path, `item ${i}: keys out of order (${JSON.stringify(item[0])})`);
    }
    tree.last = key;
    collectRefs(item[1] as Json, tree.refs, entry.path, onBlob);
  });
  return {
    path: entry.path,
    bytes: entry.bytes,
    count: json.length,
    // Hashed from the JSON parsed here: the page is not parsed again for it.
    hash: hashes ? await pageHash(json) : '',
  };
}

async function readObject(
  entry: ArchiveEntry,
  id: string,
  tree: { pages: ArchivePage[]; refs: Refs; kind?: KeyKind } | undefined,
  hashes: boolean,
  onBlob: OnBlob,
): Promise<ArchiveObject> {
  const { path } = entry;
  const json = parse(entry);
  if (!isObject(json)) throw corrupt(path, 'not a JSON object');
  const { class: className, id: ownId, oid, hash, state, pages, serial } = json;
  if (typeof className !== 'string' || className === '') throw corrupt(path, 'no "class"');
  if (ownId !== id)
    throw corrupt(path, `its "id" ${JSON.stringify(ownId)} is not ${JSON.stringify(id)}`);
  if (oid !== undefined && (typeof oid !== 'number' || !Number.isSafeInteger(oid) || oid < 0)) {
    throw corrupt(path, `its "oid" ${JSON.stringify(oid)} is not an oid`);
  }
  if (oid !== undefined && id !== String(oid)) {
    // exportTree names each object by its oid, and commit writes an entry over its oid: an oid
    // edited by hand, or left in a file copied to add an object, would overwrite another object.
    throw corrupt(
      path,
      `its "oid" ${oid} is not its id's (${id}): an exported entry keeps both, and an object added by hand has no "oid", "serial" or "hash"`,
    );
  }
  if (hash !== undefined && typeof hash !== 'string') throw corrupt(path, '"hash" is not a string');
  if (!isObject(state)) throw corrupt(path, '"state" is not a JSON object');
  const refs = tree?.refs ?? newRefs();
  collectRefs(state, refs, path, onBlob);
  let items: ArchiveObject['items'];
  let pageList: ArchivePage[] | undefined;
  if (className === BTREE_CLASS && pages === undefined) {
    // Written as a plain record it would be a BTree without a root: its items lost.
    throw corrupt(
      path,
      'a BTree entry without "pages" (its item pages precede it; "pages": 0 for an empty tree)',
    );
  }
  if (pages !== undefined || tree !== undefined) {
    pageList = tree?.pages ?? [];
    if (pages !== pageList.length) {
      throw corrupt(path, `it says ${JSON.stringify(pages)} pages, ${pageList.length} precede it`);
    }
    const { degree } = state;
    if (typeof degree !== 'number' || !Number.isInteger(degree) || degree < 2 || degree > 4096) {
      throw corrupt(path, 'a BTree entry without a minimum degree (an integer from 2 to 4096)');
    }
    items = { count: pageList.reduce((n, p) => n + p.count, 0), kind: tree?.kind ?? null };
  }
  return {
    path,
    id,
    oid: oid as number | undefined,
    className,
    baseHash: hash as string | undefined,
    serial: typeof serial === 'number' && Number.isSafeInteger(serial) ? serial : undefined,
    hash: hashes
      ? await objectHash(
          className,
          state,
          pageList?.map((p) => p.hash),
        )
      : '',
    state,
    pages: pageList,
    items,
    refs: refs.ids,
    exts: refs.exts,
  };
}

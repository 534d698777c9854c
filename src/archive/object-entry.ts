/**
 * One live object as a tree archive shows it (design15 "The tree archive"): its state as canonical
 * JSON with references named by archive id, its hash, and for a BTree its items as pages. Export
 * writes entries from it; check computes the live hash with it (the same rendering, so a live
 * object and the archive entry exported from it hash the same).
 *
 * Hash: `sha256:<hex>` of the compact canonical JSON of `{ "class": c, "state": s }`, or for a
 * BTree of `{ "class": c, "pages": [<pageHash of each page>…], "state": s }`, where a page is the
 * JSON array of its `[key, value]` items (each key and each value written by its own walk) and
 * pageHash is the `sha256:<hex>` of its compact canonical JSON. A BTree's state is its stored
 * fields without `root` (`count`, `degree`, `kind`): nodes are never entries, the pages are its
 * contents.
 */
import type { LoadedRecord, Tid } from '../shared/storage.js';
import {
  canonicalJson,
  decodeState,
  sha256,
  stateToJson,
  valueToJson,
  type Json,
  type JsonObject,
  type StoredRef,
} from './json-value.js';
import { btreeFields, btreeItems, isBTreeState, type BTreeItem } from './btree-items.js';
import type { SnapshotReader } from './snapshot-reader.js';

export { snapshotReader, LOAD_BATCH, type SnapshotReader } from './snapshot-reader.js';

/** The most items in one page of a BTree entry. */
export const PAGE_ITEMS = 1_000;

/**
 * The hash of an object's entry (see the module comment): `pageHashes` for a BTree, in page order.
 * @example
 * const hash = await objectHash('app.Todo', { title: 'milk' }); // 'sha256:…'
 */
export function objectHash(className: string, state: Json, pageHashes?: string[]): Promise<string> {
  return sha256(objectHashText(className, state, pageHashes));
}

/** The text objectHash hashes: the compact canonical JSON of the object's class, pages and state. */
export function objectHashText(className: string, state: Json, pageHashes?: string[]): string {
  const body: JsonObject =
    pageHashes === undefined
      ? { class: className, state }
      : { class: className, pages: pageHashes, state };
  return canonicalJson(body);
}

/** The hash of one page of a BTree entry: `sha256:<hex>` of its compact canonical JSON. */
export function pageHash(page: Json[]): Promise<string> {
  return sha256(canonicalJson(page));
}

/** How a reference is named: `{ $ref: id }` for an oid that is an entry, else `{ $ext, class }`. */
export function refNamer(idOf: (oid: number) => string | undefined): (ref: StoredRef) => Json {
  return (ref): Json => {
    const id = idOf(ref.oid);
    return id === undefined ? { $ext: ref.oid, class: ref.className } : { $ref: id };
  };
}

/** A live object rendered as an archive entry (see renderObject). */
export interface RenderedObject {
  /** Its entry id: `idOf(oid)`, or the oid as a string when it is not an entry. */
  id: string;
  /** Its oid. */
  oid: number;
  /** Its stored class name. */
  className: string;
  /** The tid of the revision rendered (the entry's `serial`). */
  serial: Tid;
  /** Its state as JSON (keys sorted); a BTree's without `root`. */
  state: JsonObject;
  /** True for a BTree: its contents are `pages()`. */
  isBTree: boolean;
  /**
   * A BTree's items in key order, as pages of at most PAGE_ITEMS `[key, value]` JSON pairs, one
   * at a time (never the tree in memory; its nodes are loaded in batches as the pages are asked
   * for). Yields nothing for any other object. Each call walks the tree again.
   * @throws CorruptStorageError for a damaged tree.
   */
  pages(): AsyncGenerator<Json[]>;
  /**
   * A BTree's node oids at the revision rendered: filled as `pages()` walks, complete once it has
   * ended (commit pins them with readCurrent). Empty for any other object.
   */
  readonly nodeOids: number[];
}

/**
 * The live object `record` (read through `reader`, whose tid it was loaded at) rendered as an
 * archive entry, references named by `idOf` (an oid that is an entry → `{ $ref: id }`, else
 * `{ $ext: oid, class }`).
 * @throws CorruptStorageError for a damaged state or BTree.
 * @example
 * const [record] = await reader.load([12]);
 * const rendered = await renderObject(reader, record, (oid) => (ids.has(oid) ? String(oid) : undefined));
 * const hash = await renderedHash(rendered);
 */
export async function renderObject(
  reader: SnapshotReader,
  record: LoadedRecord,
  idOf: (oid: number) => string | undefined,
): Promise<RenderedObject> {
  return Promise.resolve(renderRecord(reader, record, idOf));
}

/**
 * renderObject without the promise: an export renders every object it writes, one after the
 * other, and needs none.
 * @throws CorruptStorageError for a damaged state or BTree.
 */
export function renderRecord(
  reader: SnapshotReader,
  record: LoadedRecord,
  idOf: (oid: number) => string | undefined,
): RenderedObject {
  const ref = refNamer(idOf);
  const decoded = decodeState(record.state, reader.decoder);
  const id = idOf(record.oid) ?? String(record.oid);
  const { oid, className, tid: serial } = record;
  if (!isBTreeState(className, decoded)) {
    const state = stateToJson(decoded, ref);
    return { id, oid, className, serial, state, isBTree: false, nodeOids: [], pages: noPages };
  }
  const fields = btreeFields(record, decoded);
  const rest: Record<string, unknown> = { ...decoded };
  delete rest.root;
  const nodeOids: number[] = [];
  return {
    id,
    oid,
    className,
    serial,
    state: stateToJson(rest, ref),
    isBTree: true,
    nodeOids,
    pages: async function* () {
      nodeOids.length = 0;
      let page: Json[] = [];
      for await (const item of btreeItems(reader, record, fields, (oid) => nodeOids.push(oid))) {
        page.push(itemJson(item, ref));
        if (page.length === PAGE_ITEMS) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },
  };
}

/** The pages of an object that is not a BTree: none. */
async function* noPages(): AsyncGenerator<Json[]> {}

/** The hash of a rendered object (walks a BTree's pages once). */
export async function renderedHash(rendered: RenderedObject): Promise<string> {
  if (!rendered.isBTree) return objectHash(rendered.className, rendered.state);
  const hashes: string[] = [];
  for await (const page of rendered.pages()) hashes.push(await pageHash(page));
  return objectHash(rendered.className, rendered.state, hashes);
}

/** One item as a page holds it: `[key, value]`, each written by its own walk. */
export function itemJson([key, value]: BTreeItem, ref: (r: StoredRef) => Json): Json {
  return [valueToJson(key, ref), valueToJson(value, ref)];
}

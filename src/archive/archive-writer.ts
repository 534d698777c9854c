/**
 * ArchiveWriter: the records commit and import write for an archive's objects (design15 "Writing
 * records"). The caller says what each id is written as (`target`: its oid and class), so a
 * `$ref` resolves to its target; the caller writes an object only once every id it names has a
 * target. `$ext` markers resolve to themselves (check and import verify they exist live). A BTree entry becomes a tree record over fresh node records
 * bulk-built from its pages (btree-build.ts), read one page at a time.
 */
import { CorruptStorageError, UnregisteredClassError } from '../shared/errors.js';
import type { Storage, StoredRecord, Tid } from '../shared/storage.js';
import type { ClassRegistry } from '../registry.js';
import type { KeyKind } from '../btree-keys.js';
import { buildNodes, NODE_CLASS } from './btree-build.js';
import { jsonToState, type Json, type JsonObject } from './json-value.js';
import { RecordRef, RecordWriter } from './record-writer.js';
import { pageItems, type ArchiveObject } from './tree-archive.js';

/** Oids asked of the storage at a time for new BTree nodes. */
const OID_BLOCK = 1_024;

/** A BTree's contents to write: its items in key order, their count and key kind. */
export interface TreeItems {
  items: Iterable<[Json, Json]> | AsyncIterable<[Json, Json]>;
  count: number;
  kind: KeyKind | null;
}

/** What archive id `id` is written as: its oid and class (undefined: not known). */
export type TargetOf = (id: string) => RecordRef | undefined;

/** Writes the records of an archive's objects into one list. */
export class ArchiveWriter {
  private readonly writer: RecordWriter;
  private spareOids: number[] = [];
  /** The records written so far. */
  readonly records: StoredRecord[] = [];

  /** `target`: each archive id's oid and class (the object written for it). */
  constructor(
    private readonly storage: Storage,
    private readonly target: TargetOf,
  ) {
    this.writer = new RecordWriter((marker, path) => {
      if (marker.$ref !== undefined) {
        const target = this.target(marker.$ref);
        // The caller writes an object once its targets are known; reaching this is a bug.
        if (target === undefined) throw new CorruptStorageError(`${path}: no entry ${marker.$ref}`);
        return target;
      }
      return new RecordRef(marker.$ext as number, marker.class as string);
    });
  }

  /**
   * Writes `obj` (its target known, and those of the ids it names) with state `state` (default: its own) based on revision `tid`; a BTree
   * with `items` (default: its pages).
   * @throws CorruptStorageError naming the entry for a malformed state or items.
   */
  async write(
    obj: ArchiveObject,
    tid: Tid | undefined,
    state = obj.state,
    items?: TreeItems,
  ): Promise<void> {
    const oid = (this.target(obj.id) as RecordRef).oid;
    if (obj.pages === undefined) {
      this.records.push(this.writer.record(oid, obj.className, state, tid, obj.path));
      return;
    }
    const contents = items ?? {
      items: archiveItems(obj),
      count: obj.items?.count ?? 0,
      kind: obj.items?.kind ?? null,
    };
    const fields = jsonToState(
      state,
      () => {
        throw new CorruptStorageError(`${obj.path}: a BTree's state holds no references`);
      },
      { where: obj.path },
    );
    const degree = fields.degree as number;
    const iterator =
      Symbol.asyncIterator in contents.items
        ? contents.items[Symbol.asyncIterator]()
        : contents.items[Symbol.iterator]();
    const writer = this.writer;
    const pairs = {
      async next(): Promise<IteratorResult<[unknown, unknown]>> {
        const step = await iterator.next();
        if (step.done === true) return { done: true, value: undefined };
        const [k, v] = step.value;
        return { done: false, value: [writer.value(k, obj.path), writer.value(v, obj.path)] };
      },
    };
    const root = await buildNodes(
      pairs,
      contents.count,
      degree,
      {
        newOid: () => this.newOid(),
        encode: (nodeOid, { keys, values, children }) => {
          const kids = children?.map((c) => new RecordRef(c.oid, c.className)) ?? null;
          return writer.encode(
            nodeOid,
            NODE_CLASS,
            { keys, values, children: kids },
            undefined,
            obj.path,
          );
        },
        put: (record) => this.records.push(record),
      },
      obj.path,
    );
    fields.root = new RecordRef(root.oid, root.className);
    fields.count = contents.count;
    fields.kind = contents.kind;
    this.records.push(writer.encode(oid, obj.className, fields, tid, obj.path));
  }

  private async newOid(): Promise<number> {
    if (this.spareOids.length === 0) this.spareOids = await this.storage.newOids(OID_BLOCK);
    return this.spareOids.pop() as number;
  }
}

/** A BTree entry's items, page by page. */
export function* archiveItems(obj: ArchiveObject): Generator<[Json, Json]> {
  for (const page of obj.pages ?? []) yield* pageItems(page);
}

/**
 * Refuses entries whose class this database has not registered (the page could not load them)
 * unless `keep`.
 * @throws UnregisteredClassError naming the first such entry and its class.
 */
export function checkClasses(
  objects: Iterable<{ className: string; path: string }>,
  registry: ClassRegistry,
  keep: boolean,
): void {
  if (keep) return;
  for (const obj of objects) {
    if (registry.classOf(obj.className) !== undefined) continue;
    throw new UnregisteredClassError(
      obj.className,
      obj.path,
      `Archive entry ${obj.path} is of class ${obj.className}, which this database has not registered. Register the class (openDatabase's classes), or pass { unregistered: 'keep' } to write it as stored data. Nothing was written.`,
    );
  }
}

/** A JSON object, or undefined. */
export function asObject(json: Json | undefined): JsonObject | undefined {
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? json : undefined;
}

/**
 * The `$ext` references of an archive's objects (references to objects outside the tree), checked
 * against the database at a snapshot: one resolves when the oid has a live revision there of the
 * class the archive names. Loads are batched (snapshot-reader.ts): import resolves every external
 * in one batched load after the archive was read; check resolves those of each batch of entries
 * as it goes, remembering the oids it has looked up.
 */
import type { SnapshotReader } from './snapshot-reader.js';
import type { ArchiveObject } from './tree-archive.js';

/** The most entries named per unresolved external in an error (a tree may name one thousands of times). */
const NAMED_AT_MOST = 5;

/** Why the `$ext` of class `className` to `oid`, named in `path`, does not resolve. */
function why(className: string, oid: number, path: string, live: string | undefined): string {
  return live === undefined
    ? `${className} ${oid} (in ${path}) does not exist in this database`
    : `${className} ${oid} (in ${path}) is a ${live} in this database`;
}

/** Externals collected from objects as they are read, resolved at the end in one batched load. */
export class ExternalRefs {
  /** oid → class named → the entries naming it (the first few) and how many in all. */
  private readonly named = new Map<
    number,
    Map<string, { at: { entry: string; path: string }[]; count: number }>
  >();

  /** Notes the externals `obj` names (nothing else of it is kept). */
  add(obj: ArchiveObject): void {
    for (const [oid, { className, path }] of obj.exts) {
      let classes = this.named.get(oid);
      if (classes === undefined) this.named.set(oid, (classes = new Map()));
      let uses = classes.get(className);
      if (uses === undefined) classes.set(className, (uses = { at: [], count: 0 }));
      uses.count += 1;
      if (uses.at.length < NAMED_AT_MOST) uses.at.push({ entry: obj.path, path });
    }
  }

  /**
   * Those that do not resolve at the reader's snapshot, each described as
   * `<entry path>: <class> <oid> (in <path>) does not exist in this database` (or is of another
   * class); empty when all resolve.
   */
  async unresolved(reader: SnapshotReader): Promise<string[]> {
    const live = new Map<number, string>();
    for (const r of await reader.load([...this.named.keys()])) live.set(r.oid, r.className);
    const out: string[] = [];
    for (const [oid, classes] of this.named) {
      for (const [className, { at, count }] of classes) {
        const found = live.get(oid);
        if (found === className) continue;
        for (const { entry, path } of at) out.push(`${entry}: ${why(className, oid, path, found)}`);
        if (count > at.length) out.push(`and ${count - at.length} more entries naming ${oid}`);
      }
    }
    return out;
  }
}

/**
 * Per object id of `objects`, the `$ext`s that do not resolve at the reader's snapshot, described
 * (as check reports them). `known` remembers each oid's live class (null: no revision) across
 * calls, so an external named by many batches is loaded once.
 */
export async function unresolvedIn(
  reader: SnapshotReader,
  objects: readonly ArchiveObject[],
  known: Map<number, string | null>,
): Promise<Map<string, string[]>> {
  const wanted = new Set<number>();
  for (const obj of objects)
    for (const oid of obj.exts.keys()) if (!known.has(oid)) wanted.add(oid);
  if (wanted.size > 0) {
    for (const oid of wanted) known.set(oid, null);
    for (const r of await reader.load([...wanted])) known.set(r.oid, r.className);
  }
  const out = new Map<string, string[]>();
  for (const obj of objects) {
    for (const [oid, { className, path }] of obj.exts) {
      const live = known.get(oid) ?? undefined;
      if (live === className) continue;
      const list = out.get(obj.id) ?? [];
      list.push(why(className, oid, path, live));
      out.set(obj.id, list);
    }
  }
  return out;
}

/**
 * Editing an exported archive as a person would, for the tests of check, commit and import: its
 * entries read whole (blob entries too), an entry's state changed, a `$blob` marker found.
 */
import { BLOB_ENTRY } from '../src/archive/backup-blobs.js';
import { readArchive, type ArchiveEntry } from '../src/archive/snarf.js';

/** An object entry's `state`, as JSON. */
export type EntryState = Record<string, unknown>;

/** The `$blob` marker of a Blob in an entry's state. */
export interface BlobMarker {
  $blob: string;
  size: number;
  type: string;
  name: string | null;
  lastModified: number | null;
  record: { $ref?: string; $ext?: number; class?: string };
}

/** Every entry of `archive`, blob entries read whole. */
export async function entriesOf(archive: Uint8Array): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const entry of readArchive(archive, { streamed: (p) => BLOB_ENTRY.test(p) })) {
    if ('bytes' in entry) {
      out.push(entry);
      continue;
    }
    const parts: Uint8Array[] = [];
    for await (const piece of entry.chunks) parts.push(piece);
    const blob = new Blob(parts as Uint8Array<ArrayBuffer>[]);
    out.push({ path: entry.path, bytes: new Uint8Array(await blob.arrayBuffer()) });
  }
  return out;
}

/** The state of the object entry at `path`. */
export function stateAt(entries: ArchiveEntry[], path: string): EntryState {
  const entry = entries.find((e) => e.path === path);
  if (entry === undefined) throw new Error(`no entry ${path}`);
  return (JSON.parse(new TextDecoder().decode(entry.bytes)) as { state: EntryState }).state;
}

/** `entries` with the state of the entry at `path` changed by `edit`, as an editor would. */
export function edited(
  entries: ArchiveEntry[],
  path: string,
  edit: (state: EntryState) => void,
): ArchiveEntry[] {
  return entries.map((entry) => {
    if (entry.path !== path) return entry;
    const json = JSON.parse(new TextDecoder().decode(entry.bytes)) as { state: EntryState };
    edit(json.state);
    return { path, bytes: new TextEncoder().encode(JSON.stringify(json, null, 2)) };
  });
}

/** The `$blob` marker at `key` of a PersistentDict's state (its `data`, a `$map` of pairs). */
export function blobIn(state: EntryState, key: string): BlobMarker {
  const pair = (state.data as { $map: [string, BlobMarker][] }).$map.find(([k]) => k === key);
  if (pair === undefined) throw new Error(`no key ${key}`);
  return pair[1];
}

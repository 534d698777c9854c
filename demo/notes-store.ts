/**
 * The sample app's data: `Note`s in a BTree keyed by date, under the root key `notesByDate`.
 *
 * A note's key is `[created time in ms, seq]`: in date order, and unique because `seq` counts up
 * past the notes created in the same millisecond. The key is kept in the note itself (`created`
 * and `seq`), so deleting a note needs no search. The app shows the tree newest first, one page at
 * a time, by key range: nothing here walks the whole tree.
 *
 * The app deletes a note by the key it read the note under, not by `noteKey(note)`: a note whose
 * `created` or `seq` was changed (in the explorer, say) is still found.
 *
 * The old demo kept its notes in `root.notes` (a PersistentList); this one never reads that key,
 * so an origin that still has it opens as well.
 *
 * Attachments are Blobs (Files) in the note's `files`: a commit stores their bytes, loading gives
 * them back as StoredFiles (size, type, name at once; bytes read when shown). Notes stored before
 * attachments have no `files` (loading does not run the class's field initializers): read it
 * through `filesOf`.
 */
import { BTree, Persistent, type Connection } from 'shelfdb';

/** A note (or task: it can be done). */
export class Note extends Persistent {
  // The name its records are stored under: the same in every build, whatever the minifier calls
  // the class.
  static _p_name = 'demo.Note';
  text = '';
  done = false;
  created = new Date();
  /** Tells apart notes created in the same millisecond (part of the key). */
  seq = 0;
  tags: string[] = [];
  /** The attached files (absent in notes stored before attachments: use `filesOf`). */
  files?: Blob[] = [];
}

/** A note's attachments: none for a note stored before there were any. */
export function filesOf(note: Note): Blob[] {
  return note.files ?? [];
}

/** A note's key in the tree: its creation time in ms, then its sequence number. */
export type NoteKey = [number, number];

/** The tree of notes, by date. */
export type NotesTree = BTree<NoteKey, Note>;

/** The root key the notes live under. */
export const NOTES_KEY = 'notesByDate';

/** Notes shown per page. */
export const PAGE_SIZE = 50;

/** The key `note` is stored under. */
export function noteKey(note: Note): NoteKey {
  return [note.created.getTime(), note.seq];
}

/** The fields of a new note. */
export interface NewNote {
  text: string;
  created: Date;
  done?: boolean;
  tags?: string[];
}

/**
 * Stores a new note in `tree` (inside a transaction), with the first free `seq` for its time.
 * Resolves to the note.
 */
export async function insertNote(tree: NotesTree, fields: NewNote): Promise<Note> {
  const note = new Note();
  note.text = fields.text;
  note.created = fields.created;
  note.done = fields.done ?? false;
  note.tags = fields.tags ?? [];
  while (await tree.has(noteKey(note))) note.seq++;
  await tree.set(noteKey(note), note);
  return note;
}

/**
 * The tree of notes, made on first run with `examples` in it (the first the newest, each next a
 * minute older). Decided inside `transact` on the root, so two tabs starting at once make it once:
 * the second one's commit conflicts on the root, runs again, and finds the tree there.
 */
export async function openNotes(
  conn: Connection,
  examples: readonly Omit<NewNote, 'created'>[],
): Promise<NotesTree> {
  return conn.transact(
    async () => {
      const root = await conn.root();
      const existing = root.get(NOTES_KEY);
      if (existing instanceof BTree) return existing as NotesTree;
      const tree: NotesTree = new BTree<NoteKey, Note>();
      root.set(NOTES_KEY, tree);
      const now = Date.now();
      for (const [i, example] of examples.entries()) {
        await insertNote(tree, { ...example, created: new Date(now - (i + 1) * 60_000) });
      }
      return tree;
    },
    { note: 'demo: first run, example notes' },
  );
}

/** A note and the key it is stored under (read from the tree, not recomputed from the note). */
export interface NoteEntry {
  key: NoteKey;
  note: Note;
}

/** One page of notes, newest first. */
export interface NotesPage {
  notes: NoteEntry[];
  /** The key of the next older note after this page (where "Older" starts), if any. */
  older: NoteKey | undefined;
  /** Whether notes newer than this page exist. */
  newer: boolean;
}

/**
 * The page of notes at `anchor` and older (the newest page when `anchor` is undefined), newest
 * first: at most PAGE_SIZE + 2 entries are read, whatever the size of the tree.
 */
export async function readPage(tree: NotesTree, anchor: NoteKey | undefined): Promise<NotesPage> {
  const notes: NoteEntry[] = [];
  let older: NoteKey | undefined;
  const range = anchor === undefined ? { reverse: true } : { max: anchor, reverse: true };
  for await (const [key, note] of tree.entries(range)) {
    if (notes.length === PAGE_SIZE) {
      older = key;
      break;
    }
    notes.push({ key, note });
  }
  const newer =
    anchor !== undefined &&
    (await first(tree.keys({ min: anchor, excludeMin: true }))) !== undefined;
  return { notes, older, newer };
}

/**
 * Where the page before (newer than) the one starting at `anchor` starts: the PAGE_SIZE-th newer
 * key, or undefined (the newest page) when there are no more than that.
 */
export async function newerAnchor(tree: NotesTree, anchor: NoteKey): Promise<NoteKey | undefined> {
  let count = 0;
  let last: NoteKey | undefined;
  for await (const key of tree.keys({ min: anchor, excludeMin: true })) {
    count++;
    last = key;
    if (count === PAGE_SIZE) break;
  }
  if (count < PAGE_SIZE) return undefined;
  // Exactly a page's worth newer: the newest page when nothing is newer than the last of them.
  return (await first(tree.keys({ min: last, excludeMin: true }))) === undefined ? undefined : last;
}

/** The first item of an async iteration (which it then stops), or undefined. */
async function first<T>(items: AsyncIterable<T>): Promise<T | undefined> {
  for await (const item of items) return item;
  return undefined;
}

/**
 * Data for the sample app: the example notes of a first run, and "Seed 10,000", which fills the
 * tree in batches (one transaction each) so that the page stays responsive and shows progress.
 */
import type { Database } from 'shelfdb';
import { NOTES_KEY, insertNote, type NewNote, type NotesTree } from './notes-store.js';

/** The notes a first run starts with, newest first. */
export const EXAMPLE_NOTES: readonly Omit<NewNote, 'created'>[] = [
  { text: 'Welcome: these notes are kept in shelfdb, in this browser', tags: ['welcome'] },
  { text: 'Open a second tab: what you add here shows up there at once', tags: ['welcome'] },
  { text: 'Tick a note to mark it done', done: true, tags: ['welcome'] },
  { text: 'Open the explorer to see how the notes are stored', tags: ['welcome'] },
  { text: 'Works offline once installed: the data never leaves the browser', tags: ['welcome'] },
];

const WORDS = ['buy', 'call', 'write', 'read', 'fix', 'plan', 'review', 'send', 'check', 'book'];
const THINGS = ['milk', 'the BTree', 'mum', 'tickets', 'the report', 'the bike', 'a letter'];

/** How a seeding run is going. */
export interface SeedProgress {
  done: number;
  total: number;
}

/** Options of `seedNotes`. */
export interface SeedOptions {
  /** How many notes in all (default 10,000). */
  total?: number;
  /** How many notes per transaction (default 1,000). */
  batch?: number;
  /** Called after each batch is committed. */
  onProgress?: (progress: SeedProgress) => void;
}

/**
 * Adds `total` generated notes, older than any the app made so far, in transactions of `batch`
 * notes, each in a connection of its own (so the app's connection sees them arrive through
 * 'change', like another tab's). Between batches the page gets the event loop back.
 */
export async function seedNotes(db: Database, options: SeedOptions = {}): Promise<void> {
  const total = options.total ?? 10_000;
  const batch = options.batch ?? 1_000;
  const conn = db.open();
  try {
    // Oldest first, a minute apart, ending ten minutes before now (behind a fresh first run's
    // example notes).
    const start = Date.now() - 10 * 60_000 - total * 60_000;
    for (let done = 0; done < total;) {
      const from = done;
      const count = Math.min(batch, total - from);
      await conn.transact(
        async () => {
          const root = await conn.root();
          const tree = root.get(NOTES_KEY) as NotesTree;
          for (let k = from; k < from + count; k++) {
            await insertNote(tree, {
              text: `Seeded note ${k + 1}: ${WORDS[k % WORDS.length]} ${THINGS[k % THINGS.length]}`,
              created: new Date(start + k * 60_000),
              done: k % 3 === 0,
              tags: ['seeded'],
            });
          }
        },
        { note: `demo: seed notes ${from + 1}–${from + count}` },
      );
      done = from + count;
      options.onProgress?.({ done, total });
      // Lets the page paint the progress and handle input before the next batch.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
    }
  } finally {
    conn.close();
  }
}

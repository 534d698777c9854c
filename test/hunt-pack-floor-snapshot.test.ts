/**
 * Hunt (issue 11): pack's floor against the snapshots of the page that asks for it, with a storage
 * that keeps no pins (MemoryStorage, a file storage, IndexedDBStorage used directly): the only
 * floor pack gets is the `keepTid` Database.pack passes.
 */
import { describe, expect, it } from 'vitest';
import { Database, MemoryStorage, type Storage, type Tid } from '../src/index.js';
import { CLASSES, type Todo, todo } from './fixtures.js';

/** `inner`, with a hook run when a `sync` has its answer but before the page gets it. */
function slowSync(inner: MemoryStorage) {
  let onSyncAnswer: (() => Promise<void>) | undefined;
  const storage = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'sync') {
        return async (since: Tid) => {
          const answer = await target.sync(since);
          const hook = onSyncAnswer;
          onSyncAnswer = undefined;
          await hook?.();
          return answer;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  }) as Storage;
  return {
    storage,
    whenSyncAnswers(hook: () => Promise<void>) {
      onSyncAnswer = hook;
    },
  };
}

describe('db.pack over a storage without pins', () => {
  it("keeps the revisions a connection's first snapshot reads when the pack runs while it learns the newest tid", async () => {
    const inner = new MemoryStorage();
    const slow = slowSync(inner);
    const db = new Database(slow.storage, { classes: CLASSES });
    const writer = db.open();
    const rootW = await writer.root();
    const t = todo('first');
    rootW.set('t', t);
    await writer.commit();

    const reader = db.open();
    reader.autoSync = false;
    // The reader's sync has answered (the newest tid: 'first'); before the answer reaches it, the
    // writer changes the todo and this page packs.
    slow.whenSyncAnswers(async () => {
      t.title = 'second';
      await writer.commit();
      await db.pack();
    });
    const root = await reader.root();
    const mine = await reader.load(root.get('t') as Todo);
    expect(mine.title).toBe('first'); // its snapshot's revision survived the pack
    await db.close();
  });
});

describe('db.pack after first snapshots, over a storage without pins', () => {
  it('removes the revisions no snapshot reads any more once the connections have their snapshots', async () => {
    const inner = new MemoryStorage();
    const db = new Database(inner, { classes: CLASSES });
    const writer = db.open();
    const reader = db.open();
    reader.autoSync = false;
    const root = await writer.root();
    const t = todo('first');
    root.set('t', t);
    await writer.commit();
    t.title = 'second';
    await writer.commit();
    await reader.root(); // its snapshot: after 'second'
    const { revisionsRemoved } = await db.pack();
    expect(revisionsRemoved).toBeGreaterThan(0);
    await db.close();
  });
});

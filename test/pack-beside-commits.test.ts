/**
 * Pack beside small commits, found by bench/pack.mjs (issue 13): a pack must go on while one
 * connection commits back to back in the same thread (Node's 'file' storage), and one compaction
 * step must not read the index checkpoint once per record (each read was a syscall inside the
 * step that serves no commit).
 */
import { describe, expect, it } from 'vitest';
import type { BlobStore } from '../worker/blob-store.js';
import { MemoryBlockDirectory, type BlockDirectory, type BlockFile } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { Database, PersistentDict } from '../src/index.js';

/** A directory that counts the read calls on index checkpoint files while `counting`. */
class CountingDirectory implements BlockDirectory {
  counting = false;
  indexReads = 0;
  constructor(private readonly inner: MemoryBlockDirectory) {}
  blobStore(): Promise<BlobStore> {
    return this.inner.blobStore();
  }
  async open(name: string): Promise<BlockFile> {
    const file = await this.inner.open(name);
    const isIndex = name.startsWith('index-');
    return {
      read: (offset, length) => {
        if (this.counting && isIndex) this.indexReads++;
        return file.read(offset, length);
      },
      write: (offset, data) => file.write(offset, data),
      size: () => file.size(),
      truncate: (size) => file.truncate(size),
      flush: () => file.flush(),
      close: () => file.close(),
    };
  }
  list(): Promise<string[]> {
    return this.inner.list();
  }
  remove(name: string): Promise<void> {
    return this.inner.remove(name);
  }
}

/** A database whose root holds `keep` dicts, and held `drop` more it then unlinked. */
async function halfGarbage(dir: BlockDirectory, count: number): Promise<Database> {
  const db = new Database(await ShelfStorage.open(dir, { segmentSize: 64 << 10 }));
  const conn = db.open();
  const root = await conn.root();
  const keep = new PersistentDict<number, PersistentDict<string, number>>();
  const drop = new PersistentDict<number, PersistentDict<string, number>>();
  for (let i = 0; i < count; i++)
    (i % 2 === 0 ? keep : drop).set(i, new PersistentDict([['v', i]]));
  root.set('keep', keep);
  root.set('drop', drop);
  root.set('hot', new PersistentDict([['v', 0]]));
  await conn.commit();
  (await conn.root()).delete('drop');
  await conn.commit();
  conn.close();
  return db;
}

describe('pack beside small commits (found by bench/pack.mjs)', () => {
  it('finishes while one connection commits back to back without the event loop turning', async () => {
    const db = await halfGarbage(new MemoryBlockDirectory(), 2000);
    const conn = db.open();
    const hot = await conn.load((await conn.root()).get('hot') as PersistentDict<string, number>);
    let packing = true;
    const pack = db.pack().finally(() => (packing = false));
    // At most 5,000 commits: a pack of 2,000 small objects needs a few slices, not 5,000 commits.
    for (let i = 0; packing && i < 5000; i++) {
      hot.set('v', i);
      await conn.commit();
    }
    expect(packing).toBe(false);
    await pack;
    await db.close();
  }, 60_000);

  it('reads the index checkpoint a bounded number of times per pack, not once per object or record', async () => {
    const dir = new CountingDirectory(new MemoryBlockDirectory());
    const db = await halfGarbage(dir, 20_000);
    await (db.storage as ShelfStorage).checkpoint(); // the table in the checkpoint file, not the tail
    dir.counting = true;
    const result = await db.pack();
    expect(result.objectsRemoved).toBeGreaterThan(10_000);
    // One bulk read per step (and one at the start) would do; not one 8-byte read per record.
    expect(dir.indexReads).toBeLessThan(1000);
    await db.close();
  }, 60_000);
});

/**
 * The cache on its own: identity (`get`) through every way an object enters and leaves it, and
 * that an object which is not a ghost is held by its Meta only until it turns into one (`shrink`,
 * `noteGhost`), after which the app dropping it lets it go.
 */
import { describe, expect, it } from 'vitest';
import { Cache } from '../src/cache.js';
import { Persistent, ghostify, makeGhost, metaOf, type Jar } from '../src/persistent.js';
import { until } from './until.js';

class Item extends Persistent {
  n = 0;
}
const jar: Jar = { noteChanged: () => undefined };

/** A new Item as a commit leaves it: oid `oid`, saved, `size` bytes. */
function committed(oid: number, size = 10): Item {
  const item = Object.assign(new Item(), { n: oid });
  const m = metaOf(item);
  m.oid = oid;
  m.jar = jar;
  m.className = 'Item';
  m.status = 'saved';
  m.size = size;
  return item;
}

/** Adds `count` committed items (oids 1…count) as PendingCommit.landed does; keeps none. */
function commitMany(cache: Cache, count: number): void {
  for (let oid = 1; oid <= count; oid++) {
    const item = committed(oid);
    cache.add(item);
    cache.noteLoaded(item);
  }
}

/** Turns every loaded object into a ghost as invalidations and aborts do. */
function ghostAll(cache: Cache): void {
  for (const obj of [...cache.loadedObjects()]) {
    cache.noteGhost(obj);
    ghostify(metaOf(obj));
  }
}

function collectUntil(predicate: () => boolean, what: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  expect(gc, 'tests run with --expose-gc').toBeTypeOf('function');
  // Nothing announces a collection: collect after each turn (the finalizers run in a task).
  return until(
    () => {
      (gc as () => void)();
      return predicate();
    },
    what,
    100,
  );
}

describe('Cache', () => {
  it('gives back the same object for an oid while it is loaded, changed, a ghost or held', () => {
    const cache = new Cache(3, 2 ** 30);
    const items = [1, 2, 3, 4].map((oid) => committed(oid));
    for (const item of items) {
      cache.add(item);
      cache.noteLoaded(item);
    }
    const [a, b, c, d] = items as [Item, Item, Item, Item];
    b.n = 20; // changed: stays loaded
    const release = cache.hold(c);
    expect(cache.shrink()).toBe(1); // a: the only clean one that is not held
    expect(a._p_status).toBe('ghost');
    expect([b, c, d].map((x) => x._p_status)).toEqual(['unsaved', 'saved', 'saved']);
    for (const item of items) expect(cache.get(metaOf(item).oid as number)).toBe(item);
    release();
    cache.noteGhost(d);
    ghostify(metaOf(d));
    expect(cache.get(4)).toBe(d);
    expect([...cache.loadedObjects()]).toEqual([b, c]);
    const ghost = makeGhost(Item, 5, 'Item', jar);
    cache.add(ghost);
    expect(cache.get(5)).toBe(ghost);
    expect(cache.knownCount).toBe(5);
  });

  it('lets go of new objects turned into ghosts by shrink once the app drops them', async () => {
    const cache = new Cache(10, 2 ** 30);
    commitMany(cache, 200);
    expect(cache.shrink()).toBe(190);
    expect(cache.knownCount).toBe(200);
    await collectUntil(() => cache.knownCount <= 10, 'the 190 ghosts to leave the cache');
    expect(cache.loadedCount).toBe(10);
    expect(cache.get(200)?._p_status).toBe('saved');
  });

  it('lets go of new objects turned into ghosts by noteGhost once the app drops them', async () => {
    const cache = new Cache(1_000, 2 ** 30);
    commitMany(cache, 100);
    ghostAll(cache); // in a function: an async function's frame may keep its temporaries alive
    expect(cache.loadedCount).toBe(0);
    await collectUntil(() => cache.knownCount === 0, 'the 100 ghosts to leave the cache');
  });

  it('keeps loaded objects the app dropped: they are the cache', async () => {
    const cache = new Cache(1_000, 2 ** 30);
    commitMany(cache, 50);
    const gc = (globalThis as { gc?: () => void }).gc as () => void;
    gc();
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    gc();
    expect(cache.knownCount).toBe(50);
    expect(cache.get(7)).toMatchObject({ n: 7 });
  });
});

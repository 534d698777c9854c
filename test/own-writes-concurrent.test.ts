// A connection's own commit, when others commit around it: what it wrote stays loaded as written,
// unless someone committed it after. (Found by the three-tab benchmark: a tab's own object turned
// into a ghost between its own commits, and the next `obj.field = …` threw GhostError.)
import { describe, expect, it } from 'vitest';
import { Database, MemoryStorage } from '../src/index.js';
import { CLASSES, Todo, todo } from './fixtures.js';

/** A MemoryStorage that runs a one-shot hook before a commit or a sync is served. */
class HookedStorage extends MemoryStorage {
  beforeCommit: (() => Promise<void>) | undefined;
  beforeSync: (() => Promise<void>) | undefined;

  override async commit(...args: Parameters<MemoryStorage['commit']>) {
    const hook = this.beforeCommit;
    this.beforeCommit = undefined;
    await hook?.();
    return super.commit(...args);
  }

  override async sync(...args: Parameters<MemoryStorage['sync']>) {
    const hook = this.beforeSync;
    this.beforeSync = undefined;
    await hook?.();
    return super.sync(...args);
  }
}

async function twoTabs() {
  const storage = new HookedStorage();
  const a = new Database(storage, { classes: CLASSES }).open();
  const rootA = await a.root();
  const mine = todo('mine');
  rootA.set('mine', mine);
  rootA.set('theirs', todo('theirs'));
  await a.commit();
  const b = new Database(storage, { classes: CLASSES }).open();
  const theirs = (await b.root()).get('theirs') as Todo;
  await b.load(theirs);
  let n = 0;
  const theyCommit = async () => {
    theirs.title = `theirs ${++n}`;
    await b.commit();
  };
  return { storage, a, b, mine, theirs, theyCommit };
}

describe('a commit of a connection while other connections commit', () => {
  it('keeps what it wrote loaded when others committed other objects before and after it', async () => {
    const { storage, a, mine, theyCommit } = await twoTabs();
    // Another commit lands before ours (our snapshot is behind it) and another after ours,
    // before our connection asks what changed.
    storage.beforeCommit = theyCommit;
    storage.beforeSync = theyCommit;
    mine.title = 'mine 1';
    await a.commit();
    expect(mine._p_status).toBe('saved');
    mine.title = 'mine 2'; // threw GhostError
    await a.commit();
    const check = new Database(storage, { classes: CLASSES }).open();
    const stored = (await check.root()).get('mine') as Todo;
    await check.load(stored);
    expect(stored.title).toBe('mine 2');
  });

  it('ghosts what it wrote when another connection committed it after', async () => {
    const { storage, a, b, mine, theyCommit } = await twoTabs();
    const theirMine = (await b.root()).get('mine') as Todo;
    storage.beforeCommit = theyCommit; // before ours: our snapshot is behind
    storage.beforeSync = async () => {
      await b.sync(); // to our commit
      await b.load(theirMine);
      theirMine.title = 'after mine';
      await b.commit(); // after ours, before our connection asks what changed
    };
    mine.title = 'mine';
    await a.commit();
    expect(mine._p_status).toBe('ghost');
    await a.load(mine);
    expect(mine.title).toBe('after mine');
  });
});

// @vitest-environment happy-dom
/**
 * shelfdb/react in Node: the hooks rendered by react-dom into happy-dom's document, over a
 * MemoryStorage database with two connections: the component's, and `writer`, whose commits reach
 * the component's connection as 'change' events, as another tab's would. Commits through the
 * component's own connection reach it as 'commit' events.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import {
  Component,
  StrictMode,
  act,
  createElement,
  type FunctionComponent,
  type ReactNode,
} from 'react';
import { createRoot, type Root } from 'react-dom/client';
import {
  BTree,
  Database,
  DatabaseClosedError,
  StorageBusyError,
  type BTreeKey,
  type BTreeRange,
  type Connection,
  type DatabaseOptions,
} from '../src/index.js';
import { useConnection, useObject, useRange, useRoot } from '../src/react/index.js';
import { rangeKey } from '../src/react/use-range.js';
import { CLASSES, makeDb, todo, type Todo } from './fixtures.js';
import { flakyStorage } from './flaky-storage.js';
import { MAX_TURNS, turn } from './until.js';

declare global {
  var IS_REACT_ACT_ENVIRONMENT: boolean | undefined;
}

beforeAll(() => {
  // Tells React that updates are wrapped in act() here, as in any test renderer.
  globalThis.IS_REACT_ACT_ENVIRONMENT = true;
});

/** Mounted trees, unmounted after each test. */
const mounted: { root: Root; unmounted: boolean }[] = [];

afterEach(async () => {
  for (const m of mounted.splice(0)) if (!m.unmounted) await act(async () => m.root.unmount());
  vi.restoreAllMocks();
});

/**
 * Mounts a component showing `item`'s title as `n: title`; `renderAgain(n)` re-renders it with a
 * new prop, as an app re-renders for its own reasons.
 */
async function mountTitle(conn: Connection, item: Todo) {
  const Show: FunctionComponent<{ n: number }> = ({ n }) =>
    `${n}: ${useObject(conn, item)?.title ?? 'loading'}`;
  const view = await mount(h(Show, { n: 1 }));
  return { ...view, renderAgain: (n: number) => view.rerender(h(Show, { n })) };
}

/** Renders `element` into a fresh container; `rerender` and `unmount` act on it. */
async function mount(element: ReactNode) {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  const entry = { root, unmounted: false };
  mounted.push(entry);
  await act(async () => root.render(element));
  return {
    container,
    text: (): string => container.textContent ?? '',
    rerender: (next: ReactNode) => act(async () => root.render(next)),
    unmount: async () => {
      entry.unmounted = true;
      await act(async () => root.unmount());
    },
  };
}

/** Lets React and the storage run, inside act(), until `predicate` holds. */
async function settle(predicate: () => boolean, what: string): Promise<void> {
  for (let turns = 0; !predicate(); turns++) {
    if (turns >= MAX_TURNS) throw new Error(`Still waiting for ${what} after ${turns} turns.`);
    await act(async () => turn());
  }
}

/**
 * Counts the 'change' and 'commit' listeners on `conn` (adds minus removes), from now on, as
 * "change commit".
 */
function countChangeListeners(conn: Connection): () => string {
  const count = { change: 0, commit: 0 };
  const add = conn.addEventListener.bind(conn);
  const remove = conn.removeEventListener.bind(conn);
  vi.spyOn(conn, 'addEventListener').mockImplementation((type, listener, options) => {
    if (type === 'change' || type === 'commit') count[type]++;
    add(type, listener, options);
  });
  vi.spyOn(conn, 'removeEventListener').mockImplementation((type, listener, options) => {
    if (type === 'change' || type === 'commit') count[type]--;
    remove(type, listener, options);
  });
  return () => `${count.change} ${count.commit}`;
}

/** Every connection `db.open()` hands out from now on. */
function trackOpens(db: Database): Connection[] {
  const opened: Connection[] = [];
  const open = db.open.bind(db);
  vi.spyOn(db, 'open').mockImplementation(() => {
    const conn = open();
    opened.push(conn);
    return conn;
  });
  return opened;
}

/**
 * Makes every load of `db`'s storage wait until `release()` (those waiting then) or `passThrough()`
 * (all from then on): what a page reads stays in flight while the test commits.
 */
function holdLoads(db: Database) {
  let passing = false;
  let waiting: (() => void)[] = [];
  let held = 0;
  const load = db.storage.load.bind(db.storage);
  vi.spyOn(db.storage, 'load').mockImplementation(async (...args) => {
    if (!passing) {
      held++;
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    return load(...args);
  });
  const release = (): void => {
    const now = waiting;
    waiting = [];
    for (const resolve of now) resolve();
  };
  return {
    /** How many loads have waited so far. */
    held: () => held,
    release,
    passThrough: (): void => {
      passing = true;
      release();
    },
  };
}

/** Counts the entries each `BTree.entries` scan from now on has yielded, in call order. */
function countScans(): number[] {
  const counts: number[] = [];
  const entries = BTree.prototype.entries;
  vi.spyOn(BTree.prototype, 'entries').mockImplementation(function (this: BTree, range) {
    const scan = counts.push(0) - 1;
    const inner = entries.call(this, range);
    return (async function* () {
      for await (const entry of inner) {
        counts[scan] = (counts[scan] ?? 0) + 1;
        yield entry;
      }
    })();
  });
  return counts;
}

/** A database whose root holds 'title', a todo 'todo' and a BTree 'tree' of `entries`. */
async function seeded(
  entries: [number, unknown][] = [],
  minimumDegree = 2,
  options: DatabaseOptions = {},
) {
  const { db } = makeDb(options);
  const writer = db.open();
  const root = await writer.root();
  const tree = new BTree<number, unknown>({ minimumDegree });
  root.set('title', 'first');
  root.set('todo', todo('write tests'));
  root.set('tree', tree);
  for (const [k, v] of entries) await tree.set(k, v);
  await writer.commit();
  return { db, writer, root, tree };
}

/** Catches what its children throw and shows its name. */
class Boundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state: { error: unknown } = { error: undefined };
  static getDerivedStateFromError(error: unknown): { error: unknown } {
    return { error };
  }
  override render(): ReactNode {
    const { error } = this.state;
    if (error === undefined) return this.props.children;
    return `caught ${error instanceof Error ? error.name : String(error)}`;
  }
}

const h = createElement;

describe('useConnection', () => {
  it('opens one connection while the component is mounted and closes it on unmount', async () => {
    const { db } = makeDb();
    const opened = trackOpens(db);
    const seen: (Connection | undefined)[] = [];
    const App: FunctionComponent = () => {
      seen.push(useConnection(db));
      return null;
    };
    const view = await mount(h(App));
    expect(opened).toHaveLength(1);
    expect(seen.at(-1)).toBe(opened[0]);
    expect(opened[0]?.isClosed).toBe(false);
    await view.unmount();
    expect(opened[0]?.isClosed).toBe(true);
  });

  it('under StrictMode keeps exactly one open connection and closes it on unmount', async () => {
    const { db } = makeDb();
    const opened = trackOpens(db);
    const seen: (Connection | undefined)[] = [];
    const App: FunctionComponent = () => {
      seen.push(useConnection(db));
      return null;
    };
    const view = await mount(h(StrictMode, null, h(App)));
    const open = opened.filter((c) => !c.isClosed);
    expect(open).toHaveLength(1);
    expect(seen.at(-1)).toBe(open[0]);
    await view.unmount();
    expect(opened.every((c) => c.isClosed)).toBe(true);
  });

  it('applies the autoSync option to the connection it opens', async () => {
    const { db } = makeDb();
    let conn: Connection | undefined;
    const App: FunctionComponent = () => {
      conn = useConnection(db, { autoSync: false });
      return null;
    };
    await mount(h(App));
    expect(conn?.autoSync).toBe(false);
  });

  it('sends DatabaseClosedError to the error boundary when the database is closed', async () => {
    const { db } = makeDb();
    await db.close();
    const App: FunctionComponent = () => {
      useConnection(db);
      return 'open';
    };
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const view = await mount(h(Boundary, null, h(App)));
    errors.mockRestore();
    expect(view.text()).toBe(`caught ${new DatabaseClosedError('').name}`);
  });
});

describe('useRoot and useObject', () => {
  /** Shows root.title and the todo's title, counting renders. */
  function app(db: Database, renders: { count: number }): FunctionComponent {
    const Todo: FunctionComponent<{ conn: Connection; item: Todo }> = ({ conn, item }) => {
      const t = useObject(conn, item);
      return t === undefined ? 'loading todo' : t.title;
    };
    return () => {
      renders.count++;
      const conn = useConnection(db);
      const root = useRoot(conn);
      if (conn === undefined || root === undefined) return 'loading';
      return h(
        'p',
        null,
        `${String(root.get('title'))} / `,
        h(Todo, { conn, item: root.get('todo') as Todo }),
      );
    };
  }

  it('render the root and an object, and re-render when another connection commits them', async () => {
    const { db, writer, root } = await seeded();
    const view = await mount(h(app(db, { count: 0 })));
    await settle(() => view.text() === 'first / write tests', 'the first render');
    root.set('title', 'second');
    await writer.commit();
    await settle(() => view.text() === 'second / write tests', 'the new title');
    (root.get('todo') as Todo).title = 'ship it';
    await writer.commit();
    await settle(() => view.text() === 'second / ship it', "the todo's new title");
  });

  it('re-render under StrictMode too, with one connection and no listener left after unmount', async () => {
    const { db, writer, root } = await seeded();
    const opened = trackOpens(db);
    const view = await mount(h(StrictMode, null, h(app(db, { count: 0 }))));
    await settle(() => view.text() === 'first / write tests', 'the first render');
    (root.get('todo') as Todo).title = 'strict';
    await writer.commit();
    await settle(() => view.text() === 'first / strict', "the todo's new title");
    expect(opened.filter((c) => !c.isClosed)).toHaveLength(1);
    await view.unmount();
    expect(opened.every((c) => c.isClosed)).toBe(true);
  });

  it('does not re-render the component for a commit of objects it does not show', async () => {
    const { db, writer, root } = await seeded();
    const other = todo('elsewhere');
    root.set('other', other);
    await writer.commit();
    const opened = trackOpens(db);
    const renders = { count: 0 };
    const view = await mount(h(app(db, renders)));
    await settle(() => view.text() === 'first / write tests', 'the first render');
    const before = renders.count;
    other.title = 'changed elsewhere';
    const tid = await writer.commit();
    await settle(() => opened[0]?.snapshotTid === tid, "the component's connection at the commit");
    await act(async () => turn());
    expect(renders.count).toBe(before);
  });

  it('remove their change and commit listeners when the component unmounts', async () => {
    const { db, root } = await seeded();
    const conn = db.open();
    const listeners = countChangeListeners(conn);
    const item = (await conn.root()).get('todo') as Todo;
    const Show: FunctionComponent = () => {
      const r = useRoot(conn);
      const t = useObject(conn, item);
      return `${String(r?.get('title'))} ${t?.title ?? ''}`;
    };
    const view = await mount(h(Show));
    await settle(() => view.text() === 'first write tests', 'the first render');
    expect(listeners()).toBe('2 2');
    await view.unmount();
    expect(listeners()).toBe('0 0');
    expect(root.get('title')).toBe('first');
  });

  it('load a ghost reference before returning it', async () => {
    const { db } = await seeded();
    const conn = db.open();
    const item = (await conn.root()).get('todo') as Todo;
    expect(item._p_status).toBe('ghost');
    const Show: FunctionComponent = () => useObject(conn, item)?.title ?? 'loading';
    const view = await mount(h(Show));
    expect(['loading', 'write tests']).toContain(view.text());
    await settle(() => view.text() === 'write tests', 'the loaded todo');
  });

  it('never hand a ghost to a render between another commit and the reload', async () => {
    const { db, writer, root } = await seeded();
    const conn = db.open();
    const item = (await conn.root()).get('todo') as Todo;
    const view = await mountTitle(conn, item);
    await settle(() => view.text() === '1: write tests', 'the first render');
    const loads = holdLoads(db); // the reload stays in flight
    (root.get('todo') as Todo).title = 'new';
    const tid = await writer.commit();
    await settle(() => conn.snapshotTid === tid && item._p_status === 'ghost', 'the ghost');
    await view.renderAgain(2); // would throw GhostError reading a ghost's title
    expect(view.text()).toBe('2: loading');
    loads.passThrough();
    await settle(() => view.text() === '2: new', 'the reloaded todo');
  });

  it('re-render every component showing an object committed through their own connection', async () => {
    const { db } = await seeded();
    const opened = trackOpens(db);
    const view = await mount(h(app(db, { count: 0 })));
    await settle(() => view.text() === 'first / write tests', 'the first render');
    const conn = opened[0] as Connection; // the app's one connection: it writes through it too
    const root = await conn.root();
    root.set('title', 'own');
    (root.get('todo') as Todo).title = 'mine';
    await conn.commit();
    await settle(() => view.text() === 'own / mine', 'the values committed by the same connection');
  });

  it('show an object committed through the own connection for the first time', async () => {
    const { db } = await seeded();
    const conn = db.open();
    const root = await conn.root();
    const fresh = todo('draft');
    const Show: FunctionComponent = () => useObject(conn, fresh)?.title ?? 'loading';
    const view = await mount(h(Show));
    expect(view.text()).toBe('draft');
    root.set('fresh', fresh);
    await conn.commit();
    fresh.title = 'stored';
    await conn.commit();
    await settle(() => view.text() === 'stored', 'the second commit of the new object');
  });

  it('keep showing the newest value of an object the cache would have evicted', async () => {
    // The writer shares the tiny cache: it writes in transact, which loads what it evicted.
    const { db, writer, root } = await seeded([], 2, { cacheSize: 1 });
    const other = todo('other');
    const shown = await writer.transact(() => {
      root.set('other', other);
      return root.get('todo') as Todo;
    });
    const conn = db.open();
    const item = (await conn.get(shown._p_oid as number)) as Todo;
    const Show: FunctionComponent = () => useObject(conn, item)?.title ?? 'loading';
    const view = await mount(h(Show));
    expect(view.text()).toBe('write tests');
    // The page reads something else, then reaches a boundary, which shrinks the cache to 1 object.
    const read = (await conn.get(other._p_oid as number)) as Todo;
    expect(read.title).toBe('other');
    await conn.sync();
    await writer.transact(() => {
      shown.title = 'changed in another tab';
    });
    const tid = writer.snapshotTid;
    await settle(() => conn.snapshotTid === tid, "the component's connection at the commit");
    await settle(() => view.text() === 'changed in another tab', 'the new value on screen');
    expect(conn.cacheInfo().held).toBe(1);
    await view.unmount();
    expect(conn.cacheInfo().held).toBe(0);
  });

  it('show what landed after abort() dropped a commit whose fate was not known', async () => {
    const flaky = flakyStorage();
    const db = new Database(flaky.storage, { classes: CLASSES });
    const conn = db.open();
    const root = await conn.root();
    const item = todo('before');
    root.set('todo', item);
    await conn.commit();
    const Show: FunctionComponent = () => useObject(conn, item)?.title ?? 'loading';
    const view = await mount(h(Show));
    expect(view.text()).toBe('before');
    item.title = 'landed';
    flaky.faults.push('answer-and-broadcast'); // it lands; neither its answer nor broadcast comes
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    await conn.abort(); // the connection stops waiting: what loads now shows whether it landed
    await settle(() => view.text() === 'landed', 'the value the dropped commit stored');
  });

  it('show the committed value again after abort() dropped a change the component rendered', async () => {
    const { db } = await seeded();
    const conn = db.open();
    const item = (await conn.root()).get('todo') as Todo;
    const view = await mountTitle(conn, item);
    await settle(() => view.text() === '1: write tests', 'the first render');
    item.title = 'draft';
    await view.renderAgain(2); // the app re-renders for its own reasons
    expect(view.text()).toBe('2: draft');
    await conn.abort();
    await settle(() => view.text() === '2: write tests', 'the committed title again');
  });

  it('show the stored value again after abort() dropped a commit that failed with StorageBusyError and did not land', async () => {
    const flaky = flakyStorage();
    const db = new Database(flaky.storage, { classes: CLASSES });
    const conn = db.open();
    const root = await conn.root();
    const item = todo('stored');
    root.set('todo', item);
    await conn.commit();
    const view = await mountTitle(conn, item);
    expect(view.text()).toBe('1: stored');
    item.title = 'draft';
    await view.renderAgain(2); // the app re-renders for its own reasons
    expect(view.text()).toBe('2: draft');
    flaky.faults.push('request'); // lost on the way: nothing lands
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    await conn.abort();
    await settle(() => view.text() === '2: stored', 'the stored title again');
  });

  it('show the committed value again after a transact function that changed it threw', async () => {
    const { db } = await seeded();
    const conn = db.open();
    const item = (await conn.root()).get('todo') as Todo;
    const view = await mountTitle(conn, item);
    await settle(() => view.text() === '1: write tests', 'the first render');
    let shown = '';
    const failing = conn.transact(async () => {
      item.title = 'draft';
      await view.renderAgain(2); // the app re-renders while fn awaits
      shown = view.text();
      throw new Error('the app gave up');
    });
    await expect(failing).rejects.toThrow('the app gave up');
    expect(shown).toBe('2: draft');
    await settle(() => view.text() === '2: write tests', 'the committed title again');
  });

  it('send a failed load to the error boundary', async () => {
    const { db } = await seeded();
    const conn = db.open();
    const item = (await conn.root()).get('todo') as Todo;
    conn.close();
    const Show: FunctionComponent = () => useObject(conn, item)?.title ?? 'loading';
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const view = await mount(h(Boundary, null, h(Show)));
    await settle(() => view.text().startsWith('caught'), 'the error boundary');
    errors.mockRestore();
    expect(view.text()).toBe('caught DatabaseClosedError');
  });
});

describe('useRange', () => {
  /** Shows the entries as "k=v" joined by spaces, recording every render's entries. */
  function rangeView(
    conn: Connection,
    seen: string[],
  ): FunctionComponent<{ range: BTreeRange<number>; limit?: number }> {
    return ({ range, limit }) => {
      const root = useRoot(conn);
      const tree = root?.get('tree') as BTree<number, unknown> | undefined;
      const { entries, loading, error } = useRange(tree, range, { limit });
      if (error !== undefined) return `error ${String(error)}`;
      const text = entries.map(([k, v]) => `${k}=${show(v)}`).join(' ');
      if (!loading || text !== '') seen.push(text);
      return loading && text === '' ? 'loading' : text;
    };
  }

  const show = (v: unknown): string =>
    typeof v === 'object' && v !== null && 'title' in v ? String(v.title) : String(v);

  it('shows the range and follows inserts, deletes and value changes committed elsewhere', async () => {
    const { db, writer, tree } = await seeded([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [9, 'z'],
    ]);
    const conn = db.open();
    const View = rangeView(conn, []);
    const view = await mount(h(View, { range: { min: 2, max: 8 } }));
    await settle(() => view.text() === '2=b 3=c', 'the first entries');
    await tree.set(4, 'd');
    await writer.commit();
    await settle(() => view.text() === '2=b 3=c 4=d', 'the inserted entry');
    await tree.delete(2);
    await writer.commit();
    await settle(() => view.text() === '3=c 4=d', 'the deleted entry gone');
    await tree.set(3, 'C');
    await writer.commit();
    await settle(() => view.text() === '3=C 4=d', 'the new value');
  });

  it('follows inserts and deletes committed through its own connection', async () => {
    const { db } = await seeded([
      [1, 'a'],
      [2, 'b'],
    ]);
    const conn = db.open();
    const view = await mount(h(rangeView(conn, []), { range: {} }));
    await settle(() => view.text() === '1=a 2=b', 'the first entries');
    const tree = (await conn.root()).get('tree') as BTree<number, unknown>;
    await tree.set(3, 'c');
    await conn.commit();
    await settle(() => view.text() === '1=a 2=b 3=c', 'the entry inserted by the same connection');
    await tree.delete(1);
    await conn.commit();
    await settle(() => view.text() === '2=b 3=c', 'the entry deleted by the same connection');
  });

  it('follows a value the cache would have evicted, changed in place elsewhere', async () => {
    const item = todo('one');
    const other = todo('other');
    const { db, writer, root } = await seeded([[1, item]], 2, { cacheSize: 1 });
    await writer.transact(() => root.set('other', other));
    const conn = db.open();
    const view = await mount(h(rangeView(conn, []), { range: {} }));
    await settle(() => view.text() === '1=one', 'the first entries');
    const read = (await conn.get(other._p_oid as number)) as Todo;
    expect(read.title).toBe('other');
    await conn.sync(); // a boundary: the cache shrinks to 1 object
    await writer.transact(() => {
      item.title = 'uno';
    });
    await settle(() => view.text() === '1=uno', 'the value changed in place');
  });

  it('follows a persistent value changed in place elsewhere', async () => {
    const item = todo('one');
    const { db, writer } = await seeded([[1, item]]);
    const conn = db.open();
    const view = await mount(h(rangeView(conn, []), { range: {} }));
    await settle(() => view.text() === '1=one', 'the first entries');
    item.title = 'uno';
    await writer.commit();
    await settle(() => view.text() === '1=uno', 'the value changed in place');
  });

  it('never hands a ghost value to a render between another commit and the re-run', async () => {
    const item = todo('one');
    const { db, writer } = await seeded([[1, item]]);
    const conn = db.open();
    const View = rangeView(conn, []);
    const view = await mount(h(View, { range: {} }));
    await settle(() => view.text() === '1=one', 'the first entries');
    const loads = holdLoads(db);
    item.title = 'uno';
    const tid = await writer.commit();
    await settle(() => conn.snapshotTid === tid, 'the snapshot at the commit');
    await view.rerender(h(View, { range: {} })); // same range: reading a ghost would throw
    expect(view.text()).toBe('loading');
    loads.passThrough();
    await settle(() => view.text() === '1=uno', 'the value changed in place');
  });

  it('keeps to its limit, from the end with reverse', async () => {
    const { db, writer, tree } = await seeded(Array.from({ length: 20 }, (_, i) => [i, i]));
    const conn = db.open();
    const view = await mount(h(rangeView(conn, []), { range: { reverse: true }, limit: 3 }));
    await settle(() => view.text() === '19=19 18=18 17=17', 'the last three');
    await tree.set(25, 25);
    await writer.commit();
    await settle(() => view.text() === '25=25 19=19 18=18', 'the new last three');
  });

  it('stops the running scan when the range changes, and shows only the new range', async () => {
    const { db } = await seeded(Array.from({ length: 40 }, (_, i) => [i, i]));
    const conn = db.open();
    await conn.load((await conn.root()).get('tree') as BTree<number, unknown>);
    const loads = holdLoads(db); // the first scan stays in flight
    const scans = countScans();
    const seen: string[] = [];
    const View = rangeView(conn, seen);
    const view = await mount(h(View, { range: { max: 9 } }));
    await settle(() => loads.held() > 0, 'the first scan to wait for a load');
    await view.rerender(h(View, { range: { min: 30 } }));
    loads.passThrough();
    const wanted = Array.from({ length: 10 }, (_, i) => `${30 + i}=${30 + i}`).join(' ');
    await settle(() => view.text() === wanted, 'the second range');
    expect(seen.filter((text) => text !== '' && text !== wanted)).toEqual([]);
    // The first scan stopped at its first entry instead of reading all ten.
    expect(scans[0]).toBeLessThanOrEqual(1);
  });

  it('does not scan again for a new range object with the same values', async () => {
    const { db } = await seeded([[1, 'a']]);
    const conn = db.open();
    const View = rangeView(conn, []);
    const view = await mount(h(View, { range: { min: 0 } }));
    await settle(() => view.text() === '1=a', 'the first entries');
    const entries = vi.spyOn(BTree.prototype, 'entries');
    await view.rerender(h(View, { range: { min: 0 } }));
    await act(async () => turn());
    expect(entries).not.toHaveBeenCalled();
    entries.mockRestore();
  });

  it('removes its change and commit listeners when the component unmounts, also under StrictMode', async () => {
    const { db } = await seeded([[1, 'a']]);
    for (const strict of [false, true]) {
      const conn = db.open();
      const listeners = countChangeListeners(conn);
      const View = rangeView(conn, []);
      const element = h(View, { range: {} });
      const view = await mount(strict ? h(StrictMode, null, element) : element);
      await settle(() => view.text() === '1=a', 'the entries');
      expect(listeners()).toBe('2 2'); // useRoot's and useRange's
      await view.unmount();
      expect(listeners()).toBe('0 0');
    }
  });

  it('reports a tree that was never stored to the error boundary', async () => {
    const { db } = makeDb();
    const conn = db.open();
    await conn.root();
    const tree = new BTree<number, string>();
    const Show: FunctionComponent = () => String(useRange(tree).entries.length);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const view = await mount(h(Boundary, null, h(Show)));
    errors.mockRestore();
    expect(view.text()).toBe('caught ShelfError');
  });

  it('never shows entries of two snapshots mixed while commits land during its scans', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 40 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
        async (size, steps) => {
          // Every commit sets every value to the same generation: one snapshot shows one number.
          const { db, writer, tree } = await seeded(Array.from({ length: size }, (_, i) => [i, 0]));
          const conn = db.open();
          const loads = holdLoads(db); // the page's loads land between the writer's commits
          const seen: string[] = [];
          const view = await mount(h(rangeView(conn, seen), { range: {} }));
          let generation = 0;
          for (const releaseFirst of steps) {
            if (releaseFirst) loads.release();
            generation++;
            for (let i = 0; i < size; i++) await tree.set(i, generation);
            await writer.commit();
            if (!releaseFirst) loads.release();
            await act(async () => turn());
          }
          loads.passThrough();
          const last = Array.from({ length: size }, (_, i) => `${i}=${generation}`).join(' ');
          await settle(() => view.text() === last, 'the last generation');
          for (const text of seen.filter((t) => t !== '')) {
            const values = new Set(text.split(' ').map((pair) => pair.split('=')[1]));
            expect(values.size).toBe(1);
            expect(text.split(' ')).toHaveLength(size);
          }
          await view.unmount();
          vi.restoreAllMocks();
          await db.close();
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe('rangeKey', () => {
  const scalar = fc.oneof(fc.integer(), fc.string(), fc.bigInt(), fc.date({ noInvalidDate: true }));
  const key = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }));
  const range = fc.record(
    {
      min: key,
      max: key,
      excludeMin: fc.boolean(),
      excludeMax: fc.boolean(),
      reverse: fc.boolean(),
    },
    { requiredKeys: [] },
  );

  it('is equal for equal ranges and differs for different ones', () => {
    fc.assert(
      fc.property(range, range, fc.integer({ min: 1, max: 5 }), (a, b, limit) => {
        const same = JSON.stringify(normal(a)) === JSON.stringify(normal(b));
        expect(rangeKey(a, limit) === rangeKey(b, limit)).toBe(same);
        expect(rangeKey(structuredClone(a), limit)).toBe(rangeKey(a, limit));
      }),
    );
  });

  /** The range with defaults filled and keys tagged by kind, for comparison. */
  function normal(r: BTreeRange<BTreeKey>): unknown[] {
    const tag = (k: unknown): unknown =>
      k === undefined
        ? 'u'
        : Array.isArray(k)
          ? k.map(tag)
          : k instanceof Date
            ? ['d', k.getTime()]
            : [typeof k, String(k)];
    return [
      tag(r.min),
      tag(r.max),
      r.excludeMin ?? false,
      r.excludeMax ?? false,
      r.reverse ?? false,
    ];
  }
});

import { describe, expect, it } from 'vitest';
import { diffStates, sameValue, type DiffRow } from '../src/explorer/revision-diff.js';
import { describeValue, valueText as nodeText } from '../src/explorer/value-model.js';

const valueText = (value: unknown): string => nodeText(describeValue(value));
import { makeDb, todo, type Todo } from './fixtures.js';

/** The rows that are not unchanged, as [path, change]. */
function changes(rows: DiffRow[]): [string, string][] {
  return rows.filter((r) => r.change !== 'unchanged').map((r) => [r.path, r.change]);
}

describe('diffStates', () => {
  it('lists added, removed, changed and unchanged fields with their old and new values', () => {
    const rows = diffStates(
      { title: 'a', done: false, gone: 1 },
      { title: 'b', done: false, tag: 'x' },
    );
    expect(rows).toEqual([
      { path: 'title', change: 'changed', before: 'a', after: 'b' },
      { path: 'done', change: 'unchanged', before: false, after: false },
      { path: 'gone', change: 'removed', before: 1 },
      { path: 'tag', change: 'added', after: 'x' },
    ]);
  });

  it('descends into nested plain data and names the path of the change', () => {
    const before = {
      address: { city: 'Oslo', zip: '0150' },
      tags: ['a', 'b'],
      deep: { x: [{ y: 1 }] },
    };
    const after = {
      address: { city: 'Bergen', zip: '0150' },
      tags: ['a', 'c', 'd'],
      deep: { x: [{ y: 1 }] },
    };
    const rows = diffStates(before, after);
    expect(changes(rows)).toEqual([
      ['address.city', 'changed'],
      ['tags[1]', 'changed'],
      ['tags[2]', 'added'],
    ]);
    expect(rows.find((r) => r.path === 'deep')?.change).toBe('unchanged');
  });

  it('names a key that is not an identifier with brackets', () => {
    expect(changes(diffStates({ m: { 'a b': 1 } }, { m: { 'a b': 2 } }))).toEqual([
      ['m["a b"]', 'changed'],
    ]);
  });

  it('compares Dates by time, NaN equal to NaN, and tells 0 from -0 and a number from a bigint', () => {
    expect(sameValue(new Date(5), new Date(5))).toBe(true);
    expect(sameValue(new Date(5), new Date(6))).toBe(false);
    expect(sameValue(new Date(Number.NaN), new Date(Number.NaN))).toBe(true);
    expect(sameValue(Number.NaN, Number.NaN)).toBe(true);
    expect(sameValue(0, -0)).toBe(false);
    expect(sameValue(1, 1n)).toBe(false);
    expect(sameValue(10n, 10n)).toBe(true);
    expect(
      changes(diffStates({ at: new Date(1), n: Number.NaN }, { at: new Date(1), n: Number.NaN })),
    ).toEqual([]);
    expect(changes(diffStates({ at: new Date(1) }, { at: new Date(2) }))).toEqual([
      ['at', 'changed'],
    ]);
  });

  it('compares Maps, Sets and binary data by content', () => {
    expect(sameValue(new Map([['a', { x: 1 }]]), new Map([['a', { x: 1 }]]))).toBe(true);
    expect(sameValue(new Map([['a', 1]]), new Map([['a', 2]]))).toBe(false);
    expect(sameValue(new Map([[{ k: 1 }, 1]]), new Map([[{ k: 1 }, 1]]))).toBe(true);
    expect(sameValue(new Set([{ a: 1 }, 2]), new Set([2, { a: 1 }]))).toBe(true);
    expect(sameValue(new Set([1]), new Set([2]))).toBe(false);
    expect(sameValue(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(sameValue(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(sameValue(new Uint8Array([1]), new Int8Array([1]))).toBe(false);
    expect(sameValue(new Uint8Array([1, 2]).buffer, new Uint8Array([1, 2]).buffer)).toBe(true);
    expect(sameValue({ a: 1 }, [1])).toBe(false);
  });

  it('terminates on cyclic plain data and still finds a difference inside a cycle', () => {
    const a: Record<string, unknown> = { n: 1 };
    a['self'] = a;
    const b: Record<string, unknown> = { n: 1 };
    b['self'] = b;
    expect(sameValue(a, b)).toBe(true);
    expect(changes(diffStates({ node: a }, { node: b }))).toEqual([]);
    const c: Record<string, unknown> = { n: 2 };
    c['self'] = c;
    expect(sameValue(a, c)).toBe(false);
    // The cycle is not followed again: its back reference is reported as changed, since what it
    // points to differs.
    expect(changes(diffStates({ node: a }, { node: c }))).toEqual([
      ['node.n', 'changed'],
      ['node.self', 'changed'],
    ]);
    const list: unknown[] = [1];
    list.push(list);
    const other: unknown[] = [1];
    other.push(other);
    expect(sameValue(list, other)).toBe(true);
    expect(valueText({ node: a })).toContain('cycle');
  });

  it('compares references by oid: two revisions decode two ghosts of one object as unchanged', async () => {
    const { db } = makeDb();
    const conn = db.open();
    const root = await conn.root();
    const project = todo('p');
    const other = todo('o');
    const t = todo('t', { project: null });
    root.set('t', t);
    root.set('o', other);
    (t as unknown as { ref: Todo }).ref = project;
    await conn.commit({ note: 'first' });
    t.title = 'renamed';
    await conn.commit({ note: 'second' });
    (t as unknown as { ref: Todo }).ref = other;
    await conn.commit({ note: 'third' });
    const [third, second, first] = await conn.history(t);
    const firstState = first?.state ?? {};
    const secondState = second?.state ?? {};
    expect(firstState['ref']).not.toBe(undefined);
    expect(changes(diffStates(firstState, secondState))).toEqual([['title', 'changed']]);
    const rows = diffStates(secondState, third?.state ?? {});
    expect(changes(rows)).toEqual([['ref', 'changed']]);
    expect(valueText(rows.find((r) => r.path === 'ref')?.after)).toBe(`Todo #${other._p_oid}`);
    await db.close();
  });
});

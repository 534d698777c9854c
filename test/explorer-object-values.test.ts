/** The explorer's generic value formatting (value-model.ts) and its BTree key input (key-input.ts). */
import { describe, expect, it } from 'vitest';
import { BTree, Database, MemoryStorage, Persistent } from '../src/index.js';
import {
  describeValue,
  ITEM_LIMIT,
  STRING_LIMIT,
  valueText,
  type ValueNode,
} from '../src/explorer/value-model.js';
import { parseKey, parseOid, treeKeyKind } from '../src/explorer/key-input.js';

class Note extends Persistent {
  static _p_name = 'test.Note';
  title = '';
  next: Note | null = null;
}

const text = (value: unknown): string => valueText(describeValue(value));

describe('describing values for the explorer', () => {
  it('shows scalars as a developer reads them: quoted strings, NaN, ±Infinity, -0, bigint, null, undefined', () => {
    expect(text('hi "there"')).toBe('"hi \\"there\\""');
    expect(text(42.5)).toBe('42.5');
    expect(text(NaN)).toBe('NaN');
    expect(text(Infinity)).toBe('Infinity');
    expect(text(-Infinity)).toBe('-Infinity');
    expect(text(-0)).toBe('-0');
    expect(text(true)).toBe('true');
    expect(text(null)).toBe('null');
    expect(text(undefined)).toBe('undefined');
    expect(text(12345678901234567890n)).toBe('12345678901234567890n');
  });

  it('shows a Date as ISO, and an invalid one as such', () => {
    expect(text(new Date(Date.UTC(2026, 10, 30, 12)))).toBe('2026-11-30T12:00:00.000Z');
    expect(text(new Date(NaN))).toBe('Invalid Date');
  });

  it('cuts a long string and keeps the whole of it to show on demand', () => {
    const long = 'x'.repeat(STRING_LIMIT * 3);
    const node = describeValue(long) as Extract<ValueNode, { kind: 'string' }>;
    expect(node.kind).toBe('string');
    expect(node.text.length).toBeLessThan(STRING_LIMIT + 4);
    expect(node.text.endsWith('…')).toBe(true);
    expect(node.full).toBe(long);
    expect(node.length).toBe(long.length);
    expect((describeValue('short') as { full?: string }).full).toBeUndefined();
  });

  it('nests arrays, plain objects, Maps and Sets, and counts what a large one does not show', () => {
    expect(text([1, 'a', [true]])).toBe('[1, "a", [true]]');
    expect(text({ a: 1, b: { c: null } })).toBe('{a: 1, b: {c: null}}');
    expect(text(new Map([['k', 1]]))).toBe('Map(1) {"k" => 1}');
    expect(text(new Set([1, 2]))).toBe('Set(2) {1, 2}');
    const big = Array.from({ length: 1000 }, (_, i) => i);
    const node = describeValue(big) as Extract<ValueNode, { kind: 'list' }>;
    expect(node.count).toBe(1000);
    expect(node.items).toHaveLength(ITEM_LIMIT);
    expect(valueText(node)).toContain(`… ${1000 - ITEM_LIMIT} more`);
  });

  it('collapses collections that are large or deep, and opens small shallow ones', () => {
    const small = describeValue([1, 2]) as Extract<ValueNode, { kind: 'list' }>;
    expect(small.open).toBe(true);
    const large = describeValue(Array.from({ length: 50 }, () => 0)) as { open: boolean };
    expect(large.open).toBe(false);
    const deep = describeValue([[[[1]]]]) as Extract<ValueNode, { kind: 'list' }>;
    const third = (deep.items[0] as Extract<ValueNode, { kind: 'list' }>).items[0] as {
      open: boolean;
    };
    expect(third.open).toBe(false);
  });

  it('describes a cycle inside plain data without hanging', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    const list: unknown[] = [1];
    list.push(list);
    expect(text(a)).toBe('{name: "a", self: (cycle: the enclosing Object)}');
    expect(text(list)).toBe('[1, (cycle: the enclosing Array)]');
  });

  it('stays bounded on huge nested data', () => {
    const wide = Array.from({ length: 40 }, () =>
      Array.from({ length: 40 }, () => Array.from({ length: 40 }, (_, i) => i)),
    );
    const started = describeValue(wide);
    let nodes = 0;
    const count = (n: ValueNode): void => {
      nodes++;
      if (n.kind === 'list') n.items.forEach(count);
      if (n.kind === 'entries') n.entries.forEach(([k, v]) => (count(k), count(v)));
    };
    count(started);
    expect(nodes).toBeLessThan(1000);
  });

  it('shows binary data as its type, length and the hex of its first bytes', () => {
    expect(text(new Uint8Array([0, 1, 255]))).toBe('Uint8Array(3) 00 01 ff');
    const long = describeValue(new Uint8Array(100).fill(0xab));
    expect(valueText(long)).toMatch(/^Uint8Array\(100\) (ab ){15}ab …$/);
    expect(text(new Uint8Array([7, 8]).buffer)).toBe('ArrayBuffer(2) 07 08');
    expect(text(new Float64Array(3))).toMatch(/^Float64Array\(3\) (00 ){15}00 …$/);
  });

  it('shows a persistent reference by class and oid without loading it', async () => {
    const db = new Database(new MemoryStorage(), { classes: [Note] });
    const writer = db.open();
    const root = await writer.root();
    const note = new Note();
    note.next = new Note();
    root.set('note', note);
    await writer.commit();
    const reader = db.open();
    const loaded = (await reader.get(note._p_oid as number)) as Note;
    const ref = loaded.next as Note;
    expect(ref._p_status).toBe('ghost');
    expect(describeValue(ref)).toEqual({
      kind: 'ref',
      oid: ref._p_oid,
      className: 'test.Note',
      text: `test.Note #${ref._p_oid}`,
    });
    expect(ref._p_status).toBe('ghost');
    expect(text(new Note())).toBe('new test.Note (not committed)');
    await db.close();
  });
});

describe('reading typed BTree keys', () => {
  it('reads a number for a numeric tree and says when the text is not one', () => {
    expect(parseKey(' 42 ', 'number')).toEqual({ ok: true, key: 42 });
    expect(parseKey('-1.5e3', 'number')).toEqual({ ok: true, key: -1500 });
    const bad = parseKey('abc', 'number');
    expect(bad).toEqual({
      ok: false,
      error: '"abc" is not a number: this tree\'s keys are numbers.',
    });
    expect(parseKey('', 'number').ok).toBe(false);
  });

  it('reads strings as typed, bigints as 123n, Dates as ISO', () => {
    expect(parseKey(' a b', 'string')).toEqual({ ok: true, key: ' a b' });
    expect(parseKey('123n', 'bigint')).toEqual({ ok: true, key: 123n });
    expect(parseKey('-7', 'bigint')).toEqual({ ok: true, key: -7n });
    expect(parseKey('1.5', 'bigint').ok).toBe(false);
    const date = parseKey('2026-11-30T12:00:00Z', 'date');
    expect(date.ok && (date.key as Date).toISOString()).toBe('2026-11-30T12:00:00.000Z');
    expect(parseKey('2026-11-30', 'date').ok).toBe(true);
    const bad = parseKey('yesterday', 'date');
    expect(bad.ok === false && bad.error).toContain('is not an ISO date');
  });

  it('reads a JSON array for an array-keyed tree, position by position', () => {
    expect(parseKey('["a", 3]', ['string', 'number'])).toEqual({ ok: true, key: ['a', 3] });
    expect(parseKey('["a"]', ['string', 'number'])).toEqual({ ok: true, key: ['a'] });
    expect(parseKey('[3, "a"]', ['string', 'number']).ok).toBe(false);
    expect(parseKey('a', ['string', 'number']).ok).toBe(false);
  });

  it("takes the kind from the tree's first key", async () => {
    const db = new Database(new MemoryStorage());
    const conn = db.open();
    const tree = new BTree<number, string>();
    expect(treeKeyKind(tree)).toBeNull();
    (await conn.root()).set('t', tree);
    await tree.set(1, 'one');
    expect(treeKeyKind(tree)).toBe('number');
    await db.close();
  });

  it('reads a typed object id, and says what an oid is when the text is not one', () => {
    expect(parseOid(' 12 ')).toBe(12);
    expect(parseOid('0')).toBe(0);
    expect(parseOid('-1')).toContain('is not an object id');
    expect(parseOid('1.5')).toContain('is not an object id');
    expect(parseOid('x')).toContain('is not an object id');
  });
});

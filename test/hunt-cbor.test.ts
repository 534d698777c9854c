/**
 * Fresh-eye hunt (issue 11) for values shelfdb's own CBOR codec changes silently: each test stores
 * a value and reads it back (through the serializer, or a commit and a second connection) and
 * expects exactly what was stored, or a refusal at commit — never different data, never a record
 * that commits and then cannot be read.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Encoder } from 'cbor-x';
import { MAX_NESTING, Serializer } from '../src/serialize.js';
import {
  BrokenObject,
  CorruptStorageError,
  Database,
  MemoryStorage,
  Persistent,
  SerializationError,
} from '../src/index.js';

class Holder extends Persistent {
  static _p_name = 'hunt.Holder';
  value: unknown = null;
}

const noRefs = (): Persistent => {
  throw new Error('no references expected');
};

/** Through the serializer as a commit and a load use it. */
function roundTrip(state: Record<string, unknown>): Record<string, unknown> {
  const s = new Serializer();
  s.scan(state, 'Holder 1');
  return s.decode(s.encode(state), noRefs);
}

/** cbor-x with the options serialize.ts used before 0.2 (as test/cbor.test.ts sets it up). */
const cborX = new Encoder({
  structuredClone: true,
  useRecords: false,
  mapsAsObjects: true,
  tagUint8Array: false,
} as ConstructorParameters<typeof Encoder>[0]);
const readCborX = (state: Record<string, unknown>): Record<string, unknown> =>
  new Serializer().decode(new Uint8Array(cborX.encode(state)), noRefs);

const wellFormed = (s: string): string =>
  (s as unknown as { toWellFormed(): string }).toWellFormed();

describe('strings', () => {
  it('keeps a leading byte order mark (U+FEFF), short or long, as written and as cbor-x wrote it', () => {
    for (const s of ['\uFEFF', '\uFEFFx', '\uFEFF' + 'y'.repeat(100), '\uFEFF\uFEFFz']) {
      expect(roundTrip({ s }).s).toBe(s);
      expect(readCborX({ s }).s).toBe(s);
    }
  });

  it('reads back every string as written, lone surrogates as U+FFFD (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('', '\uFEFF', '\u0000', '\uFEFF\u0000'),
        fc.string({ unit: 'binary', maxLength: 80 }),
        (prefix, rest) => {
          const s = prefix + rest;
          expect(roundTrip({ s, nested: [s] })).toEqual({
            s: wellFormed(s),
            nested: [wellFormed(s)],
          });
        },
      ),
      { seed: 2026113001, numRuns: 500 },
    );
  });
});

describe('Dates', () => {
  /** Every millisecond a Date can hold, with the ends and the range past 2^52 ms weighted. */
  const milliseconds = fc.oneof(
    fc.integer({ min: -8.64e15, max: 8.64e15 }),
    fc.integer({ min: 2 ** 52, max: 8.64e15 }),
    fc.integer({ min: -8.64e15, max: -(2 ** 52) }),
  );

  it('reads a Date back to the millisecond anywhere in the Date range (property)', () => {
    fc.assert(
      fc.property(milliseconds, (ms) => {
        expect((roundTrip({ d: new Date(ms) }).d as Date).getTime()).toBe(ms);
      }),
      { seed: 2026113002, numRuns: 3000 },
    );
  });

  it('reads a Date cbor-x wrote to the millisecond, which cbor-x itself read 1 ms off', () => {
    // A Date of year −138,500: its seconds as a float64 times 1000 round to the next millisecond.
    const ms = -4433110368250726;
    expect((readCborX({ d: new Date(ms) }).d as Date).getTime()).toBe(ms);
    fc.assert(
      fc.property(milliseconds, (ms) => {
        expect((readCborX({ d: new Date(ms) }).d as Date).getTime()).toBe(ms);
      }),
      { seed: 2026113003, numRuns: 1000 },
    );
  });
});

describe('plain object keys', () => {
  it('keeps a nested key __proto__ as an own key with its value, beside a key __proto_', () => {
    const inner = JSON.parse('{"__proto__": 1, "__proto_": 2, "x": 3}') as Record<string, unknown>;
    const back = roundTrip({ inner }).inner as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', '__proto_', 'x']);
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe(1);
    expect(back.__proto_).toBe(2);
  });
});

/** A chain of `depth` containers of one kind, each also listed in `all` when `shared`. */
function chain(kind: string, depth: number, shared: boolean): Record<string, unknown> {
  const all: unknown[] = [];
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) {
    v =
      kind === 'array'
        ? [v]
        : kind === 'object'
          ? { next: v }
          : kind === 'Map'
            ? new Map([['next', v]])
            : new Set([v]);
    if (shared) all.push(v);
  }
  return { top: v, all };
}

function bottomOf(kind: string, top: unknown, depth: number): unknown {
  let v = top;
  for (let i = 0; i < depth; i++) {
    v =
      kind === 'array'
        ? (v as unknown[])[0]
        : kind === 'object'
          ? (v as { next: unknown }).next
          : kind === 'Map'
            ? (v as Map<string, unknown>).get('next')
            : [...(v as Set<unknown>)][0];
  }
  return v;
}

describe('deep nesting', () => {
  it('refuses at commit, storing nothing, a state nested too deeply to be read back; or reads it back', async () => {
    for (const kind of ['Map', 'Set', 'array', 'object']) {
      for (const shared of [true, false]) {
        for (const depth of [1500, 2500, 6000]) {
          const db = new Database(new MemoryStorage(), { classes: [Holder] });
          const conn = db.open();
          const holder = new Holder();
          holder.value = chain(kind, depth, shared);
          (await conn.root()).set('h', holder);
          let committed = true;
          try {
            await conn.commit();
          } catch (e) {
            committed = false;
            expect(e, `${kind} ×${depth}${shared ? ' shared' : ''}`).toBeInstanceOf(
              SerializationError,
            );
            expect(String(e)).toMatch(/nested/);
          }
          const other = db.open();
          const root = await other.root();
          if (!committed) {
            expect(root.get('h')).toBeUndefined();
          } else {
            let loaded: Holder;
            try {
              loaded = await other.load(root.get('h') as Holder);
            } catch (e) {
              expect.fail(
                `${kind} ×${depth}${shared ? ' shared' : ''} committed but cannot be read: ${String(e instanceof CorruptStorageError ? e.message.slice(0, 80) : e)}`,
              );
            }
            const top = (loaded.value as { top: unknown }).top;
            expect(bottomOf(kind, top, depth)).toBe('bottom');
          }
          await db.close();
        }
      }
    }
  });

  it('stores and reads back states nested MAX_NESTING levels deep, shared or not, and refuses one level more', async () => {
    const db = new Database(new MemoryStorage(), { classes: [Holder] });
    const conn = db.open();
    const root = await conn.root();
    const kinds = ['Map', 'Set', 'array', 'object'];
    for (const kind of kinds) {
      const holder = new Holder();
      // The holder's state is a level, and so is the { top, all } around the chain.
      holder.value = chain(kind, MAX_NESTING - 1, true);
      root.set(kind, holder);
    }
    await conn.commit();
    const other = db.open();
    const otherRoot = await other.root();
    for (const kind of kinds) {
      const loaded = await other.load(otherRoot.get(kind) as Holder);
      const value = loaded.value as { top: unknown; all: unknown[] };
      expect(bottomOf(kind, value.top, MAX_NESTING - 1)).toBe('bottom');
      expect(value.all[MAX_NESTING - 2]).toBe(value.top);
    }
    for (const kind of kinds) {
      const holder = new Holder();
      holder.value = chain(kind, MAX_NESTING, false);
      (await conn.root()).set('deeper', holder); // after an abort, the root is a ghost again
      const error = await conn.commit().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SerializationError);
      expect((error as SerializationError).path).toMatch(/^new hunt\.Holder → \.value\.top/);
      await conn.abort();
    }
    await db.close();
  });

  it('crawls a BrokenObject whose stored state is nested as deep as a commit allows', async () => {
    const storage = new MemoryStorage();
    const writer = new Database(storage, { classes: [Holder] });
    const conn = writer.open();
    const holder = new Holder();
    holder.value = chain('Map', MAX_NESTING - 1, false);
    (await conn.root()).set('h', holder);
    await conn.commit();
    // A page that does not know Holder: the record loads as a BrokenObject, whose fields sit one
    // level down, in its `state`. Crawling only gathers references of what is stored already.
    const reader = new Database(storage);
    const readerConn = reader.open();
    const found: unknown[] = [];
    for await (const obj of readerConn.crawl(await readerConn.root())) found.push(obj);
    expect(found).toHaveLength(2);
    expect(found[1]).toBeInstanceOf(BrokenObject);
    await writer.close(); // closes the storage both use
  });
});

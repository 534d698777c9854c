/**
 * ShelfStorage.transactions() lists a transaction from its record headers only (summarize). Before
 * that, decodeEntry refused a record whose field lengths do not add up to its length
 * (CorruptStorageError). A damaged record header (a flipped state length) must still be refused,
 * not listed with wrong bytes.
 */
import { expect, it } from 'vitest';
import { CorruptStorageError } from '../src/index.js';
import { MemoryBlockDirectory, type MemoryBlockFile } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { textRecord as rec } from './text-records.js';

/** The byte index of `text` in `bytes` (a string index of decoded binary is not a byte index). */
function indexOfBytes(bytes: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

it('transactions() refuses a record whose state length was flipped (its fields no longer add up) with a CorruptStorageError', async () => {
  const dir = new MemoryBlockDirectory();
  const s = await ShelfStorage.open(dir, {});
  const [x] = (await s.newOids(1)) as [number];
  const t1 = await s.commit({ baseTid: 0, records: [rec(0, 'root', [x]), rec(x, 'x0', [])] });
  await s.commit({ baseTid: t1, records: [rec(x, 'x-original-value', [], t1)] });
  const before = await s.transactions();
  expect(before[0]?.bytes).toBe(16);
  const file = dir.files.get('seg-000001.log') as MemoryBlockFile;
  const bytes = file.read(0, file.size());
  const stateAt = indexOfBytes(bytes, 'x-original-value');
  const recordAt = stateAt - 42 - 'test.Node'.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(view.getUint32(recordAt + 34, true)).toBe(16);
  view.setUint32(recordAt + 34, 16 + 1024, true); // one flipped bit
  file.write(0, bytes);
  await expect(s.transactions()).rejects.toThrow(CorruptStorageError);
  await s.close().catch(() => undefined);
});

/** A database of two transactions; returns the log's bytes and where the second entry starts. */
async function twoTransactions(): Promise<{
  dir: MemoryBlockDirectory;
  s: ShelfStorage;
  bytes: Uint8Array;
  view: DataView;
  entryAt: number;
}> {
  const dir = new MemoryBlockDirectory();
  const s = await ShelfStorage.open(dir, {});
  const [x, y] = (await s.newOids(2)) as [number, number];
  const t1 = await s.commit({
    baseTid: 0,
    records: [rec(0, 'root', [x, y]), rec(x, 'x0', []), rec(y, 'y0', [])],
  });
  await s.commit({
    baseTid: t1,
    records: [rec(x, 'x-second', [], t1), rec(y, 'y-second', [], t1)],
    note: 'second',
  });
  const file = dir.files.get('seg-000001.log') as MemoryBlockFile;
  const bytes = file.read(0, file.size());
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The second transaction's entry: the one whose tid (at +8) is t1 + 1, found from the end.
  let entryAt = file.size();
  do entryAt -= view.getUint32(entryAt - 4, true);
  while (bytes[entryAt + 4] !== 0x54 || view.getUint32(entryAt + 8, true) !== t1 + 1);
  return { dir, s, bytes, view, entryAt };
}

it('transactions() refuses an entry whose record count was flipped lower, not listing too few oids', async () => {
  const { dir, s, bytes, view, entryAt } = await twoTransactions();
  const listed = await s.transactions();
  expect(listed[0]?.oids).toHaveLength(2);
  expect(view.getUint32(entryAt + 24, true)).toBe(2);
  view.setUint32(entryAt + 24, 0, true); // a flipped bit: 2 → 0
  (dir.files.get('seg-000001.log') as MemoryBlockFile).write(0, bytes);
  await expect(s.transactions()).rejects.toThrow(CorruptStorageError);
  await s.close().catch(() => undefined);
});

it('transactions() refuses an entry whose metadata length was flipped with a CorruptStorageError (not a SyntaxError)', async () => {
  const { dir, s, bytes, view, entryAt } = await twoTransactions();
  const metaLength = view.getUint32(entryAt + 28, true);
  expect(metaLength).toBeGreaterThan(0);
  view.setUint32(entryAt + 28, metaLength + 2, true);
  (dir.files.get('seg-000001.log') as MemoryBlockFile).write(0, bytes);
  await expect(s.transactions()).rejects.toThrow(CorruptStorageError);
  await s.close().catch(() => undefined);
});

/**
 * Pack never launders damage (found by the issue 13 hunt): copying a damaged entry under a new
 * checksum made it read as sound — verify clean, the flipped byte served by `load`. Pack now stops
 * at it with a CorruptStorageError, and `recover: true` reads the whole log (also what the index
 * checkpoint covers), so the damaged transaction can be dropped and the database packed again.
 */
import { describe, expect, it } from 'vitest';
import { CorruptStorageError } from '../src/index.js';
import { MemoryBlockDirectory, type MemoryBlockFile } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { textRecord } from './text-records.js';

const dec = new TextDecoder();
const rec = textRecord;

/**
 * A database whose first segment (covered by the index checkpoint) has one byte flipped, in the
 * transaction that changed x a second time.
 */
async function damagedDatabase(): Promise<{ dir: MemoryBlockDirectory; x: number; y: number }> {
  const dir = new MemoryBlockDirectory();
  const s = await ShelfStorage.open(dir, {});
  const [x, y] = (await s.newOids(2)) as [number, number];
  const t1 = await s.commit({
    baseTid: 0,
    records: [rec(0, 'root', [x, y]), rec(x, 'x0', []), rec(y, 'y0', [])],
  });
  await s.commit({ baseTid: t1, records: [rec(x, 'x-original-value', [], t1)] });
  await s.commit({ baseTid: t1, records: [rec(y, 'y1', [], t1)] });
  await s.close(); // writes the index checkpoint over all of it
  const file = dir.files.get('seg-000001.log') as MemoryBlockFile;
  const bytes = file.read(0, file.size());
  bytes[dec.decode(bytes).indexOf('x-original-value')] = 'X'.charCodeAt(0);
  file.write(0, bytes);
  return { dir, x, y };
}

describe('pack over a damaged log', () => {
  it('stops at the damaged entry with a CorruptStorageError, and verify still reports the damage', async () => {
    const { dir } = await damagedDatabase();
    const s = await ShelfStorage.open(dir, {});
    expect((await s.verify()).ok).toBe(false);
    await expect(s.pack()).rejects.toThrow(CorruptStorageError);
    await expect(s.pack()).rejects.toThrow(
      /seg-000001\.log byte \d+: the entry is damaged.*recover/,
    );
    expect((await s.verify()).ok).toBe(false);
    await s.close();
  });

  it('packs again once recover: true dropped the damaged transaction, though the checkpoint covered it', async () => {
    const { dir, x, y } = await damagedDatabase();
    const s = await ShelfStorage.open(dir, { recover: true });
    expect(s.recovery.dropped).toHaveLength(1);
    await s.pack();
    // x as before the dropped transaction; y as committed after it.
    expect((await s.load([x, y])).map((r) => dec.decode(r.state))).toEqual(['x0', 'y1']);
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
    const again = await ShelfStorage.open(dir, {});
    expect((await again.load([x, y])).map((r) => dec.decode(r.state))).toEqual(['x0', 'y1']);
    expect((await again.verify()).problems).toEqual([]);
    await again.close();
  });
});

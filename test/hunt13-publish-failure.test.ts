/**
 * Hunt 13: a failure in pack's publish step AFTER the manifest naming the new segment and index
 * checkpoint is written must not remove those files: the manifest in use names them.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBlockDirectory, type BlockFile } from '../worker/block-file.js';
import { ShelfStorage } from '../worker/shelf-storage.js';
import { StorageError, type Tid } from '../src/index.js';
import { textRecord } from './text-records.js';

const dec = new TextDecoder();
const rec = textRecord;

/** A directory whose next first read of a new index checkpoint fails once, while `armed`. */
class ReadFaultDirectory extends MemoryBlockDirectory {
  armed = false;
  failed = 0;
  override async open(name: string): Promise<BlockFile> {
    const file = await super.open(name);
    if (!this.armed || !name.startsWith('index-')) return file;
    const read = file.read.bind(file);
    file.read = (offset: number, length: number): Uint8Array => {
      if (this.armed) {
        this.armed = false;
        this.failed++;
        throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      }
      return read(offset, length);
    };
    return file;
  }
}

describe('hunt 13: a failure after pack published', () => {
  it('a read failure right after a compaction step published its manifest loses no acknowledged commit', async () => {
    const dir = new ReadFaultDirectory();
    const s = await ShelfStorage.open(dir, { packSliceMs: 0 });
    const [a, b] = (await s.newOids(2)) as [number, number];
    let tid: Tid = await s.commit({
      baseTid: 0,
      records: [rec(0, 'root', [a, b]), rec(a, 'a0', []), rec(b, 'b0', [])],
    });
    let serialA = tid;
    for (let i = 1; i <= 5; i++) {
      tid = await s.commit({ baseTid: tid, records: [rec(a, `a${i}`, [], serialA)] });
      serialA = tid;
    }
    dir.armed = true;
    const packError: unknown = await s.pack().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(packError).toBeInstanceOf(StorageError);
    expect(dir.failed).toBe(1);
    // A commit after the failed step: the log stopped, so it may be refused (then b stays b0,
    // checked below); either way nothing acknowledged may be lost.
    const after = await s
      .commit({ baseTid: tid, records: [rec(b, 'b1', [], tid - 5)] })
      .catch(() => undefined); // refused: `after` undefined, and b0 expected after the reopen
    await s.close();
    const again = await ShelfStorage.open(dir, {});
    const [ra, rb] = await again.load([a, b]);
    expect(dec.decode(ra?.state)).toBe('a5');
    expect(dec.decode(rb?.state)).toBe(after === undefined ? 'b0' : 'b1');
    expect((await again.verify()).problems).toEqual([]);
    await again.close();
  });
});

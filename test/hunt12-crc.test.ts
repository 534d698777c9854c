// Hunt (issue 12): CRC-32 slicing-by-8 against zlib for every length mod 8, unaligned views
// (a Uint8Array with a byteOffset, as log reads hand out) and a checksum continued at any split.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32 } from '../src/shared/crc32.js';

describe('CRC-32 slicing-by-8', () => {
  it('equals zlib on every length up to 80 of an unaligned view, and continued at every split', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 88, maxLength: 200 }),
        fc.integer({ min: 1, max: 7 }),
        fc.nat({ max: 0xffffffff }),
        (backing, offset, previous) => {
          const view = backing.subarray(offset);
          // Mismatches collected, one assertion per run (an expect per slice is slow).
          const wrong: string[] = [];
          for (let length = 1; length <= 80; length++) {
            const want = zlibCrc32(view.subarray(0, length), previous);
            if (crc32(view.subarray(0, length), 0, length, previous) !== want)
              wrong.push(`copy of ${length}`);
            if (crc32(view, 0, length, previous) !== want) wrong.push(`view of ${length}`);
            for (let split = 1; split < length; split++) {
              const first = crc32(view, 0, split, previous);
              if (crc32(view, split, length, first) !== want)
                wrong.push(`${length} split at ${split}`);
            }
          }
          expect(wrong).toEqual([]);
        },
      ),
      { numRuns: 30 },
    );
  });
});

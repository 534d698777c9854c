/**
 * CborEncoder: object states → CBOR bytes. The format and the writing of values are in
 * cbor-write.ts (CborWriter); this adds batches, many values and the bytes around them written one
 * after another into one buffer: a commit's records are written so, in the layout of a record
 * batch (src/shared/record-batch.ts), with no copy per record.
 */
import { CborWriter, INITIAL_SIZE, KEEP_AT_MOST } from './cbor-write.js';

export type { RefOf, TaggedOf } from './cbor-write.js';

/**
 * Encodes object states, one at a time (`encode`) or as a batch; one instance is reused (it keeps
 * its output buffer between calls).
 * @example
 * const encoder = new CborEncoder(() => undefined);
 * encoder.encode({ title: 'milk', done: false }); // Uint8Array [0xb9, 0x00, 0x02, …]
 */
export class CborEncoder extends CborWriter {
  // ─── batches: many values and the bytes around them in one buffer ─────────

  /**
   * Starts a batch: the values appended by `appendFields` and the bytes reserved around them go
   * one after another into the encoder's buffer, until `endBatch` hands them over. (A commit's
   * records are written so, in the layout of a record batch: no copy per record.) `encode` must
   * not be called in between.
   */
  beginBatch(): void {
    if (this.bytes.length > KEEP_AT_MOST) this.setBuffer(new Uint8Array(INITIAL_SIZE));
    this.pos = 0;
  }

  /** Reserves `n` bytes at the end of the batch, to be filled with `batchView`; their offset. */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** The batch's bytes so far, to fill what `reserve` gave (valid until the next append). */
  get batchView(): DataView {
    return this.view;
  }

  /**
   * Appends, as one CBOR map, the own enumerable string-keyed fields of `fields` that `keep`
   * accepts: the same bytes as encoding a plain object holding just those (a persistent object's
   * stored state, without copying it out first). Returns the number of bytes appended.
   * @throws SerializationError as `encode`.
   */
  appendFields(fields: Record<string, unknown>, keep: (key: string) => boolean): number {
    const start = this.pos;
    // Registered as the plain copy it stands for was: the same count of objects met (which sizes
    // the heads of shared references), and nothing inside can reach it.
    this.seen.set(fields, start);
    try {
      const at = this.mapStart();
      let count = 0;
      for (const key of Object.keys(fields)) {
        if (!keep(key)) continue;
        this.string(key);
        this.item(fields[key]);
        count++;
      }
      this.mapEnd(at, count);
      if (this.shared.size > 0) this.markShared();
      return this.pos - start;
    } finally {
      this.forgetValue();
    }
  }

  /**
   * Ends the batch: its `length` bytes at the start of `buffer`, which is the batch's own. A large
   * batch takes the encoder's buffer itself, with the room it had left after them (no copy; the
   * encoder starts a new one); a small one is copied out to its size.
   */
  endBatch(): { buffer: ArrayBuffer; length: number } {
    const length = this.pos;
    if (length <= KEEP_AT_MOST) return { buffer: this.bytes.buffer.slice(0, length), length };
    const buffer = this.bytes.buffer;
    this.setBuffer(new Uint8Array(INITIAL_SIZE));
    this.pos = 0;
    return { buffer, length };
  }
}

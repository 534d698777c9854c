/**
 * A byte stream read in pieces — lines, runs of exact length, and pieces of a long run as they
 * arrive — across chunk boundaries: the archive reader's input (snarf.ts).
 */
const NEWLINE = 0x0a;

/** Reads a byte stream in pieces: lines and runs of exact length, across chunk boundaries. */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // read position in chunks[0]
  private buffered = 0;
  private done = false;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** Total bytes consumed so far (the offset of the next byte). */
  offset = 0;

  /** Reads chunks until `n` bytes are buffered or the stream ends; false if it ended first. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const { done, value } = await this.reader.read();
      if (done) this.done = true;
      else if (value.byteLength > 0) {
        this.chunks.push(value);
        this.buffered += value.byteLength;
      }
    }
    return this.buffered >= n;
  }

  /** True when every byte was read. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  /** The first `n` bytes without consuming them (fewer at the end of the stream). */
  async peek(n: number): Promise<Uint8Array> {
    await this.fill(n);
    const out = new Uint8Array(Math.min(n, this.buffered));
    this.copy(out, false);
    return out;
  }

  /** Consumes exactly `n` bytes; undefined (having consumed what there was) if the stream ends first. */
  async take(n: number): Promise<Uint8Array | undefined> {
    if (!(await this.fill(n))) return undefined;
    const out = new Uint8Array(n);
    this.copy(out, true);
    return out;
  }

  /**
   * Consumes what is buffered, at most `max` bytes (reading a chunk first when nothing is): a
   * piece of a long run handed on as it arrives, never the run whole. Undefined at the end.
   */
  async takeSome(max: number): Promise<Uint8Array | undefined> {
    if (!(await this.fill(1))) return undefined;
    const first = this.chunks[0] as Uint8Array;
    const n = Math.min(max, first.byteLength - this.head);
    // A view of the chunk when it is handed on whole from its start, a copy otherwise (the
    // chunk may be a large read whose rest stays buffered).
    const out =
      this.head === 0 && n === first.byteLength ? first : first.slice(this.head, this.head + n);
    this.head += n;
    if (this.head === first.byteLength) {
      this.chunks.shift();
      this.head = 0;
    }
    this.buffered -= n;
    this.offset += n;
    return out;
  }

  /** Consumes a line up to and including '\n' (at most `max` bytes); undefined if none. */
  async line(max: number): Promise<Uint8Array | undefined> {
    for (let scanned = 0; ;) {
      const end = this.indexOfNewline(scanned, max);
      if (end >= 0) return this.take(end + 1);
      scanned = this.buffered;
      if (scanned >= max || !(await this.fill(scanned + 1))) return undefined;
    }
  }

  private indexOfNewline(from: number, max: number): number {
    let position = 0;
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c] as Uint8Array;
      const start = c === 0 ? this.head : 0;
      for (let i = start; i < chunk.byteLength; i++, position++) {
        if (position >= max) return -1;
        if (position >= from && chunk[i] === NEWLINE) return position;
      }
    }
    return -1;
  }

  private copy(out: Uint8Array, consume: boolean): void {
    let at = 0;
    let c = 0;
    let head = this.head;
    while (at < out.byteLength) {
      const chunk = this.chunks[c] as Uint8Array;
      const n = Math.min(chunk.byteLength - head, out.byteLength - at);
      out.set(chunk.subarray(head, head + n), at);
      at += n;
      head += n;
      if (head === chunk.byteLength) {
        c++;
        head = 0;
      }
    }
    if (!consume) return;
    this.chunks.splice(0, c);
    this.head = head;
    this.buffered -= out.byteLength;
    this.offset += out.byteLength;
  }
}

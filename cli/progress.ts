/**
 * A progress line on stderr for long work (pack, verify, dump), drawn only when stderr is a
 * terminal: plain `\r`-rewritten text, no escape codes and no dependency. Piped or redirected, it
 * writes nothing, so logs and `--json` consumers never see it.
 *
 * It redraws only when the text changes (whole percents), so a fast stream of updates costs little
 * and the line never flickers.
 */
import type { Output } from './io.js';

/** A progress line; every method does nothing when its output is not a terminal. */
export class Progress {
  private shown = '';
  private readonly live: boolean;

  constructor(
    private readonly out: Output,
    /** What the work is, leading the line: 'pack', 'dump'. */
    private readonly label: string,
  ) {
    this.live = out.isTTY === true;
  }

  /** Shows `done` of `total` (a phase name in front, if given). */
  update(done: number, total: number, phase?: string): void {
    const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
    const width = 20;
    const filled = Math.round((percent / 100) * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const what = phase === undefined ? this.label : `${this.label} ${phase}`;
    this.show(`${what} ${bar} ${percent}% (${done}/${total})`);
  }

  /** Shows a line without a measure, for work that reports none (verify). */
  note(text: string): void {
    this.show(`${this.label}: ${text}`);
  }

  /** Erases the line, leaving the cursor at its start. */
  clear(): void {
    if (!this.live || this.shown === '') return;
    this.out.write(`\r${' '.repeat(this.shown.length)}\r`);
    this.shown = '';
  }

  private show(text: string): void {
    if (!this.live || text === this.shown) return;
    const pad = ' '.repeat(Math.max(0, this.shown.length - text.length));
    this.out.write(`\r${text}${pad}`);
    this.shown = text;
  }
}

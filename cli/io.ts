/**
 * What a command writes to, and how it ends. `main` takes the streams as arguments (tests pass
 * strings in memory; bin.ts passes the process's), so no command touches `process` itself.
 *
 * Exit codes, as `--help` and docs/guide/command-line.md state them:
 *   0  done, the database is healthy
 *   1  the database has problems (verify found some, a record is damaged), a conflict (undo), or
 *      what was asked for is not there (an oid with no revision)
 *   2  bad usage (unknown command, missing or malformed argument), or the database cannot be opened
 *      (no such path, not a database, open in another process, damaged: see `shelfdb recover`)
 */
import { ShelfError } from '../src/shared/errors.js';

/** Where a command writes: `process.stdout`/`process.stderr` or a test's collector. */
export interface Output {
  /** Writes text as is (no newline added). */
  write(text: string): unknown;
  /** True when a person watches it: only then does a command draw progress on it. */
  isTTY?: boolean;
  /** A Node stream's: true while its buffer is full (the reader is slower than the writer). */
  readonly writableNeedDrain?: boolean;
  /** A Node stream's: `once('drain', …)` fires when its buffer has room again. */
  once?(event: 'drain', listener: () => void): unknown;
}

/** The two streams of a run. */
export interface Streams {
  /** Results: text, or with `--json` one JSON document (JSON lines for `dump`). */
  stdout: Output;
  /** Errors, warnings and progress. */
  stderr: Output;
}

/** The exit codes (see the module comment). */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;

/** An exit code. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * A command that ends without its result: its message is shown as is (it already says what
 * happened and what to do), and the run exits with `exitCode`.
 */
export class CommandFailure extends ShelfError {
  override name = 'CommandFailure';
  constructor(
    message: string,
    /** 1: the database has problems or a conflict; 2: bad usage or cannot open. */
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Writes one line (a newline is added). */
export function writeLine(out: Output, text = ''): void {
  out.write(`${text}\n`);
}

/**
 * Waits until `out` has room again, if its buffer is full: a command that streams (dump) calls it
 * between batches, so a slow reader (a pipe into `gzip`, a slow disk) holds back the reading of the
 * database instead of piling its output up in memory.
 */
export async function roomIn(out: Output): Promise<void> {
  if (out.writableNeedDrain !== true || out.once === undefined) return;
  const once = out.once.bind(out);
  await new Promise<void>((resolve) => once('drain', resolve));
}

/** Writes `value` as one JSON document on one line. */
export function writeJson(out: Output, value: unknown): void {
  out.write(`${JSON.stringify(value)}\n`);
}

/**
 * The `shelfdb` executable (dist/cli.js runs it): the process's arguments and streams into
 * `main`, its exit code out.
 *
 * - Ctrl-C during `pack` aborts the pack through its signal, so the database is left valid with
 *   what was compacted; a second Ctrl-C ends the process at once. Other commands keep Node's
 *   default (the process ends: the log is crash-safe, and the lock a dead process leaves is taken
 *   over at the next open).
 * - A reader that goes away (`shelfdb dump db | head -1`) ends the process quietly with exit 0:
 *   it has what it wanted. Without this, the write's EPIPE would crash it with a stack trace.
 */
import { main } from './main.js';

const args = process.argv.slice(2);
const controller = new AbortController();
if (args.find((arg) => !arg.startsWith('-')) === 'pack') {
  process.once('SIGINT', () => controller.abort(new Error('interrupted (Ctrl-C)')));
}
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`shelfdb: cannot write the output: ${error.message}\n`);
  process.exit(2);
});
process.exitCode = await main(args, {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});

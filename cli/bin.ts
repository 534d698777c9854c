/**
 * The `shelfdb` executable (dist/cli.js runs it): the process's arguments and streams into
 * `main`, its exit code out. Ctrl-C aborts a running pack through its signal (the database stays
 * valid); a second Ctrl-C ends the process at once.
 */
import { main } from './main.js';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort(new Error('interrupted (Ctrl-C)')));
process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});

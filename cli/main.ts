/**
 * The `shelfdb` command line: `shelfdb <command> <path> [arguments] [--json]` over Node 'file'
 * databases (`restore <file> <path>` takes the backup first: it makes the database). `main` parses the arguments (commander), runs one command and resolves to the exit
 * code; it never exits the process and writes only to the streams it is given, so tests run it in
 * process. bin.ts is the executable around it.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConflictError, ShelfError } from '../src/shared/errors.js';
import { backup } from './commands/backup.js';
import { check } from './commands/check.js';
import { checkout } from './commands/checkout.js';
import { commit } from './commands/commit.js';
import { dump } from './commands/dump.js';
import { exportTo } from './commands/export.js';
import { history } from './commands/history.js';
import { importInto } from './commands/import.js';
import { info } from './commands/info.js';
import { log } from './commands/log.js';
import { pack } from './commands/pack.js';
import { recover } from './commands/recover.js';
import { restore } from './commands/restore.js';
import { show } from './commands/show.js';
import { undo } from './commands/undo.js';
import { verify } from './commands/verify.js';
import { CommandFailure, EXIT, writeJson, writeLine, type ExitCode, type Streams } from './io.js';

/** What `main` is given besides the arguments. */
export interface MainOptions extends Streams {
  /** Aborts long work (pack) when it fires: bin.ts ties it to Ctrl-C. */
  signal?: AbortSignal;
}

const EXIT_CODES_HELP = `
Exit codes:
  0  done; the database is healthy
  1  the database has problems (verify found some, a record does not decode), a conflict
     (undo, commit; check finding one), an archive that is damaged or does not fit this
     database, a revision pack removed (show --at), or no such object
  2  bad usage (unknown command, missing or malformed argument), or the database or archive
     cannot be opened: no such path, not a shelfdb database or archive, open in another
     process, or damaged (then run \`shelfdb recover <path>\`, after copying the directory)

Every command takes --json: one JSON document on stdout (dump: one JSON line per record).
Progress is drawn on stderr for long work (pack, verify, dump, export, checkout, check,
commit, import, backup, restore) when stderr is a terminal.
The command line never creates a database, except restore: every other command refuses a
missing or empty directory.`;

/** A non-negative safe integer argument (an oid, a tid, a limit). */
function integer(what: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new InvalidArgumentError(`${what} must be a whole number ≥ 0, got '${value}'.`);
    }
    return Number(value);
  };
}

/** Options every command has. */
interface JsonOption {
  json?: boolean;
}

/**
 * Runs the command line on `argv` (the arguments after the program name).
 * @returns the exit code: 0 ok, 1 the database has problems or a conflict, 2 bad usage or cannot
 *   open.
 * @example
 * const code = await main(['info', '/data/notes', '--json'], { stdout: process.stdout, stderr: process.stderr });
 */
export async function main(argv: readonly string[], options: MainOptions): Promise<number> {
  const streams: Streams = { stdout: options.stdout, stderr: options.stderr };
  let code: ExitCode = EXIT.ok;
  const program = new Command('shelfdb')
    .description(
      "Inspect, verify, pack and repair shelfdb 'file' databases; export, check, commit and back up their objects.",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
    })
    .showHelpAfterError('(run shelfdb --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);

  const command = (name: string, description: string): Command =>
    program
      .command(name)
      .description(description)
      .option('--json', 'machine-readable output: one JSON document on stdout');

  command(
    'info <path>',
    'size, objects, transactions, garbage ratio, format version, last pack',
  ).action(async (path: string, o: JsonOption) => {
    code = await info(path, o.json === true, streams);
  });
  command(
    'verify <path>',
    'check every checksum, record and reference; exit 1 listing problems',
  ).action(async (path: string, o: JsonOption) => {
    code = await verify(path, o.json === true, streams);
  });
  command('pack <path>', 'remove unreachable objects and old revisions, showing progress').action(
    async (path: string, o: JsonOption) => {
      code = await pack(path, o.json === true, streams, options.signal);
    },
  );
  command('log <path>', 'transactions, newest first, with their notes')
    .option('--limit <n>', 'list at most n transactions', integer('--limit'))
    .action(async (path: string, o: JsonOption & { limit?: number }) => {
      code = await log(path, { json: o.json === true, ...limit(o.limit) }, streams);
    });
  command('show <path> <oid>', "one object's class, fields and references, as JSON")
    .option('--at <tid>', 'as it was after transaction tid', integer('--at'))
    .action(async (path: string, oid: number, o: JsonOption & { at?: number }) => {
      const at = o.at === undefined ? {} : { at: o.at };
      code = await show(path, oid, { json: o.json === true, ...at }, streams);
    });
  command('history <path> <oid>', "an object's stored revisions, newest first")
    .option('--limit <n>', 'list at most n revisions', integer('--limit'))
    .action(async (path: string, oid: number, o: JsonOption & { limit?: number }) => {
      code = await history(path, oid, { json: o.json === true, ...limit(o.limit) }, streams);
    });
  command('dump <path>', "every object's current revision, one JSON line each (streamed)").action(
    async (path: string) => {
      code = await dump(path, streams);
    },
  );
  command('undo <path> <tid>', 'commit a transaction that undoes transaction tid')
    .option(
      '--note <text>',
      'the note of the undoing transaction (default: undo of transaction <tid>)',
    )
    .action(async (path: string, tid: number, o: JsonOption & { note?: string }) => {
      const note = o.note === undefined ? {} : { note: o.note };
      code = await undo(path, tid, { json: o.json === true, ...note }, streams);
    });
  command(
    'recover <path>',
    'open a damaged database keeping every readable transaction; report what was dropped',
  ).action(async (path: string, o: JsonOption) => {
    code = await recover(path, o.json === true, streams);
  });
  command(
    'export <path> <oid> <file>',
    'write object oid and what it owns to an archive file (other objects stay references by oid)',
  )
    .option('--gzip', 'compress the archive')
    .addOption(
      new Option(
        '--boundary <kind>',
        'which references to follow: owned (containers and what they hold) or reachable (every one)',
      )
        .choices(['owned', 'reachable'])
        .default('owned'),
    )
    .action(
      async (
        path: string,
        oid: number,
        file: string,
        o: JsonOption & { gzip?: boolean; boundary: 'owned' | 'reachable' },
      ) => {
        const opts = { gzip: o.gzip === true, boundary: o.boundary, json: o.json === true };
        code = await exportTo(path, oid, file, opts, streams);
      },
    );
  command(
    'checkout <path> <oid> <dir>',
    'export object oid into a directory of JSON files to edit (new, empty, or an earlier checkout)',
  ).action(async (path: string, oid: number, dir: string, o: JsonOption) => {
    code = await checkout(path, oid, dir, o.json === true, streams);
  });
  command(
    'check <path> <source>',
    'compare a checkout directory or archive file with the database, writing nothing; exit 1 on a conflict or an unresolved reference',
  ).action(async (path: string, source: string, o: JsonOption) => {
    code = await check(path, source, o.json === true, streams);
  });
  command(
    'commit <path> <source>',
    'write what a checkout directory or archive file changed, in one transaction; exit 1 on a conflict, writing nothing',
  )
    .addOption(
      new Option(
        '--on-conflict <policy>',
        'an entry changed in both: fail, or let the archive or the live object win',
      )
        .choices(['fail', 'archive', 'live'])
        .default('fail'),
    )
    .option('--note <text>', 'the note of the transaction (default: commit of archive <start>)')
    .action(
      async (
        path: string,
        source: string,
        o: JsonOption & { onConflict: 'fail' | 'archive' | 'live'; note?: string },
      ) => {
        const note = o.note === undefined ? {} : { note: o.note };
        code = await commit(
          path,
          source,
          { onConflict: o.onConflict, json: o.json === true, ...note },
          streams,
        );
      },
    );
  command(
    'import <path> <source>',
    'store a copy of an archive (new oids) in the PersistentDict or BTree --into, at key --name',
  )
    .requiredOption('--into <oid>', 'the container to hold the copy', integer('--into'))
    .requiredOption('--name <key>', 'its key there (a string; must not be taken)')
    .action(
      async (path: string, source: string, o: JsonOption & { into: number; name: string }) => {
        code = await importInto(
          path,
          source,
          { into: o.into, name: o.name, json: o.json === true },
          streams,
        );
      },
    );
  command(
    'backup <path> <file>',
    'write the whole database (oids, tids, notes, every stored revision) to a backup file',
  )
    .option('--gzip', 'compress the backup')
    .action(async (path: string, file: string, o: JsonOption & { gzip?: boolean }) => {
      code = await backup(path, file, { gzip: o.gzip === true, json: o.json === true }, streams);
    });
  command(
    'restore <file> <path>',
    'make a new database at path from a backup file: the one command that creates a database (path must not exist, or be empty)',
  ).action(async (file: string, path: string, o: JsonOption) => {
    code = await restore(file, path, o.json === true, streams);
  });
  // Oid and tid arguments are parsed where declared: commander calls the parser per argument.
  for (const sub of program.commands) {
    for (const argument of sub.registeredArguments) {
      if (argument.name() === 'oid') argument.argParser(integer('<oid>'));
      if (argument.name() === 'tid') argument.argParser(integer('<tid>'));
    }
  }

  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    return failed(error, json, streams);
  }
}

const limit = (n: number | undefined): { limit?: number } => (n === undefined ? {} : { limit: n });

/** Reports an error the run ended with, and its exit code. */
function failed(error: unknown, json: boolean, streams: Streams): ExitCode {
  if (error instanceof CommanderError) {
    // Commander wrote its message (or the help) already.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  // Everything else happened after the database opened (opening fails as a CommandFailure with
  // exit 2): a conflict, damage found while reading, or the work stopped.
  const exitCode = error instanceof CommandFailure ? error.exitCode : EXIT.problems;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const oids = error instanceof ConflictError ? { oids: error.oids } : {};
  if (json) writeJson(streams.stdout, { error: { name, message, exitCode, ...oids } });
  // A bug (not one of shelfdb's errors) shows its stack: it is for a bug report.
  const shown = error instanceof ShelfError || !(error instanceof Error) ? message : error.stack;
  writeLine(streams.stderr, `shelfdb: ${shown ?? message}`);
  return exitCode;
}

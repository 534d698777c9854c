/**
 * The `shelfdb` command line where things go wrong: damaged databases, a database open elsewhere,
 * paths that are not databases, bad usage — and the exit codes of each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.js';
import {
  cli,
  flipFirstTransactionByte,
  makeCrashedDamagedDatabase,
  makeTodoDatabase,
} from './cli-fixture.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-cli-errors-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('shelfdb on a damaged database', () => {
  it('verify exits 1 listing the damage of a database that still opens', async () => {
    const t = await makeTodoDatabase(join(scratch, 'damaged-closed'));
    const offset = flipFirstTransactionByte(t.path);
    const text = await cli(['verify', t.path]);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/problems? found/);
    expect(text.stdout).toContain('seg-000001.log');
    const json = await cli(['verify', t.path, '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      problems: { kind: string; offset?: number }[];
    };
    expect(report.ok).toBe(false);
    // The walk of the log stops at the damaged transaction (or inside it).
    expect(report.problems.some((p) => p.offset !== undefined && p.offset >= offset)).toBe(true);
  });

  it('refuses to open a damaged database with exit 2 pointing at shelfdb recover; verify exits 1; recover reports what it dropped', async () => {
    const path = join(scratch, 'damaged-crashed');
    const offset = await makeCrashedDamagedDatabase(path);

    const info = await cli(['info', path]);
    expect(info.code).toBe(2);
    expect(info.stderr).toContain(`is damaged at byte ${offset}`);
    expect(info.stderr).toContain(`shelfdb recover ${path}`);
    expect(info.stdout).toBe('');

    const verified = await cli(['verify', path, '--json']);
    expect(verified.code).toBe(1);
    const report = JSON.parse(verified.stdout) as { ok: boolean; problems: { kind: string }[] };
    expect(report).toMatchObject({ ok: false, problems: [{ kind: 'open' }] });

    const recovered = await cli(['recover', path, '--json']);
    expect(recovered.code).toBe(0);
    const dropped = JSON.parse(recovered.stdout) as {
      truncated: unknown[];
      dropped: { file: string; offset: number; length: number }[];
    };
    expect(dropped.dropped).toEqual([
      { file: 'seg-000001.log', offset, length: expect.any(Number) },
    ]);

    // Recovered: it opens, verifies, and keeps the later transactions.
    expect((await cli(['verify', path])).code).toBe(0);
    const log = JSON.parse((await cli(['log', path, '--json'])).stdout) as { note: string }[];
    expect(log[0]?.note).toBe('k4');
    const again = await cli(['recover', path]);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stdout).toContain('nothing damaged, nothing dropped');
  });

  it('recover in text says what it dropped and where', async () => {
    const path = join(scratch, 'damaged-text');
    const offset = await makeCrashedDamagedDatabase(path);
    const recovered = await cli(['recover', path]);
    expect(recovered.code).toBe(0);
    expect(recovered.stdout).toContain(`dropped: seg-000001.log bytes ${offset}–`);
  });
});

describe('shelfdb on a database open elsewhere', () => {
  it('refuses a database this process has open, with exit 2, and leaves it working', async () => {
    const t = await makeTodoDatabase(join(scratch, 'open-here'));
    const db = await openDatabase('held', { storage: 'file', path: t.path });
    try {
      for (const command of ['info', 'verify', 'pack', 'dump', 'recover', 'log']) {
        const refused = await cli([command, t.path]);
        expect(refused.code, command).toBe(2);
        expect(refused.stderr, command).toContain(`(pid ${process.pid}`);
      }
      expect((await db.verify()).ok).toBe(true);
    } finally {
      await db.close();
    }
    expect((await cli(['info', t.path])).code).toBe(0);
  });

  it('refuses a database another process holds, naming its pid', async () => {
    const t = await makeTodoDatabase(join(scratch, 'open-there'));
    // A live process of this host holds the lock file, as another shelfdb process would.
    const holder: ChildProcess = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60000)']);
    try {
      await new Promise((resolve) => holder.once('spawn', resolve));
      writeFileSync(
        join(t.path, 'shelfdb.lock'),
        JSON.stringify({ pid: holder.pid, host: hostname() }),
      );
      const refused = await cli(['info', t.path, '--json']);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`open in another process (pid ${String(holder.pid)}`);
      expect(JSON.parse(refused.stdout)).toMatchObject({ error: { exitCode: 2 } });
    } finally {
      holder.kill();
    }
  });
});

describe('shelfdb refuses paths that are not databases, creating nothing', () => {
  it('refuses a missing path with exit 2 for every command, and does not create it', async () => {
    const path = join(scratch, 'missing');
    for (const args of [
      ['info', path],
      ['verify', path],
      ['pack', path],
      ['log', path],
      ['show', path, '0'],
      ['history', path, '0'],
      ['dump', path],
      ['recover', path],
    ]) {
      const refused = await cli(args);
      expect(refused.code, args[0]).toBe(2);
      expect(refused.stderr, args[0]).toContain(`${path} does not exist`);
    }
    expect(existsSync(path)).toBe(false);
  });

  it('refuses an empty directory and leaves it empty', async () => {
    const path = join(scratch, 'empty');
    mkdirSync(path);
    const refused = await cli(['recover', path]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('is not a shelfdb database');
    expect(readdirSync(path)).toEqual([]);
  });

  it('refuses a directory of other files, and a regular file, changing nothing', async () => {
    const dir = join(scratch, 'photos');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cat.jpg'), 'meow');
    const notDb = await cli(['info', dir]);
    expect(notDb.code).toBe(2);
    expect(notDb.stderr).toContain('is not a shelfdb database');
    expect(readdirSync(dir)).toEqual(['cat.jpg']);

    const file = join(scratch, 'notes.txt');
    writeFileSync(file, 'hello');
    const notDir = await cli(['verify', file]);
    expect(notDir.code).toBe(2);
    expect(notDir.stderr).toContain('is a file, not a database');
    expect(readFileSync(file, 'utf8')).toBe('hello');
  });
});

describe('shelfdb usage', () => {
  it('exits 2 for an unknown command, a missing argument, or a non-numeric oid, tid or limit', async () => {
    const t = await makeTodoDatabase(join(scratch, 'usage'));
    const cases: [string[], string][] = [
      [['frobnicate', t.path], "unknown command 'frobnicate'"],
      [['info'], "missing required argument 'path'"],
      [['show', t.path], "missing required argument 'oid'"],
      [['show', t.path, 'twelve'], "<oid> must be a whole number ≥ 0, got 'twelve'"],
      [['show', t.path, '-3'], ''],
      [
        ['show', t.path, '1', '--at', 'yesterday'],
        "--at must be a whole number ≥ 0, got 'yesterday'",
      ],
      [['history', t.path, '1.5'], '<oid> must be a whole number'],
      [['log', t.path, '--limit', 'ten'], '--limit must be a whole number'],
      [['info', t.path, 'extra'], 'too many arguments'],
      [['info', t.path, '--colour'], "unknown option '--colour'"],
      [[], 'Usage: shelfdb'],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr, args.join(' ')).toContain(message);
    }
  });

  it('--help lists every command and the exit codes, and exits 0', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['info', 'verify', 'pack', 'log', 'show', 'history', 'dump', 'recover']) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    }
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toMatch(/^ {2}2 {2}bad usage/m);
    const showHelp = await cli(['show', '--help']);
    expect(showHelp.code).toBe(0);
    expect(showHelp.stdout).toContain('--at <tid>');
    expect(showHelp.stdout).toContain('--json');
  });
});

/**
 * The `shelfdb` command line as a process: cli/bin.ts built for Node as scripts/build.mjs builds it
 * (rolldown, ESM), run by `node` on real databases — the process's exit code, its streams, and the
 * lock held by another process (this test's). e2e/installed.spec.ts runs the packed dist/cli.js.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'rolldown';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.js';
import { CLASSES, Todo } from './fixtures.js';
import { flipFirstTransactionByte, makeTodoDatabase, type TodoDatabase } from './cli-fixture.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-cli-spawn-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the built CLI in a new process. */
function shelfdb(
  cli: string,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the shelfdb executable', () => {
  let cli: string;
  let t: TodoDatabase;
  beforeAll(async () => {
    const out = join(scratch, 'built');
    // Self-contained (commander bundled): the temp directory has no node_modules to resolve from.
    await build({
      input: resolve('cli/bin.ts'),
      platform: 'node',
      external: (id) => id.startsWith('node:'),
      output: { dir: out, format: 'es', entryFileNames: 'cli.mjs' },
      logLevel: 'silent',
    });
    cli = join(out, 'cli.mjs');
    t = await makeTodoDatabase(join(scratch, 'todos'));
  }, 60_000);

  it('prints info as JSON and exits 0', () => {
    const run = shelfdb(cli, ['info', t.path, '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ objects: 4, transactions: 4 });
  });

  it('exits 2 with usage on stderr for an unknown command, and 0 for --help', () => {
    const bad = shelfdb(cli, ['frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown command 'frobnicate'");
    const help = shelfdb(cli, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
  });

  it('refuses, with exit 2, a database this test process holds open, naming its pid', async () => {
    const db = await openDatabase('held', { storage: 'file', path: t.path });
    try {
      const run = shelfdb(cli, ['verify', t.path]);
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`open in another process (pid ${process.pid}`);
    } finally {
      await db.close();
    }
    expect(shelfdb(cli, ['verify', t.path]).status).toBe(0);
  });

  it('exits 1 when verify finds problems', async () => {
    const path = join(scratch, 'damaged');
    await makeTodoDatabase(path);
    flipFirstTransactionByte(path);
    const run = shelfdb(cli, ['verify', path]);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/problems? found/);
  });

  it('ends quietly with exit 0 when its reader goes away mid-dump (a pipe into head)', async () => {
    const path = join(scratch, 'many');
    const db = await openDatabase('many', { storage: 'file', path, classes: CLASSES });
    const conn = db.open();
    const todos = Array.from({ length: 3000 }, (_, i) =>
      Object.assign(new Todo(), { title: `todo ${i} `.repeat(20) }),
    );
    (await conn.root()).set('todos', todos);
    await conn.commit();
    await db.close();

    const child = spawn(process.execPath, [cli, 'dump', path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    // Like `| head -1`: read the first chunk, then close the pipe.
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
    // The lock it left names a process that is gone: the next open takes it over.
    expect(shelfdb(cli, ['info', path]).status).toBe(0);
  });
});

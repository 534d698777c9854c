/** `shelfdb` backup and restore, and archive commands on bad input (exit codes, messages). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fields, logOf, makeTodoList, retitleLive, scratchDir } from './cli-archive-fixture.js';
import { cli } from './cli-fixture.js';

const { scratch, fresh } = scratchDir('shelfdb-cli-archive-errors-');
/** Numbers the files the tests name under `scratch` themselves. */
let made = 0;

describe('shelfdb backup and restore', () => {
  it('restore of a backup makes a database whose log --json equals the source', async () => {
    const t = await makeTodoList(fresh('db'));
    await retitleLive(t.path, t.aOid, 'retitled');
    for (const gzip of [false, true]) {
      const file = join(scratch, `backup-${++made}.snarf`);
      const backedUp = await cli(['backup', t.path, file, ...(gzip ? ['--gzip'] : []), '--json']);
      expect(backedUp.code, backedUp.stderr).toBe(0);
      expect(JSON.parse(backedUp.stdout)).toMatchObject({ file, transactions: 3 });
      const copy = fresh('restored');
      const restored = await cli(['restore', file, copy]);
      expect(restored.code, restored.stderr).toBe(0);
      expect(restored.stdout).toMatch(
        new RegExp(`^restored ${file} into ${copy}: 3 transactions up to tid \\d+`),
      );
      expect(await logOf(copy)).toEqual(await logOf(t.path));
      expect(await fields(copy, t.aOid)).toEqual(await fields(t.path, t.aOid));
    }
  });

  it('restore refuses a path that is not empty with exit 2, touching nothing', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `backup-${++made}.snarf`);
    expect((await cli(['backup', t.path, file])).code).toBe(0);
    const before = await logOf(t.path);
    const onto = await cli(['restore', file, t.path]);
    expect(onto.code).toBe(2);
    expect(onto.stderr).toContain(`${t.path} is not empty`);
    expect(await logOf(t.path)).toEqual(before);
  });

  it('restore of a damaged backup exits 1 naming the file and the entry, and leaves no database', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `backup-${++made}.snarf`);
    expect((await cli(['backup', t.path, file])).code).toBe(0);
    const bytes = readFileSync(file);
    const at = bytes.indexOf('.bin\n') + 8; // inside the first transaction's states
    bytes[at] = (bytes[at] as number) ^ 0xff;
    writeFileSync(file, bytes);
    const copy = fresh('restored');
    const out = await cli(['restore', file, copy]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(file);
    expect(out.stderr).toMatch(/transactions\/\d+\.bin/);
    expect(existsSync(copy)).toBe(false);
  });
});

describe('shelfdb archive commands on bad input', () => {
  it('a missing archive file exits 2 naming it', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, 'no-such.snarf');
    for (const args of [
      ['check', t.path, file],
      ['commit', t.path, file],
      ['import', t.path, file, '--into', '0', '--name', 'x'],
      ['restore', file, fresh('restored')],
    ]) {
      const out = await cli(args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr).toContain(`${file} does not exist`);
    }
  });

  it('a file that is not an archive exits 2 saying so', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `notes-${++made}.json`);
    writeFileSync(file, '{"title": "not an archive"}\n');
    const checked = await cli(['check', t.path, file, '--json']);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toContain(`${file} is not a shelfdb archive`);
    expect(JSON.parse(checked.stdout)).toMatchObject({ error: { exitCode: 2 } });
    const restored = await cli(['restore', file, fresh('restored')]);
    expect(restored.code).toBe(2);
  });

  it('a backup given to check, or an export given to restore, exits 2 saying which command takes it', async () => {
    const t = await makeTodoList(fresh('db'));
    const backupFile = join(scratch, `backup-${++made}.snarf`);
    const exportFile = join(scratch, `export-${++made}.snarf`);
    expect((await cli(['backup', t.path, backupFile])).code).toBe(0);
    expect((await cli(['export', t.path, String(t.listOid), exportFile])).code).toBe(0);
    const checked = await cli(['check', t.path, backupFile]);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toContain('is a backup of a whole database');
    expect(checked.stderr).toContain('shelfdb restore');
    const restored = await cli(['restore', exportFile, fresh('restored')]);
    expect(restored.code).toBe(2);
    expect(restored.stderr).toContain('is an export of objects');
  });

  it('a damaged archive exits 1 naming the file and the entry, and commit writes nothing', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `list-${++made}.snarf`);
    expect((await cli(['export', t.path, String(t.listOid), file])).code).toBe(0);
    const bytes = readFileSync(file);
    const at = bytes.indexOf(`"title": "a"`) + 10; // the 'a' of todo a's title
    expect(String.fromCharCode(bytes[at] as number)).toBe('a');
    bytes[at] = 'z'.charCodeAt(0); // a changed byte, as a disk error would make it
    writeFileSync(file, bytes);
    const before = await logOf(t.path);
    for (const command of ['check', 'commit']) {
      const out = await cli([command, t.path, file]);
      expect(out.code, command).toBe(1);
      expect(out.stderr).toContain(file);
      expect(out.stderr).toContain(`objects/${t.aOid}.json`);
      expect(out.stderr).toContain('checksum');
    }
    expect(await logOf(t.path)).toEqual(before);
  });

  it('a checkout file edited into bad JSON exits 1 naming the entry, writing nothing', async () => {
    const t = await makeTodoList(fresh('db'));
    const dir = fresh('checkout');
    expect((await cli(['checkout', t.path, String(t.listOid), dir])).code).toBe(0);
    writeFileSync(join(dir, 'objects', `${t.bOid}.json`), '{"class": "Todo", "state": {');
    const before = await logOf(t.path);
    const out = await cli(['commit', t.path, dir]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`objects/${t.bOid}.json`);
    expect(await logOf(t.path)).toEqual(before);
  });

  it('draws progress on stderr only when it is a terminal, and erases it', async () => {
    const t = await makeTodoList(fresh('db'));
    const file = join(scratch, `list-${++made}.snarf`);
    const piped = await cli(['export', t.path, String(t.listOid), file]);
    expect(piped.stderr).toBe('');
    const drawn = await cli(['export', t.path, String(t.listOid), file], { tty: true });
    expect(drawn.code).toBe(0);
    expect(drawn.stderr).toMatch(/^\rexport: .* written/);
    expect(drawn.stderr).toMatch(/\r +\r$/); // erased before the result line
    const checked = await cli(['check', t.path, file], { tty: true });
    expect(checked.stderr).toMatch(/\rcheck reading \[#+\] 100%/);
  });

  it('--help says restore is the one command that creates a database', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(
      /restore \[options\] <file> <path> +make a new database .*the one command that\s+creates a database/s,
    );
    expect(help.stdout).toContain('The command line never creates a database, except restore');
  });
});

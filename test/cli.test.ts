/** The `shelfdb` command line's commands, run in process on real 'file' databases. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/index.js';
import { main } from '../cli/main.js';
import { cli, makeTodoDatabase, type TodoDatabase } from './cli-fixture.js';
import { CLASSES, Todo } from './fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Parses JSON lines. */
const lines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

describe('shelfdb info, log, show, history and dump (reading commands)', () => {
  let t: TodoDatabase;
  beforeAll(async () => {
    t = await makeTodoDatabase(join(scratch, 'todos'));
  });

  it('info reports size, objects, transactions, garbage ratio, format version and last pack', async () => {
    const text = await cli(['info', t.path]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^objects\s+4$/m);
    expect(text.stdout).toMatch(/^transactions\s+4$/m);
    expect(text.stdout).toMatch(/^format version\s+\d+$/m);
    expect(text.stdout).toMatch(/^last pack\s+never$/m);
    expect(text.stdout).toMatch(/^garbage\s+.*%/m);

    const json = await cli(['info', t.path, '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ objects: 4, transactions: 4, lastPack: null });
    expect(report.bytes).toBeGreaterThan(0);
    expect(report.garbageBytes).toBeGreaterThan(0); // 'a' renamed, the project changed
    expect(report.garbageRatio).toBe((report.garbageBytes as number) / (report.bytes as number));
    expect(report.formatVersion).toEqual(expect.any(Number));
  });

  it('log lists the transactions newest first with their notes, and --limit cuts the list', async () => {
    const all = await cli(['log', t.path]);
    expect(all.code).toBe(0);
    const listed = all.stdout.trim().split('\n');
    expect(listed).toHaveLength(4);
    expect(listed[0]).toContain('"drop b"');
    expect(listed[1]).toContain('"rename a"');
    expect(listed[2]).toContain('"create the project"');

    const two = await cli(['log', t.path, '--limit', '2', '--json']);
    expect(two.code).toBe(0);
    const txns = JSON.parse(two.stdout) as { tid: number; note: string; oids: number[] }[];
    expect(txns.map((x) => [x.tid, x.note])).toEqual([
      [t.dropped, 'drop b'],
      [t.renamed, 'rename a'],
    ]);
    expect(txns[0]?.oids).toEqual([t.projectOid]);
  });

  it('show prints the class, fields and references of an object as JSON, without its class', async () => {
    const shown = await cli(['show', t.path, String(t.projectOid)]);
    expect(shown.code).toBe(0);
    const project = JSON.parse(shown.stdout) as unknown;
    expect(project).toEqual({
      oid: t.projectOid,
      class: 'Project',
      tid: t.dropped,
      fields: {
        name: 'home',
        owner: {
          since: { $date: '2026-01-02T00:00:00.000Z' },
          scores: { $map: [['x', { $bigint: '1' }]] },
        },
        todos: [{ $ref: t.aOid, class: 'Todo' }],
      },
      refs: [{ oid: t.aOid, class: 'Todo' }],
    });
    const json = await cli(['show', t.path, String(t.projectOid), '--json']);
    expect(json.stdout.trim().split('\n')).toHaveLength(1); // one document on one line
    expect(JSON.parse(json.stdout)).toEqual(project);
  });

  it('show --at prints the object as it was after an older transaction', async () => {
    const before = await cli(['show', t.path, String(t.aOid), '--at', String(t.created), '--json']);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ tid: t.created, fields: { title: 'a' } });
    const project = await cli(['show', t.path, String(t.projectOid), '--at', String(t.renamed)]);
    expect(JSON.parse(project.stdout)).toMatchObject({
      fields: { todos: [{ $ref: t.aOid }, { $ref: t.bOid }] },
    });
    const now = await cli(['show', t.path, String(t.aOid), '--json']);
    expect(JSON.parse(now.stdout)).toMatchObject({ tid: t.renamed, fields: { title: 'a2' } });
  });

  it('show exits 1 for an oid the database has no object for, or not yet at --at', async () => {
    const missing = await cli(['show', t.path, '999']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no object 999');
    const early = await cli(['show', t.path, String(t.aOid), '--at', '1', '--json']);
    expect(early.code).toBe(1);
    expect(JSON.parse(early.stdout)).toMatchObject({ error: { exitCode: 1 } });
  });

  it("history lists an object's revisions newest first with their notes", async () => {
    const text = await cli(['history', t.path, String(t.aOid)]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^tid \d+ .*"rename a"\n {2}\{"title":"a2"/);
    const json = await cli(['history', t.path, String(t.aOid), '--json']);
    const { oid, revisions } = JSON.parse(json.stdout) as {
      oid: number;
      revisions: { tid: number; note: string; fields: { title: string } }[];
    };
    expect(oid).toBe(t.aOid);
    expect(revisions.map((r) => [r.tid, r.note, r.fields.title])).toEqual([
      [t.renamed, 'rename a', 'a2'],
      [t.created, 'create the project', 'a'],
    ]);
    const none = await cli(['history', t.path, '999']);
    expect(none.code).toBe(1);
  });

  it("dump writes every object's current revision as one JSON line, in oid order", async () => {
    const dumped = await cli(['dump', t.path]);
    expect(dumped.code).toBe(0);
    expect(dumped.stderr).toBe(''); // no progress drawn: stderr is not a terminal
    const records = lines(dumped.stdout) as { oid: number; class: string; tid: number }[];
    expect(records.map((r) => [r.oid, r.class])).toEqual([
      [0, 'shelfdb.PersistentDict'],
      [t.projectOid, 'Project'],
      [t.aOid, 'Todo'],
      [t.bOid, 'Todo'], // garbage until pack, but still stored
    ]);
    const json = await cli(['dump', t.path, '--json']);
    expect(json.stdout).toBe(dumped.stdout);
  });

  it('dump and verify draw progress on stderr only when it is a terminal', async () => {
    const dumped = await cli(['dump', t.path], { tty: true });
    expect(dumped.stderr).toContain('\r');
    expect(dumped.stderr).toContain('100% (4/4)');
    expect(dumped.stderr.endsWith('\r')).toBe(true); // the line is erased at the end
    const verified = await cli(['verify', t.path], { tty: true });
    expect(verified.stderr).toContain('\rverify: checking');
    expect((await cli(['verify', t.path])).stderr).toBe('');
  });

  it('dump goes past oids handed out but never committed', async () => {
    const path = join(scratch, 'gaps');
    const db = await openDatabase('gaps', { storage: 'file', path, classes: CLASSES });
    const conn = db.open();
    const root = await conn.root();
    await db.storage.newOids(1500); // reserved and never used: a gap of three batches
    root.set('after the gap', [1, 2]);
    root.set('todo', new Todo());
    await conn.commit();
    await db.close();
    const dumped = await cli(['dump', path]);
    expect(dumped.code).toBe(0);
    const records = lines(dumped.stdout) as { oid: number }[];
    expect(records).toHaveLength(2);
    expect(records[1]?.oid).toBeGreaterThan(1500);
  });
});

describe('shelfdb verify and pack', () => {
  it('verify exits 0 on a healthy database, and --json says so', async () => {
    const t = await makeTodoDatabase(join(scratch, 'healthy'));
    const text = await cli(['verify', t.path]);
    expect(text).toMatchObject({ code: 0 });
    expect(text.stdout).toContain('ok, no problems found');
    const json = await cli(['verify', t.path, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, problems: [] });
  });

  it('pack removes the garbage, reports it, and info shows the last pack', async () => {
    const t = await makeTodoDatabase(join(scratch, 'pack'));
    const packed = await cli(['pack', t.path, '--json']);
    expect(packed.stderr).toBe('');
    expect(packed.code).toBe(0);
    const result = JSON.parse(packed.stdout) as { objectsRemoved: number; bytesAfter: number };
    expect(result.objectsRemoved).toBe(1); // todo 'b'
    const info = JSON.parse((await cli(['info', t.path, '--json'])).stdout) as {
      objects: number;
      lastPack: string | null;
    };
    expect(info.objects).toBe(3);
    expect(info.lastPack).not.toBeNull();
    expect((await cli(['show', t.path, String(t.bOid)])).code).toBe(1);
    expect((await cli(['verify', t.path])).code).toBe(0);

    // 'a' as of its creation: a revision pack removed (no snapshot was reading it).
    const gone = await cli(['show', t.path, String(t.aOid), '--at', String(t.created), '--json']);
    expect(gone.code).toBe(1);
    expect(JSON.parse(gone.stdout)).toMatchObject({
      error: { name: 'ReadConflictError', oids: [t.aOid] },
    });
  });

  it('pack stops when its signal fires (Ctrl-C), exits 1 and leaves a valid database', async () => {
    const t = await makeTodoDatabase(join(scratch, 'pack-abort'));
    const stopped = await cli(['pack', t.path], { signal: AbortSignal.abort() });
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('stopped when asked to: the database is valid');
    expect((await cli(['verify', t.path])).code).toBe(0);
    expect((await cli(['pack', t.path])).code).toBe(0);
  });

  it('pack draws its progress from the pack events on a terminal', async () => {
    const t = await makeTodoDatabase(join(scratch, 'pack-progress'));
    const packed = await cli(['pack', t.path], { tty: true });
    expect(packed.code).toBe(0);
    expect(packed.stderr).toMatch(/\rpack (mark|copy|done) \[[#.]+\] \d+%/);
    expect(packed.stdout).toMatch(/^packed .*removed 1 unreachable object/);
  });
});

describe('shelfdb undo', () => {
  it('undoes a transaction in a new one, which log marks, and show reads the restored state', async () => {
    const t = await makeTodoDatabase(join(scratch, 'undo'));
    const undone = await cli([
      'undo',
      t.path,
      String(t.dropped),
      '--note',
      'bring b back',
      '--json',
    ]);
    expect(undone.stderr).toBe('');
    expect(undone.code).toBe(0);
    const { undid, tid } = JSON.parse(undone.stdout) as { undid: number; tid: number };
    expect(undid).toBe(t.dropped);
    expect(tid).toBeGreaterThan(t.dropped);

    const project = JSON.parse(
      (await cli(['show', t.path, String(t.projectOid), '--json'])).stdout,
    );
    expect(project).toMatchObject({ tid, fields: { todos: [{ $ref: t.aOid }, { $ref: t.bOid }] } });
    const log = await cli(['log', t.path, '--limit', '2']);
    const [undoing, dropped] = log.stdout.trim().split('\n');
    expect(undoing).toContain(`"bring b back"  (undoes ${t.dropped})`);
    expect(dropped).toContain(`"drop b"  (undone by ${tid})`);
    const json = JSON.parse((await cli(['log', t.path, '--limit', '2', '--json'])).stdout);
    expect(json).toMatchObject([
      { tid, undoes: t.dropped },
      { tid: t.dropped, undoneBy: tid },
    ]);
  });

  it('exits 1 naming the objects when a later transaction changed them again, storing nothing', async () => {
    const t = await makeTodoDatabase(join(scratch, 'undo-conflict'));
    // 'create' wrote the project and 'a', which 'drop b' and 'rename a' changed again.
    const refused = await cli(['undo', t.path, String(t.created), '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({
      error: { name: 'WriteConflictError', exitCode: 1, oids: [t.projectOid, t.aOid] },
    });
    expect(refused.stderr).toContain(`Cannot undo transaction ${t.created}`);
    const [newest] = JSON.parse((await cli(['log', t.path, '--json'])).stdout) as { tid: number }[];
    expect(newest?.tid).toBe(t.dropped);
  });

  it('exits 1 for a transaction that is not there, and 2 for a tid that is not a number', async () => {
    const t = await makeTodoDatabase(join(scratch, 'undo-missing'));
    const missing = await cli(['undo', t.path, '99']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('there is no transaction 99');
    expect((await cli(['undo', t.path, 'last'])).code).toBe(2);
  });
});

describe('shelfdb dump into a slow reader', () => {
  it('waits for room in stdout between batches instead of piling the database up in memory', async () => {
    const path = join(scratch, 'many');
    const db = await openDatabase('many', { storage: 'file', path, classes: CLASSES });
    const conn = db.open();
    const todos = Array.from({ length: 1100 }, (_, i) =>
      Object.assign(new Todo(), { title: `t${i}` }),
    );
    (await conn.root()).set('todos', todos);
    await conn.commit();
    await db.close();

    // A stdout whose buffer is full after every write, and has room again a turn after asked.
    let full = false;
    let writesSinceRoom = 0;
    let mostWritesWhileFull = 0;
    let lines = 0;
    const stdout = {
      write(text: string) {
        lines += text.split('\n').length - 1;
        if (full) mostWritesWhileFull = Math.max(mostWritesWhileFull, ++writesSinceRoom);
        full = true;
      },
      get writableNeedDrain() {
        return full;
      },
      once(_event: 'drain', listener: () => void) {
        setImmediate(() => {
          full = false;
          writesSinceRoom = 0;
          listener();
        });
      },
    };
    const code = await main(['dump', path], { stdout, stderr: { write: () => undefined } });
    expect(code).toBe(0);
    expect(lines).toBe(1101); // the root and every todo, once
    expect(mostWritesWhileFull).toBeLessThanOrEqual(512); // one batch at most
  });
});

import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CorruptStorageError,
  openDatabase,
  ShelfError,
  StorageBusyError,
  StorageError,
} from '../src/index.js';
import { CLASSES, Todo, todo } from './fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-open-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid as number;
}

describe('openDatabase', () => {
  it("uses memory for 'auto' in Node", async () => {
    const db = await openDatabase('auto');
    expect((await db.stats()).storage).toBe('memory');
    await db.close();
  });

  it("keeps a 'file' database in its directory across reopening", async () => {
    const path = join(scratch, 'todos');
    const db = await openDatabase('todos', { storage: 'file', path, classes: CLASSES });
    const conn = db.open();
    const root = await conn.root();
    root.set('list', [todo('a'), todo('b', { done: true })]);
    await conn.commit({ note: 'two' });
    await db.close();
    expect(readdirSync(path).sort()).toContain('seg-000001.log');

    const again = await openDatabase('todos', { storage: 'file', path, classes: CLASSES });
    const c = again.open();
    const list = (await c.root()).get('list') as Todo[];
    const [a, b] = await c.load(...(list as [Todo, Todo]));
    expect([a.title, b.title, b.done]).toEqual(['a', 'b', true]);
    expect((await again.stats()).storage).toBe('file');
    await again.close();
  });

  it('refuses a damaged file database, and opens it with recover, reporting what was dropped', async () => {
    const path = join(scratch, 'damaged');
    const db = await openDatabase('d', { storage: 'file', path });
    const conn = db.open();
    const root = await conn.root();
    for (let i = 0; i < 5; i++) {
      root.set(`k${i}`, i);
      await conn.commit();
    }
    // No close: the process "dies", so there is no checkpoint and opening reads the whole log,
    // and its lock file is left naming a process that is gone.
    writeFileSync(
      join(path, 'shelfdb.lock'),
      JSON.stringify({ pid: await deadPid(), host: hostname() }),
    );
    const file = join(path, 'seg-000001.log');
    const log = readFileSync(file);
    const second = 32 + log.readUInt32LE(32); // after the oid reservation: the first transaction
    log[second + 50] = (log[second + 50] as number) ^ 0xff;
    writeFileSync(file, log);
    const refused = await openDatabase('d', { storage: 'file', path }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CorruptStorageError);
    expect((refused as Error).message).toContain(`seg-000001.log is damaged at byte ${second}`);

    const recovered = await openDatabase('d', { storage: 'file', path, recover: true });
    expect(recovered.recovery?.dropped).toHaveLength(1);
    expect(recovered.recovery?.dropped[0]?.offset).toBe(second);
    const c = recovered.open();
    // The root's creation was the damaged transaction; the later ones, each a root revision, remain.
    expect((await c.root()).get('k4')).toBe(4);
    await recovered.close();
  });

  it("refuses a second open of one 'file' database in one process; the first keeps working, and after it closes the path opens again", async () => {
    const path = join(scratch, 'twice');
    const first = await openDatabase('t', { storage: 'file', path });
    const conn = first.open();
    (await conn.root()).set('n', 1);
    await conn.commit();

    const second = await openDatabase('t', { storage: 'file', path }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(StorageBusyError);
    expect((second as Error).message).toContain(path);
    expect((second as Error).message).toContain(`pid ${process.pid}`);

    (await conn.root()).set('n', 2);
    await conn.commit();
    expect((await first.verify()).ok).toBe(true);
    await first.close();

    const again = await openDatabase('t', { storage: 'file', path });
    expect((await again.open().root()).get('n')).toBe(2);
    await again.close();
  });

  it("refuses a 'file' path that is a regular file with ShelfError naming it, changing nothing", async () => {
    const path = join(scratch, 'a-file');
    writeFileSync(path, 'not a database');
    const refused = await openDatabase('f', { storage: 'file', path }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ShelfError);
    expect((refused as Error).message).toContain(path);
    expect(readFileSync(path, 'utf8')).toBe('not a database');
  });

  it('releases the lock when opening fails, leaving a foreign directory as it was and the path openable', async () => {
    const path = join(scratch, 'foreign');
    mkdirSync(path);
    writeFileSync(join(path, 'notes.txt'), 'mine');
    const refused = await openDatabase('f', { storage: 'file', path }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CorruptStorageError);
    expect(readdirSync(path)).toEqual(['notes.txt']);

    // The refusal released the lock: once the directory is fit, this process can open it.
    rmSync(join(path, 'notes.txt'));
    const db = await openDatabase('f', { storage: 'file', path });
    expect(existsSync(join(path, 'shelfdb.lock'))).toBe(true);
    await db.close();
    expect(existsSync(join(path, 'shelfdb.lock'))).toBe(false);
  });

  it('refuses bad options with clear errors', async () => {
    await expect(openDatabase('')).rejects.toBeInstanceOf(RangeError);
    await expect(openDatabase('x', { cacheSize: 0 })).rejects.toBeInstanceOf(RangeError);
    await expect(openDatabase('x', { storage: 'nope' as never })).rejects.toThrow(
      /unknown storage/,
    );
    await expect(openDatabase('x', { storage: 'file' })).rejects.toThrow(/needs \{ path \}/);
    await expect(openDatabase('x', { path: '/tmp/x' })).rejects.toThrow(
      /path is for storage 'file'/,
    );
    await expect(openDatabase('x', { storage: 'opfs' })).rejects.toBeInstanceOf(StorageError);
    await expect(openDatabase('x', { durability: 'fast' as never })).rejects.toBeInstanceOf(
      RangeError,
    );
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import * as nodeFs from 'node:fs';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { ShelfError, StorageBusyError, StorageError } from '../src/index.js';
import { NodeBlockDirectory } from '../worker/node-file.js';
import type { NodeFs, NodePlatform } from '../worker/node-platform.js';

const LOCK = 'shelfdb.lock';
const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-nodefile-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;
const fresh = (): string => join(scratch, `db-${dirs++}`);

/** Node's own platform, built here so a test can swap one part (the fs, the pid). */
const platform = (overrides: Partial<NodePlatform> = {}): NodePlatform => ({
  fs: nodeFs as unknown as NodeFs,
  join,
  dirname,
  pid: process.pid,
  hostname: hostname(),
  probe: (pid) => process.kill(pid, 0),
  uptime: () => process.uptime(),
  ...overrides,
});

const lockOf = (dir: string): { pid: number; host: string; started: string } =>
  JSON.parse(readFileSync(join(dir, LOCK), 'utf8')) as {
    pid: number;
    host: string;
    started: string;
  };

/** Runs `node` with `args`, resolving when it has exited (and been reaped). */
function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** The pid of a process that has exited: a lock naming it is stale. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await exited(child);
  return child.pid as number;
}

/**
 * A second Node process running the real node-file module: the lock modules transpiled to
 * JavaScript in `scratch`, and a script that opens a directory and reports on stdout.
 */
const holderScript = (() => {
  let script: string | undefined;
  return (): string => {
    if (script !== undefined) return script;
    const out = join(scratch, 'child');
    const sources = [
      'worker/node-file.ts',
      'worker/node-lock-file.ts',
      'worker/node-platform.ts',
      'worker/storage-failures.ts',
      'src/shared/errors.ts',
      ...'blob-folder blob-hash blob-store folder-blob-store node-blob-folder memory-blob-store'
        .split(' ')
        .map((name) => `worker/${name}.ts`),
    ];
    for (const source of sources) {
      const js = ts.transpileModule(readFileSync(source, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      mkdirSync(dirname(join(out, source)), { recursive: true });
      writeFileSync(join(out, source.replace(/\.ts$/, '.js')), js);
    }
    writeFileSync(join(out, 'package.json'), '{ "type": "module" }');
    // The blob store's SHA-256 (@noble/hashes) resolves from the repository's node_modules.
    symlinkSync(resolve('node_modules'), join(out, 'node_modules'), 'dir');
    script = join(out, 'holder.js');
    writeFileSync(
      script,
      `import { NodeBlockDirectory } from './worker/node-file.js';
try {
  const dir = await NodeBlockDirectory.create(process.argv[2]);
  process.stdout.write('locked\\n');
  process.stdin.once('data', async () => {
    await dir.close();
    process.exit(0);
  });
} catch (error) {
  process.stdout.write(\`refused \${error.name}: \${error.message}\\n\`);
  process.exit(0);
}
`,
    );
    return script;
  };
})();

/** Starts a process that opens `dir`; resolves with its first line ("locked" or "refused ..."). */
async function openInChild(dir: string): Promise<{ child: ChildProcess; said: string }> {
  const child = spawn(process.execPath, [holderScript(), dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const said = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`the child exited (${code}) saying: ${stderr}`)));
  });
  return { child, said };
}

describe('NodeBlockDirectory lock file', () => {
  it('refuses a second open of one directory in this process, naming the path and pid, until the first closes', async () => {
    const path = fresh();
    const first = await NodeBlockDirectory.create(path);
    const refused = await NodeBlockDirectory.create(path).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StorageBusyError);
    expect((refused as Error).message).toContain(path);
    expect((refused as Error).message).toContain(`pid ${process.pid}`);
    expect((refused as Error).message).toMatch(/close it before opening it again/);

    const f = await first.open('seg-000001.log'); // the first keeps working
    f.write(0, new Uint8Array([1, 2, 3]));
    f.flush();
    f.close();
    await first.close();
    expect(existsSync(join(path, LOCK))).toBe(false);

    const again = await NodeBlockDirectory.create(path);
    expect([...(await again.open('seg-000001.log')).read(0, 3)]).toEqual([1, 2, 3]);
    await again.close();
  });

  it('gives one directory to exactly one of two opens started together in this process', async () => {
    const path = fresh();
    const results = await Promise.allSettled([
      NodeBlockDirectory.create(path),
      NodeBlockDirectory.create(path),
    ]);
    const opened = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(opened).toHaveLength(1);
    expect(refused.map((r) => (r as PromiseRejectedResult).reason)).toEqual([
      expect.any(StorageBusyError),
    ]);
    await (opened[0] as PromiseFulfilledResult<NodeBlockDirectory>).value.close();
  });

  it('writes its pid, host and start time into the lock file as JSON', async () => {
    const path = fresh();
    const dir = await NodeBlockDirectory.create(path);
    const lock = lockOf(path);
    expect(lock.pid).toBe(process.pid);
    expect(lock.host).toBe(hostname());
    expect(Date.parse(lock.started)).toBeLessThanOrEqual(Date.now());
    await dir.close();
  });

  it('refuses a directory another running process holds, and opens it once that process releases it', async () => {
    const path = fresh();
    const { child, said } = await openInChild(path);
    expect(said).toBe('locked');
    const refused = await NodeBlockDirectory.create(path).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StorageBusyError);
    expect((refused as Error).message).toContain(`open in another process (pid ${child.pid}`);
    expect((refused as Error).message).toContain(join(path, LOCK));

    child.stdin?.write('release\n');
    await exited(child);
    const dir = await NodeBlockDirectory.create(path);
    await dir.close();
  });

  it('is refused in another process while this one holds the directory', async () => {
    const path = fresh();
    const dir = await NodeBlockDirectory.create(path);
    const { child, said } = await openInChild(path);
    expect(said).toMatch(/^refused StorageBusyError: .*open in another process \(pid \d+/);
    expect(said).toContain(`pid ${process.pid}`);
    await exited(child);
    await dir.close();
  });

  it('takes over the lock of a process that was killed while holding it', async () => {
    const path = fresh();
    const { child, said } = await openInChild(path);
    expect(said).toBe('locked');
    child.kill('SIGKILL');
    await exited(child);
    expect(lockOf(path).pid).toBe(child.pid); // left behind: stale

    const dir = await NodeBlockDirectory.create(path);
    expect(lockOf(path).pid).toBe(process.pid);
    await dir.close();
  });

  it('takes over a lock whose pid has exited', async () => {
    const path = fresh();
    mkdirSync(path);
    const pid = await deadPid();
    writeFileSync(join(path, LOCK), JSON.stringify({ pid, host: hostname(), started: 'then' }));
    const dir = await NodeBlockDirectory.create(path);
    expect(lockOf(path).pid).toBe(process.pid);
    await dir.close();
    expect(existsSync(join(path, LOCK))).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['cut short', '{"pid":12'],
    ['not JSON', 'hello'],
    ['JSON without a pid', '{"host":"x"}'],
  ])(
    'refuses a lock file that is %s, saying a process may be taking it and to delete it otherwise',
    async (_what, content) => {
      const path = fresh();
      mkdirSync(path);
      writeFileSync(join(path, LOCK), content);
      const refused = await NodeBlockDirectory.create(path).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(StorageBusyError);
      expect((refused as Error).message).toContain(`delete ${join(path, LOCK)}`);
      expect(readFileSync(join(path, LOCK), 'utf8')).toBe(content); // left as it was

      rmSync(join(path, LOCK));
      await (await NodeBlockDirectory.create(path)).close();
    },
  );

  it('refuses a lock held on another host, whose process cannot be checked from here', async () => {
    const path = fresh();
    mkdirSync(path);
    writeFileSync(join(path, LOCK), JSON.stringify({ pid: 1, host: `not-${hostname()}` }));
    const refused = await NodeBlockDirectory.create(path).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StorageBusyError);
    expect((refused as Error).message).toContain(`pid 1 on not-${hostname()}`);
  });

  describe('with the exact process check of Linux (/proc, faked here)', () => {
    /** Node's fs, with /proc saying: booted as `boot`, process `pid` started at tick `ticks[pid]`. */
    const procFs = (boot: string, ticks: Record<number, number>): NodeFs => ({
      ...(nodeFs as unknown as NodeFs),
      readFileSync(p: string): Uint8Array {
        const enc = (t: string): Uint8Array => new TextEncoder().encode(t);
        if (p === '/proc/sys/kernel/random/boot_id') return enc(`${boot}\n`);
        const pid = /^\/proc\/(\d+)\/stat$/.exec(p)?.[1];
        if (pid !== undefined) {
          const t = ticks[Number(pid)];
          if (t === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
          // Field 22 is the start time; a command name with spaces and ')' must not confuse it.
          return enc(`${pid} (a) b) S ${Array(18).fill('0').join(' ')} ${t} 0 0\n`);
        }
        return nodeFs.readFileSync(p);
      },
    });
    const locked = (owner: object): string => {
      const path = fresh();
      mkdirSync(path);
      writeFileSync(join(path, LOCK), JSON.stringify({ host: hostname(), ...owner }));
      return path;
    };

    it('records the boot and start tick of the owner in the lock file', async () => {
      const path = fresh();
      const fs = procFs('boot-1', { [process.pid]: 500 });
      const dir = await NodeBlockDirectory.create(path, platform({ fs }));
      expect(lockOf(path)).toMatchObject({ pid: process.pid, process: 'boot-1:500' });
      await dir.close();
    });

    it('refuses a second open in this process: same pid, same boot, same start', async () => {
      const fs = procFs('boot-1', { [process.pid]: 500 });
      const path = locked({ pid: process.pid, process: 'boot-1:500' });
      await expect(NodeBlockDirectory.create(path, platform({ fs }))).rejects.toThrow(
        /already open in this process/,
      );
    });

    it('takes over a lock left by an earlier process that had this same pid (a restarted container)', async () => {
      const fs = procFs('boot-1', { [process.pid]: 500 });
      const path = locked({ pid: process.pid, process: 'boot-1:100' });
      await (await NodeBlockDirectory.create(path, platform({ fs }))).close();
    });

    it('takes over a lock from before a reboot, although its pid is alive now', async () => {
      const other = process.pid + 1_000_000;
      const fs = procFs('boot-2', { [process.pid]: 500, [other]: 100 });
      const path = locked({ pid: other, process: 'boot-1:100' });
      const probe = (): void => undefined; // alive
      await (await NodeBlockDirectory.create(path, platform({ fs, probe }))).close();
    });

    it('takes over a lock whose pid now names another process, and refuses one whose owner still runs', async () => {
      const other = process.pid + 1_000_000;
      const fs = procFs('boot-1', { [process.pid]: 500, [other]: 300 });
      const probe = (): void => undefined; // alive
      const reused = locked({ pid: other, process: 'boot-1:100' });
      await (await NodeBlockDirectory.create(reused, platform({ fs, probe }))).close();
      const running = locked({ pid: other, process: 'boot-1:300' });
      await expect(NodeBlockDirectory.create(running, platform({ fs, probe }))).rejects.toThrow(
        `open in another process (pid ${other}`,
      );
    });
  });

  it('gives a stale lock to one of two processes taking it over at the same moment, never both', async () => {
    const path = fresh();
    mkdirSync(path);
    const stale = await deadPid();
    writeFileSync(join(path, LOCK), JSON.stringify({ pid: stale, host: hostname() }));
    // Two fake processes, A and B, both alive. B runs its whole take-over right after A has read
    // the stale lock, so A acts on a lock that B has replaced meanwhile.
    const [a, b] = [process.pid + 1_000_000, process.pid + 1_000_001];
    const probe = (pid: number): void => {
      if (pid !== a && pid !== b) process.kill(pid, 0);
    };
    let interleaved = false;
    const fsOfA: NodeFs = {
      ...(nodeFs as unknown as NodeFs),
      readFileSync(p: string): Uint8Array {
        const bytes = nodeFs.readFileSync(p);
        if (p === join(path, LOCK) && !interleaved) {
          interleaved = true;
          void NodeBlockDirectory.create(path, platform({ pid: b, probe }));
        }
        return bytes;
      },
    };
    const refused = await NodeBlockDirectory.create(path, platform({ pid: a, probe, fs: fsOfA }))
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(interleaved).toBe(true);
    expect(refused).toBeInstanceOf(StorageBusyError);
    expect((refused as Error).message).toContain(`pid ${b}`);
    expect(lockOf(path).pid).toBe(b);
    expect(existsSync(join(path, 'shelfdb.lock.takeover'))).toBe(false);
  });

  it('hides the lock file from list() and refuses to open or remove it', async () => {
    const path = fresh();
    const dir = await NodeBlockDirectory.create(path);
    await (await dir.open('manifest.0')).close();
    expect(await dir.list()).toEqual(['manifest.0']);
    await expect(dir.remove(LOCK)).rejects.toBeInstanceOf(StorageError);
    await expect(dir.open(LOCK)).rejects.toBeInstanceOf(StorageError);
    expect(lockOf(path).pid).toBe(process.pid);
    await dir.close();
  });

  it('closes idempotently, and refuses to open or remove files after closing', async () => {
    const path = fresh();
    const dir = await NodeBlockDirectory.create(path);
    await dir.close();
    await dir.close();
    await expect(dir.open('manifest.0')).rejects.toThrow(/was closed/);
    await expect(dir.remove('manifest.0')).rejects.toThrow(/was closed/);
  });

  it('leaves in place, and reports at close, a lock another process put in its place', async () => {
    const path = fresh();
    const dir = await NodeBlockDirectory.create(path);
    const theirs = JSON.stringify({ pid: 1, host: hostname() });
    writeFileSync(join(path, LOCK), theirs);
    await expect(dir.close()).rejects.toThrow(/was replaced while this process/);
    expect(readFileSync(join(path, LOCK), 'utf8')).toBe(theirs);
  });
});

describe('NodeBlockDirectory paths', () => {
  it('refuses a path that is a regular file with ShelfError naming it, changing nothing', async () => {
    const path = join(fresh() + '.txt');
    writeFileSync(path, 'mine');
    const refused = await NodeBlockDirectory.create(path).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ShelfError);
    expect((refused as Error).message).toContain(`${path} is not a directory`);
    expect(readFileSync(path, 'utf8')).toBe('mine');
    expect(existsSync(`${path}/${LOCK}`)).toBe(false);
  });

  it('refuses a path under a regular file with ShelfError', async () => {
    const file = fresh();
    writeFileSync(file, 'mine');
    const refused = await NodeBlockDirectory.create(join(file, 'db')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ShelfError);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });

  it('creates missing directories on the way', async () => {
    const path = join(fresh(), 'a', 'b');
    const dir = await NodeBlockDirectory.create(path);
    expect(await dir.list()).toEqual([]);
    await dir.close();
  });
});

describe('NodeBlockDirectory durability of names', () => {
  /** Node's fs, recording each fsync by the path it was opened from. */
  function recordingFs(log: string[]): NodeFs {
    const real = nodeFs as unknown as NodeFs;
    const paths = new Map<number, string>();
    return {
      ...real,
      openSync(p: string, flags: string): number {
        const fd = real.openSync(p, flags);
        paths.set(fd, p);
        return fd;
      },
      fsyncSync(fd: number): void {
        real.fsyncSync(fd);
        log.push(`fsync ${paths.get(fd)}`);
      },
      rmSync(p: string, options: { force: true }): void {
        real.rmSync(p, options);
        log.push(`rm ${p}`);
      },
    };
  }

  it('fsyncs the directory after creating a file and after removing one, not after reopening one', async () => {
    const path = fresh();
    const log: string[] = [];
    const dir = await NodeBlockDirectory.create(path, platform({ fs: recordingFs(log) }));
    log.length = 0;
    const f = await dir.open('seg-000001.log');
    expect(log).toEqual([`fsync ${path}`]);
    f.close();
    log.length = 0;
    (await dir.open('seg-000001.log')).close();
    expect(log).toEqual([]); // the name was there already
    await dir.remove('seg-000001.log');
    expect(log).toEqual([`rm ${join(path, 'seg-000001.log')}`, `fsync ${path}`]);
    await dir.close();
  });

  it('fsyncs the lock file and the directory when taking and releasing the lock, and the parent of a new directory', async () => {
    const path = fresh();
    const log: string[] = [];
    const dir = await NodeBlockDirectory.create(path, platform({ fs: recordingFs(log) }));
    expect(log).toEqual([`fsync ${scratch}`, `fsync ${join(path, LOCK)}`, `fsync ${path}`]);
    log.length = 0;
    await dir.close();
    expect(log).toEqual([`fsync ${path}`]);
  });

  it('skips the directory fsync where the platform cannot do it (Windows: EISDIR, EPERM), and reports other failures', async () => {
    const fail = (code: string): NodeFs => ({
      ...(nodeFs as unknown as NodeFs),
      fsyncSync(fd: number): void {
        if (nodeFs.fstatSync(fd).isDirectory()) {
          throw Object.assign(new Error(`${code}: fsync of a directory`), { code });
        }
        nodeFs.fsyncSync(fd);
      },
    });
    for (const code of ['EISDIR', 'EPERM', 'EINVAL']) {
      const dir = await NodeBlockDirectory.create(fresh(), platform({ fs: fail(code) }));
      (await dir.open('manifest.0')).close();
      await dir.remove('manifest.0');
      await dir.close();
    }
    const path = fresh();
    mkdirSync(path);
    const eio = await NodeBlockDirectory.create(path, platform({ fs: fail('EIO') })).catch(
      (e: unknown) => e,
    );
    expect((eio as { code?: string }).code).toBe('EIO');
  });

  it('reports a full disk while taking the lock as StorageFullError, keeping the code, and leaves no lock file', async () => {
    const path = fresh();
    mkdirSync(path);
    const full: NodeFs = {
      ...(nodeFs as unknown as NodeFs),
      writeSync(): number {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), {
          code: 'ENOSPC',
        });
      },
    };
    const refused = await NodeBlockDirectory.create(path, platform({ fs: full })).catch(
      (e: unknown) => e,
    );
    expect((refused as Error).name).toBe('StorageFullError');
    expect((refused as { code?: string }).code).toBe('ENOSPC');
    expect(existsSync(join(path, LOCK))).toBe(false);
  });
});

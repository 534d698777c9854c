/**
 * The lock file that keeps a Node 'file' database served by one process at a time.
 *
 * `shelfdb.lock` in the database directory holds its owner as JSON:
 *   { "pid": 4242, "host": "box", "started": "2026-11-30T11:12:24.000Z", "process": "<boot id>:<ticks>" }
 * `started` is when the owning process started (for people reading the file); `process`, on Linux
 * only, names that process exactly (the kernel's boot id and the process's start time in clock
 * ticks from /proc), so a pid reused by another process, or a lock left before a reboot, is told
 * apart from the owner.
 *
 * Taking the lock is one exclusive create (`wx`: O_CREAT|O_EXCL), so of two processes at once
 * exactly one gets it. The invariants:
 * - A lock whose owner is alive — another process, or this very process (a second open in one
 *   process) — is never taken: StorageBusyError.
 * - A lock whose owner is certainly dead (same host, and `process.kill(pid, 0)` says ESRCH, or on
 *   Linux the pid now belongs to another process or the machine rebooted since) is stale: taken
 *   over. A lock from another host is never judged: its process cannot be checked from here.
 * - A lock file that is empty or not our JSON is refused, not taken over. Between a process's
 *   exclusive create and its write of the JSON there is a moment when the file is empty; taking
 *   over then would give the database two owners (two cluster workers starting together). The same
 *   file is left by a crash in that moment — rare, and the message says to delete it.
 * - Taking over a stale lock removes a file another process may be removing and re-creating at the
 *   same moment; removing by name cannot check whose file it removes. So a take-over runs under a
 *   second exclusive file, `shelfdb.lock.takeover`, re-reads the lock under it and removes the lock
 *   only if it still holds the very bytes judged stale; then the lock is created exclusively again.
 * - The lock is released (removed) only by its owner, and only while it still holds its bytes.
 */
import { StorageBusyError, StorageError } from '../src/shared/errors.js';
import {
  errorCode,
  openingError,
  syncDirectory,
  type NodeFs,
  type NodePlatform,
} from './node-platform.js';

export const LOCK_NAME = 'shelfdb.lock';
export const TAKEOVER_NAME = 'shelfdb.lock.takeover';

/** What a lock file says about its owner. */
interface Owner {
  pid: number;
  host: string;
  started?: string;
  process?: string;
}

export class LockFile {
  /** The exact bytes this owner wrote; the file is ours only while it holds them. */
  private readonly content: Uint8Array;
  private released = false;

  private constructor(
    private readonly platform: NodePlatform,
    /** The database directory. */
    private readonly dir: string,
    content: Uint8Array,
  ) {
    this.content = content;
  }

  /**
   * Takes the lock of the database directory `dir` for this process.
   * @throws StorageBusyError when another owner (or this process) holds it, naming the file, the
   *   owner's pid and what to do; StorageFullError or StorageError when the file cannot be made.
   */
  static acquire(platform: NodePlatform, dir: string): LockFile {
    const { fs } = platform;
    const path = platform.join(dir, LOCK_NAME);
    const content = new TextEncoder().encode(JSON.stringify(identify(platform)));
    // Each round either takes the lock, refuses, or removes one stale lock; a third process
    // taking the lock in between makes the next round refuse. Three rounds end any race.
    for (let round = 0; round < 3; round++) {
      let fd: number;
      try {
        fd = fs.openSync(path, 'wx');
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw openingError(error, `the lock file ${path}`);
        const found = readIfThere(fs, path);
        if (found === undefined) continue; // released meanwhile: try again
        const owner = parseOwner(found);
        if (owner === undefined || !isStale(platform, owner)) {
          throw busy(platform, dir, path, owner, found.byteLength === 0);
        }
        takeOver(platform, dir, path, found, owner);
        continue;
      }
      try {
        try {
          writeAll(fs, fd, content);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        syncDirectory(fs, dir);
      } catch (error) {
        // The file is ours, and empty, partial or not durable: remove it so that it does not
        // block the next open (this process's pid would hold it).
        fs.rmSync(path, { force: true });
        throw openingError(error, `the lock file ${path}`);
      }
      const lock = new LockFile(platform, dir, content);
      lock.removeDeadTakeover();
      return lock;
    }
    throw new StorageBusyError(
      `Cannot take the lock file ${path}: other processes are opening the database at ${dir} at the same moment. Open it again in a moment.`,
    );
  }

  /** Removes the lock file, if it is still ours. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const path = this.platform.join(this.dir, LOCK_NAME);
    const found = readIfThere(this.platform.fs, path);
    if (found === undefined) return; // deleted by hand while open: nothing left to release
    if (!sameBytes(found, this.content)) {
      throw new StorageError(
        `The lock file ${path} was replaced while this process had the database at ${this.dir} open: another process may have written to it at the same time. It was left in place. Run db.verify() (or npx shelfdb verify) on the database.`,
      );
    }
    this.platform.fs.unlinkSync(path);
    syncDirectory(this.platform.fs, this.dir);
  }

  /**
   * Removes a take-over file left by a process that died during its take-over (a moment's
   * window), which would make every later take-over refuse. Safe while we hold the lock: a
   * take-over only removes the lock when it still holds the stale bytes, never ours, and nobody
   * else removes take-over files while we hold the lock.
   */
  private removeDeadTakeover(): void {
    const { fs } = this.platform;
    const path = this.platform.join(this.dir, TAKEOVER_NAME);
    const found = readIfThere(fs, path);
    if (found === undefined) return;
    const owner = parseOwner(found);
    if (owner !== undefined && !isStale(this.platform, owner)) return; // running: it cleans up
    fs.rmSync(path, { force: true });
    syncDirectory(fs, this.dir);
  }
}

function takeOver(
  platform: NodePlatform,
  dir: string,
  path: string,
  stale: Uint8Array,
  owner: Owner,
): void {
  const { fs } = platform;
  const guard = platform.join(dir, TAKEOVER_NAME);
  let fd: number;
  try {
    fd = fs.openSync(guard, 'wx');
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw openingError(error, `the file ${guard}`);
    throw new StorageBusyError(
      `The database at ${dir} has a stale lock (pid ${owner.pid} is gone), and another process is taking it over at this moment (${guard} exists). Open it again in a moment. If it is still refused and no process uses the database, delete ${guard}.`,
    );
  }
  try {
    try {
      writeAll(fs, fd, new TextEncoder().encode(JSON.stringify(identify(platform))));
    } finally {
      fs.closeSync(fd);
    }
    const now = readIfThere(fs, path);
    if (now !== undefined && sameBytes(now, stale)) fs.rmSync(path, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/** Who we are, as written into the lock file. */
function identify(platform: NodePlatform): Owner {
  const owner: Owner = {
    pid: platform.pid,
    host: platform.hostname,
    started: new Date(Date.now() - platform.uptime() * 1000).toISOString(),
  };
  const exact = processStart(platform.fs, platform.pid);
  if (exact !== undefined) owner.process = exact;
  return owner;
}

/**
 * On Linux, "<boot id>:<start time in clock ticks since boot>" of process `pid`: the same only for
 * the same process of the same boot. Undefined elsewhere, or when the process is gone.
 */
function processStart(fs: NodeFs, pid: number): string | undefined {
  try {
    const boot = new TextDecoder().decode(fs.readFileSync('/proc/sys/kernel/random/boot_id'));
    const stat = new TextDecoder().decode(fs.readFileSync(`/proc/${pid}/stat`));
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count fields after
    // the last ')'. starttime is field 22; the text after ')' starts with field 3.
    const ticks = stat
      .slice(stat.lastIndexOf(')') + 1)
      .trim()
      .split(/\s+/)[19];
    return ticks === undefined || !/^\d+$/.test(ticks) ? undefined : `${boot.trim()}:${ticks}`;
  } catch {
    // Not Linux, /proc not mounted, or no such process: the exact check is unavailable and the
    // pid alone decides (see isStale).
    return undefined;
  }
}

/** True when the owner is certainly dead, so its lock may be taken over. */
function isStale(platform: NodePlatform, owner: Owner): boolean {
  if (owner.host !== platform.hostname) return false; // cannot check a process on another host
  const ours = processStart(platform.fs, platform.pid);
  const bootOf = (p: string): string => p.slice(0, p.lastIndexOf(':'));
  if (owner.process !== undefined && ours !== undefined) {
    if (bootOf(owner.process) !== bootOf(ours)) return true; // the machine rebooted since
  }
  if (owner.pid === platform.pid) {
    // Our own pid: this process holds the lock (a second open), unless the exact check shows a
    // previous process that had the same pid (a restarted container's pid 1).
    return owner.process !== undefined && ours !== undefined && owner.process !== ours;
  }
  try {
    platform.probe(owner.pid);
  } catch (error) {
    if (errorCode(error) === 'ESRCH') return true;
    if (errorCode(error) !== 'EPERM') throw error; // EPERM: alive, owned by another user
  }
  if (owner.process === undefined) return false;
  const now = processStart(platform.fs, owner.pid);
  return now !== undefined && now !== owner.process; // the pid now names another process
}

function parseOwner(bytes: Uint8Array): Owner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined; // not our JSON: the caller refuses the lock (see the module comment)
  }
  const o = value as Partial<Record<keyof Owner, unknown>> | null;
  if (typeof o !== 'object' || o === null) return undefined;
  if (typeof o.pid !== 'number' || !Number.isSafeInteger(o.pid) || o.pid <= 0) return undefined;
  if (typeof o.host !== 'string') return undefined;
  const owner: Owner = { pid: o.pid, host: o.host };
  if (typeof o.started === 'string') owner.started = o.started;
  if (typeof o.process === 'string' && o.process.includes(':')) owner.process = o.process;
  return owner;
}

function busy(
  platform: NodePlatform,
  dir: string,
  path: string,
  owner: Owner | undefined,
  empty: boolean,
): StorageBusyError {
  const del = `If no process uses the database, delete ${path} and open it again.`;
  if (owner === undefined) {
    return new StorageBusyError(
      `The database at ${dir} is locked by ${path}, which is ${empty ? 'empty' : 'not a shelfdb lock'}: another process is taking the lock at this moment, or one crashed while taking it. Open it again in a moment. ${del}`,
    );
  }
  const since = owner.started === undefined ? '' : `, started ${owner.started}`;
  if (owner.host !== platform.hostname) {
    return new StorageBusyError(
      `The database at ${dir} is open on another host: its lock file ${path} names pid ${owner.pid} on ${owner.host}${since}. A database is served by one process at a time. ${del}`,
    );
  }
  if (owner.pid === platform.pid) {
    return new StorageBusyError(
      `The database at ${dir} is already open in this process (pid ${owner.pid}; lock file ${path}). Use that Database (db.open() gives more connections), or close it before opening it again.`,
    );
  }
  return new StorageBusyError(
    `The database at ${dir} is open in another process (pid ${owner.pid}${since}; lock file ${path}). A database is served by one process at a time: close it there, or reach it through that process. If that process is not a shelfdb user of this database, delete ${path} and open it again.`,
  );
}

function readIfThere(fs: NodeFs, path: string): Uint8Array | undefined {
  try {
    return fs.readFileSync(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

function writeAll(fs: NodeFs, fd: number, data: Uint8Array): void {
  for (let done = 0; done < data.byteLength;) {
    done += fs.writeSync(fd, data, done, data.byteLength - done, done);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

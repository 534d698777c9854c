/**
 * FaultDirectory: a BlockDirectory in memory that fails or "crashes" at a chosen operation, for the
 * fault-injection harness (fault-injection.test.ts).
 *
 * Operations counted: every `write`, `flush` and `truncate` of a handle, every `open` and `remove`,
 * and `list`. (`read`, `size` and `close` are not counted: they change nothing on disk.) Counting
 * starts at `arm()`; the plan names the Nth operation of all kinds, or of one kind.
 *
 * - FAIL: that one operation throws as the platform would — for a `write` or `truncate` that grows
 *   the file an error named `QuotaExceededError` (a DOMException in the browser), otherwise an
 *   `Error` with `code: 'EIO'` (`error: 'eio'` forces EIO for growing writes too). A failing write
 *   may have written a prefix of its bytes (length chosen by the seed) before throwing; a failing
 *   truncate, flush, open, remove or list changes nothing. Every later operation works.
 * - CRASH: that operation does not complete (a crashing write may have put a prefix of its bytes
 *   in the page cache, like any unflushed write) and from then on every operation — reads too —
 *   throws: the process is gone. `crashImage(model)` is the directory a fresh process finds after
 *   the power loss.
 *
 * The crash model, per file: the bytes as of the file's last successful flush are durable; what was
 * written or truncated since is
 *   - 'lost': gone, the file is as at its last flush;
 *   - 'kept': all there (the OS wrote its cache back);
 *   - 'torn-old': kept up to a byte chosen by the seed within the changed span, and as at the last
 *     flush after it (a write torn mid-way, old sectors beyond);
 *   - 'torn-zeros': kept up to that byte; after it, to the end of the changed span, as at the last
 *     flush where the file had bytes and zeros past its old end (the new size reached the disk,
 *     the data did not);
 *   - 'mixed': each file picks one of the four above (files are written back independently).
 * A flush that fails makes nothing durable.
 *
 * Double faults: a plan's `then` injects a second fault after the first FAIL — at the `after`-th
 * operation following it (of `kind`, on `file`, when given): a partial batch write whose undo
 * (truncate, flush) fails too, a failed publish whose slot invalidation fails, a crash right
 * after a failed operation. `secondInjected` says where it hit.
 *
 * Directory entries: creating a file (`open` of a new name) and `remove` are durable at once — the
 * simplest model. Real directories need an fsync of the directory for that (the Node directory
 * engineer is adding it); until then this model is optimistic about creates and removes.
 *
 * Files outlive their handles (like MemoryBlockDirectory): a handle is a view onto the file, and a
 * removed file stays readable and writable through handles still open to it, detached from the
 * directory (POSIX unlink; OPFS refuses the remove instead). With `exclusive`, a second `open` of a
 * file that has an open handle throws `NoModificationAllowedError`, as OPFS's sync access handles
 * do. Using a closed handle throws `InvalidStateError`, as OPFS does.
 *
 * Blob files (`blobStore()`): a MemoryBlobFolder whose operations count and fail like the files',
 * named `blobs/<path>`: a blob write is a growing 'write', a flush a 'flush', creating a temporary
 * an 'open', publishing one under its hash an 'open' of that name (a rename: the new name appears
 * whole, durable at once like every directory entry here), a removal a 'remove', a walk a 'list';
 * reads are not counted but fail after a crash. In a crash image a blob file keeps what its last
 * flush made durable (everything, under 'kept'). `list()` does not show them, as the real
 * directories hide their `blobs` folder.
 *
 * Deterministic: the same seed, plan and calls give the same bytes and errors.
 */
import type { BlobStore } from '../worker/blob-store.js';
import type { BlockDirectory, BlockFile } from '../worker/block-file.js';
import { FolderBlobStore } from '../worker/folder-blob-store.js';
import { MemoryBlobFolder, type BlobFolderOp } from '../worker/memory-blob-folder.js';
import { Rng } from './rng.js';

export { Rng };

export type FaultOp = 'write' | 'flush' | 'truncate' | 'open' | 'remove' | 'list';
export const FAULT_OPS: readonly FaultOp[] = [
  'write',
  'flush',
  'truncate',
  'open',
  'remove',
  'list',
];

export type CrashModel = 'lost' | 'torn-old' | 'torn-zeros' | 'kept' | 'mixed';
export const CRASH_MODELS: readonly CrashModel[] = [
  'lost',
  'torn-old',
  'torn-zeros',
  'kept',
  'mixed',
];

export interface FaultPlan {
  /**
   * The operation to hit, counted from 1 after `arm()` — among operations of `kind` only, and on
   * files whose name starts with `file` only, when given.
   */
  at: number;
  kind?: FaultOp;
  file?: string;
  action: 'fail' | 'crash';
  /** 'platform' (default): quota for growing writes and truncates, EIO otherwise. */
  error?: 'platform' | 'eio';
  /** A second fault after the first one (which should be a FAIL): see the header. */
  then?: SecondFault;
}

/** The second fault of a double-fault plan, counted from the operation after the first fault. */
export interface SecondFault {
  after: number;
  kind?: FaultOp;
  file?: string;
  action: 'fail' | 'crash';
  error?: 'platform' | 'eio';
}

/** What was injected, for messages. */
export interface Injected {
  action: 'fail' | 'crash';
  op: FaultOp;
  /** The file or directory entry operated on. */
  name: string;
  /** The operation's number among all operations since `arm()`. */
  index: number;
  /** A FAIL was retried: the same operation on the same file succeeded after it. */
  retried?: boolean;
  /** For a write: how many of its bytes reached the file. */
  partial?: number;
}

/** One file's content (the inode): what the process sees, and what survived the last flush. */
class FaultInode {
  current: Uint8Array;
  durable: Uint8Array;
  /** The span changed since the last flush: [dirtyFrom, dirtyTo) (dirtyFrom Infinity: none). */
  dirtyFrom = Infinity;
  dirtyTo = 0;
  /** Open handles. */
  handles = 0;
  constructor(content: Uint8Array) {
    this.current = content.slice();
    this.durable = content.slice();
  }
}

/** A platform-like error: `name` as a DOMException has it, `code` as Node's fs errors have it. */
function platformError(name: string, code: string | undefined, message: string): Error {
  const error = new Error(message) as Error & { code?: string };
  error.name = name;
  if (code !== undefined) error.code = code;
  return error;
}

export class FaultDirectory implements BlockDirectory {
  private readonly inodes = new Map<string, FaultInode>();
  private readonly rng: Rng;
  private readonly exclusive: boolean;
  private plan: FaultPlan | undefined;
  /** Operations since `arm()`, in all and per kind. */
  operations = 0;
  readonly counts: Record<FaultOp, number> = {
    write: 0,
    flush: 0,
    truncate: 0,
    open: 0,
    remove: 0,
    list: 0,
  };
  /** Per operation since `arm()`: whether it was a write or truncate growing its file. */
  readonly grows: boolean[] = [];
  /** Per operation since `arm()`: its kind. */
  readonly kinds: FaultOp[] = [];
  /** The fault injected since `arm()`, if it was reached. */
  injected: Injected | undefined;
  /** The second fault of a double-fault plan, if it was reached. */
  secondInjected: Injected | undefined;
  /** Set once crashed: every operation throws. */
  crashed = false;
  /** Successful flushes per file name (since creation of the directory object). */
  private readonly flushes = new Map<string, number>();
  private images = 0;
  /** Operations matching the plan's kind and file so far. */
  private planned = 0;
  /** Operations matching the second fault's kind and file since the first fault. */
  private plannedSecond = 0;
  /** The blob files (tests read and damage them here; paths inside the `blobs` folder). */
  readonly blobs: MemoryBlobFolder;

  constructor(
    readonly seed: number,
    options: {
      exclusive?: boolean;
      files?: Map<string, Uint8Array>;
      blobs?: MemoryBlobFolder;
    } = {},
  ) {
    this.rng = new Rng(seed);
    this.exclusive = options.exclusive ?? false;
    this.blobs = options.blobs ?? new MemoryBlobFolder();
    this.blobs.fault = (op, path, write) => this.blobStep(op, `blobs/${path}`, write);
    for (const [name, content] of options.files ?? []) {
      this.inodes.set(name, new FaultInode(content));
    }
  }

  /** Starts counting operations from zero, with `plan` to inject (none: only count). */
  arm(plan?: FaultPlan): void {
    this.plan = plan;
    this.operations = 0;
    for (const op of FAULT_OPS) this.counts[op] = 0;
    this.grows.length = 0;
    this.kinds.length = 0;
    this.planned = 0;
    this.plannedSecond = 0;
    this.injected = undefined;
    this.secondInjected = undefined;
  }

  /** Crashes now (no operation in flight): every later operation throws. */
  crash(): void {
    this.crashed = true;
  }

  /** Successful flushes of the files whose name starts with `prefix`. */
  flushCount(prefix = ''): number {
    let n = 0;
    for (const [name, count] of this.flushes) if (name.startsWith(prefix)) n += count;
    return n;
  }

  /** Names of the files with open handles, one per handle. */
  openHandles(): string[] {
    const out: string[] = [];
    for (const [name, inode] of this.inodes) for (let i = 0; i < inode.handles; i++) out.push(name);
    return out;
  }

  /** The current content of every file (what the running process sees). */
  contents(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const [name, inode] of [...this.inodes].sort(([a], [b]) => (a < b ? -1 : 1)))
      out.set(name, inode.current.slice());
    return out;
  }

  /**
   * The directory as a fresh process finds it after a power loss now (see the header for the
   * models): a new, unarmed FaultDirectory whose every byte is durable. Each call draws its torn
   * positions and mixed choices from the seed and the number of images taken before.
   */
  crashImage(model: CrashModel): FaultDirectory {
    const rng = new Rng((this.seed ^ Math.imul(++this.images, 0x9e3779b1)) >>> 0);
    const files = new Map<string, Uint8Array>();
    for (const [name, inode] of this.inodes) {
      const m =
        model === 'mixed'
          ? rng.pick(['lost', 'torn-old', 'torn-zeros', 'kept'] as const)
          : (model as Exclude<CrashModel, 'mixed'>);
      files.set(name, imageOf(inode, m, rng));
    }
    const blobs = this.blobs.crashImage(model === 'kept');
    return new FaultDirectory(rng.int(1, 2 ** 31), { exclusive: this.exclusive, files, blobs });
  }

  // ─── BlockDirectory ───────────────────────────────────────────────────────

  async open(name: string): Promise<BlockFile> {
    this.step('open', name, 0);
    let inode = this.inodes.get(name);
    if (inode !== undefined && this.exclusive && inode.handles > 0) {
      throw platformError(
        'NoModificationAllowedError',
        undefined,
        `FaultDirectory: ${name} already has an open handle (exclusive, as OPFS).`,
      );
    }
    if (inode === undefined) {
      inode = new FaultInode(new Uint8Array(0));
      this.inodes.set(name, inode);
    }
    inode.handles++;
    return new FaultHandle(this, inode, name);
  }

  async list(): Promise<string[]> {
    this.step('list', '(directory)', 0);
    return [...this.inodes.keys()];
  }

  async remove(name: string): Promise<void> {
    this.step('remove', name, 0);
    this.inodes.delete(name);
  }

  async blobStore(): Promise<BlobStore> {
    return new FolderBlobStore(this.blobs);
  }

  // ─── what handles call ────────────────────────────────────────────────────

  /** A blob folder operation, counted as the header says. */
  private blobStep(
    op: BlobFolderOp,
    name: string,
    write?: { bytes: number; partial(length: number): void },
  ): void {
    if (op === 'read') return this.checkAlive(name);
    if (write !== undefined) return this.step('write', name, write.bytes, write.partial, true);
    if (op === 'flush') {
      this.step('flush', name, 0);
      return this.flushed(name);
    }
    this.step(op === 'create' || op === 'publish' ? 'open' : op, name, 0);
  }

  /**
   * Counts one operation and injects the planned fault when it is reached. Returns normally when
   * the operation may go ahead; throws otherwise. `partialOf` is the length of a write (a failing or
   * crashing write applies a prefix of it first, through `applyPartial`).
   */
  step(
    op: FaultOp,
    name: string,
    partialOf: number,
    applyPartial?: (length: number) => void,
    grows = false,
  ): void {
    this.checkAlive(name);
    this.operations++;
    this.counts[op]++;
    this.grows.push(grows);
    this.kinds.push(op);
    const plan = this.plan;
    if (this.injected !== undefined) {
      const then = plan?.then;
      if (
        then !== undefined &&
        this.secondInjected === undefined &&
        (then.kind === undefined || then.kind === op) &&
        (then.file === undefined || name.startsWith(then.file)) &&
        ++this.plannedSecond === then.after
      ) {
        this.secondInjected = { action: then.action, op, name, index: this.operations };
        this.inject(this.secondInjected, then, partialOf, applyPartial, grows);
      }
      if (this.injected.op === op && this.injected.name === name) this.injected.retried = true;
      return;
    }
    if (plan === undefined) return;
    if (plan.kind !== undefined && plan.kind !== op) return;
    if (plan.file !== undefined && !name.startsWith(plan.file)) return;
    if (++this.planned !== plan.at) return;
    this.injected = { action: plan.action, op, name, index: this.operations };
    this.inject(this.injected, plan, partialOf, applyPartial, grows);
  }

  /** Applies a fault: a partial write, a crash, and the platform's error for the operation. */
  private inject(
    injected: Injected,
    plan: { action: 'fail' | 'crash'; error?: 'platform' | 'eio' },
    partialOf: number,
    applyPartial: ((length: number) => void) | undefined,
    grows: boolean,
  ): never {
    const { op, name } = injected;
    if (op === 'write' && partialOf > 0) {
      injected.partial = this.rng.int(0, partialOf - 1);
      applyPartial?.(injected.partial);
    }
    if (plan.action === 'crash') {
      this.crashed = true;
      this.checkAlive(name);
    }
    if (grows && plan.error !== 'eio') {
      throw platformError(
        'QuotaExceededError',
        undefined,
        `FaultDirectory: quota exceeded writing ${name} (injected at operation ${injected.index}).`,
      );
    }
    throw platformError(
      'Error',
      'EIO',
      `EIO: i/o error, ${op} ${name} (injected at operation ${injected.index})`,
    );
  }

  checkAlive(name: string): void {
    if (this.crashed) {
      throw platformError(
        'Error',
        'EIO',
        `FaultDirectory: the process crashed; ${name} cannot be used (injected at operation ${this.injected?.index ?? 'end'}).`,
      );
    }
  }

  flushed(name: string): void {
    this.flushes.set(name, (this.flushes.get(name) ?? 0) + 1);
  }
}

/** A handle onto one file; the file outlives it. */
class FaultHandle implements BlockFile {
  private closed = false;
  constructor(
    private readonly dir: FaultDirectory,
    private readonly inode: FaultInode,
    private readonly name: string,
  ) {}

  read(offset: number, length: number): Uint8Array {
    this.check('read');
    const bytes = this.inode.current;
    const end = Math.min(bytes.byteLength, offset + length);
    return bytes.slice(Math.min(offset, end), end);
  }

  write(offset: number, data: Uint8Array): void {
    this.check('write');
    const grows = offset + data.byteLength > this.inode.current.byteLength;
    this.dir.step(
      'write',
      this.name,
      data.byteLength,
      (length) => this.apply(offset, data.subarray(0, length)),
      grows,
    );
    this.apply(offset, data);
  }

  size(): number {
    this.check('size');
    return this.inode.current.byteLength;
  }

  truncate(size: number): void {
    this.check('truncate');
    this.dir.step('truncate', this.name, 0, undefined, size > this.inode.current.byteLength);
    const inode = this.inode;
    const next = new Uint8Array(size);
    next.set(inode.current.subarray(0, Math.min(size, inode.current.byteLength)));
    inode.dirtyFrom = Math.min(inode.dirtyFrom, Math.min(size, inode.current.byteLength));
    inode.dirtyTo = Math.max(inode.dirtyTo, size, inode.current.byteLength);
    inode.current = next;
  }

  flush(): void {
    this.check('flush');
    this.dir.step('flush', this.name, 0);
    this.inode.durable = this.inode.current.slice();
    this.inode.dirtyFrom = Infinity;
    this.inode.dirtyTo = 0;
    this.dir.flushed(this.name);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inode.handles--;
  }

  private apply(offset: number, data: Uint8Array): void {
    const inode = this.inode;
    const end = offset + data.byteLength;
    if (end > inode.current.byteLength) {
      const grown = new Uint8Array(end);
      grown.set(inode.current);
      inode.current = grown;
    }
    inode.current.set(data, offset);
    if (data.byteLength > 0) {
      inode.dirtyFrom = Math.min(inode.dirtyFrom, offset);
      inode.dirtyTo = Math.max(inode.dirtyTo, end);
    }
  }

  private check(what: string): void {
    this.dir.checkAlive(this.name);
    if (this.closed) {
      throw platformError(
        'InvalidStateError',
        undefined,
        `FaultDirectory: ${what} on ${this.name} after its handle was closed.`,
      );
    }
  }
}

/** One file after a power loss under `model`. */
function imageOf(inode: FaultInode, model: Exclude<CrashModel, 'mixed'>, rng: Rng): Uint8Array {
  const { current, durable } = inode;
  if (model === 'kept' || inode.dirtyFrom === Infinity) return current.slice();
  if (model === 'lost') return durable.slice();
  const from = Math.min(inode.dirtyFrom, current.byteLength);
  const to = Math.min(inode.dirtyTo, current.byteLength);
  const p = rng.int(from, to);
  if (model === 'torn-zeros') {
    // The new size reached the disk: blocks past the old end read as zeros, old blocks as before.
    const out = current.slice();
    out.fill(0, p, to);
    out.set(durable.subarray(p, Math.min(to, durable.byteLength)), p);
    return out;
  }
  const out = new Uint8Array(Math.max(p, durable.byteLength));
  out.set(durable);
  out.set(current.subarray(0, p));
  return out;
}

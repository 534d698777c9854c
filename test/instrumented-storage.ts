/**
 * InstrumentedStorage records every call that reaches a storage and checks that it is well-formed:
 * the owner must never execute an invalid call from a channel, nor a close nobody asked for.
 * `invalidCall` says what a correct page or owner would never send.
 */
import { isBlobHash } from '../src/shared/blob-record.js';
import { MAX_BATCH } from '../worker/commit-checks.js';
import type {
  BlobInfo,
  CommitRequest,
  Invalidation,
  LoadedRecord,
  PackOptions,
  PackResult,
  RecoveryReport,
  RevisionInfo,
  Storage,
  StorageStats,
  SyncResult,
  Tid,
  TransactionInfo,
  VerifyReport,
} from '../src/shared/storage.js';
import type { OpenStorage, OwnerLedger } from './tab-chaos.js';

const isOid = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0;
const isTid = isOid;
const isOptTid = (x: unknown): boolean => x === undefined || isTid(x);
/** A limit: a count, or Infinity for none (worker/call-checks.ts accepts it so). */
const isLimit = (x: unknown): boolean =>
  x === Infinity || (Number.isSafeInteger(x) && (x as number) >= 0);
const isObj = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const isOidArray = (x: unknown): boolean =>
  Array.isArray(x) && x.length <= MAX_BATCH && x.every(isOid);

/** Why a storage call is not one a correct page or owner would make; undefined if it is. */
export function invalidCall(method: string, args: unknown[]): string | undefined {
  const bad = (what: string): string => `${method}(${describe(args)}): ${what}`;
  switch (method) {
    case 'load':
      if (!isOidArray(args[0])) return bad('oids are not an array of integer oids');
      if (!isOptTid(args[1])) return bad('atTid is not an integer tid');
      return undefined;
    case 'newOids':
      if (
        !Number.isSafeInteger(args[0]) ||
        (args[0] as number) < 0 ||
        (args[0] as number) > MAX_BATCH
      )
        return bad('count is not a bounded integer');
      return undefined;
    case 'commit': {
      const txn = args[0];
      if (!isObj(txn)) return bad('no request');
      if (!isTid(txn.baseTid)) return bad('baseTid is not an integer tid');
      if (!Array.isArray(txn.records) || txn.records.length > MAX_BATCH)
        return bad('records is not a bounded array');
      for (const r of txn.records as unknown[]) {
        if (!isObj(r) || !isOid(r.oid) || typeof r.className !== 'string')
          return bad('a record has no integer oid or class name');
        if (!(r.state instanceof Uint8Array))
          return bad(`record ${String(r.oid)} has no state bytes`);
        if (!isOidArray(r.refs)) return bad(`record ${String(r.oid)} has refs that are not oids`);
        if (!isOptTid(r.tid))
          return bad(`record ${String(r.oid)} has a tid that is not an integer`);
      }
      if (txn.readCurrent !== undefined) {
        if (!Array.isArray(txn.readCurrent) || txn.readCurrent.length > MAX_BATCH)
          return bad('readCurrent is not a bounded array');
        for (const p of txn.readCurrent as unknown[])
          if (!isObj(p) || !isOid(p.oid) || !isTid(p.tid))
            return bad('a readCurrent pin is malformed');
      }
      if (txn.txnId !== undefined && typeof txn.txnId !== 'string')
        return bad('txnId is not a string');
      if (txn.note !== undefined && typeof txn.note !== 'string')
        return bad('note is not a string');
      if (txn.user !== undefined && typeof txn.user !== 'string')
        return bad('user is not a string');
      if (txn.meta !== undefined && !isObj(txn.meta)) return bad('meta is not an object');
      return undefined;
    }
    case 'sync':
      return isTid(args[0]) ? undefined : bad('sinceTid is not an integer tid');
    case 'pack': {
      const o = args[0];
      if (o !== undefined && (!isObj(o) || !isOptTid(o.keepTid)))
        return bad('keepTid is not an integer tid');
      return undefined;
    }
    case 'stats':
    case 'verify':
      return undefined;
    case 'transactions': {
      const o = args[0];
      if (o === undefined) return undefined;
      if (!isObj(o)) return bad('options are not an object');
      if (o.limit !== undefined && !isLimit(o.limit)) return bad('limit is not a count');
      if (!isOptTid(o.before)) return bad('before is not an integer tid');
      return undefined;
    }
    case 'history':
      if (!isOid(args[0])) return bad('oid is not an integer oid');
      if (args[1] !== undefined && !isLimit(args[1])) return bad('limit is not a count');
      return undefined;
    case 'putBlob':
      return args[0] instanceof Blob ? undefined : bad('blob is not a Blob');
    case 'readBlob':
      if (!isBlobHash(args[0])) return bad('hash is not a SHA-256');
      if (!isOid(args[1]) || !isOid(args[2])) return bad('a byte position is not an integer');
      return undefined;
    case 'blobFile':
      return isBlobHash(args[0]) ? undefined : bad('hash is not a SHA-256');
    default:
      return bad('no such storage method');
  }
}

function describe(args: unknown[]): string {
  try {
    const text = JSON.stringify(args, (_k, v: unknown) =>
      typeof v === 'bigint' || (typeof v === 'number' && !Number.isFinite(v))
        ? String(v)
        : v instanceof Uint8Array
          ? `<${v.byteLength} bytes>`
          : v instanceof Blob
            ? `<Blob of ${v.size} bytes>`
            : v,
    );
    return text.length > 120 ? `${text.slice(0, 120)}…` : text;
  } catch {
    return '<unprintable>';
  }
}

/**
 * A storage that records and checks every call reaching it. `close` is legal only once the tab
 * itself was asked to close (`closeAllowed`). Lacks `pin`, as ShelfStorage does: pins are the
 * router's business.
 */
export class InstrumentedStorage implements Storage {
  /** Every call that reached the storage: method and arguments. */
  readonly calls: { method: string; args: unknown[] }[] = [];
  /** Malformed commits that reached the storage and were refused by its own checks. */
  readonly refused: string[] = [];

  constructor(
    private readonly inner: Storage,
    private readonly entry: OpenStorage,
    private readonly ledger: OwnerLedger,
    /** True once the test asked the tab to close. */
    private readonly closeAllowed: () => boolean,
  ) {}

  get recovery(): RecoveryReport | undefined {
    return this.inner.recovery;
  }

  private record<T>(method: string, args: unknown[], run: () => Promise<T>): Promise<T> {
    this.calls.push({ method, args });
    const why = invalidCall(method, args);
    if (why === undefined) return run();
    if (method !== 'commit') {
      this.ledger.violations.push(`tab ${this.entry.tab} executed ${why}`);
      return run();
    }
    // A commit's request is checked by the storage itself (validateCommit, which alone knows the
    // oids it handed out; see worker/call-checks.ts): reaching it is allowed, landing is not.
    const result = run();
    result.then(
      () => this.ledger.violations.push(`tab ${this.entry.tab} executed ${why}`),
      () => this.refused.push(why),
    );
    return result;
  }

  load(oids: number[], atTid?: Tid): Promise<LoadedRecord[]> {
    return this.record('load', [oids, atTid], () => this.inner.load(oids, atTid));
  }
  newOids(count: number): Promise<number[]> {
    return this.record('newOids', [count], () => this.inner.newOids(count));
  }
  commit(txn: CommitRequest): Promise<Tid> {
    return this.record('commit', [txn], () => this.inner.commit(txn));
  }
  sync(sinceTid: Tid): Promise<SyncResult> {
    return this.record('sync', [sinceTid], () => this.inner.sync(sinceTid));
  }
  pack(options?: PackOptions): Promise<PackResult> {
    return this.record('pack', [options], () => this.inner.pack(options));
  }
  stats(): Promise<StorageStats> {
    return this.record('stats', [], () => this.inner.stats());
  }
  verify(): Promise<VerifyReport> {
    return this.record('verify', [], () => this.inner.verify());
  }
  transactions(options?: { limit?: number; before?: Tid }): Promise<TransactionInfo[]> {
    return this.record('transactions', [options], () => this.inner.transactions(options));
  }
  history(oid: number, limit?: number): Promise<RevisionInfo[]> {
    return this.record('history', [oid, limit], () => this.inner.history(oid, limit));
  }
  putBlob(blob: Blob): Promise<BlobInfo> {
    return this.record('putBlob', [blob], () => this.inner.putBlob(blob));
  }
  readBlob(hash: string, start: number, end: number): Promise<Uint8Array> {
    return this.record('readBlob', [hash, start, end], () => this.inner.readBlob(hash, start, end));
  }
  blobFile(hash: string): Promise<Blob> {
    return this.record('blobFile', [hash], () => this.inner.blobFile(hash));
  }
  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    return this.inner.subscribe(listener);
  }
  subscribeErrors(listener: (error: unknown) => void): () => void {
    return this.inner.subscribeErrors?.(listener) ?? (() => undefined);
  }
  async close(): Promise<void> {
    this.calls.push({ method: 'close', args: [] });
    if (!this.closeAllowed() && !this.entry.dead()) {
      this.ledger.violations.push(`tab ${this.entry.tab} closed its storage without being closed`);
    }
    try {
      await this.inner.close();
    } finally {
      this.entry.closed = true;
    }
  }
}

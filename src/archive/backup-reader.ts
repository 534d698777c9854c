/**
 * Reading a backup (backup.ts's layout) back: the header, then each blob file and each transaction
 * with its records' states cut out of its `.bin` entry, in the backup's order. Every entry is checked before it is handed on — the JSON,
 * its fields, the sizes against the `.bin` entry, tids rising, the pairing of `.json` and `.bin` —
 * and the container's own checks (snarf.ts: CRCs, truncation) end the iteration. A blob entry's
 * bytes are checked against its hash as they are read (blob-entry-reader.ts), and every blob record
 * must name a blob entry read before it. Anything wrong is a CorruptStorageError naming the entry.
 */
import { BLOB_CLASS, decodeBlobRecord } from '../shared/blob-record.js';
import { CorruptStorageError } from '../shared/errors.js';
import type { StoredRecord, Tid } from '../shared/storage.js';
import {
  BACKUP_FORMAT,
  BACKUP_HEADER,
  BACKUP_VERSIONS,
  type BackupHeader,
  type BackupTransaction,
} from './backup.js';
import { BLOB_ENTRY } from './backup-blobs.js';
import { HashedBlob } from './blob-entry-reader.js';
import { readArchive, type ArchiveEntry, type ArchiveSource, type StreamedEntry } from './snarf.js';

/** One transaction of a backup, ready to commit in restore mode. */
export interface RestoredTransaction {
  /** Tells it from a RestoredBlob. */
  kind: 'transaction';
  /** Its description (`transactions/<tid>.json`). */
  info: BackupTransaction;
  /** Its records, their states cut out of the `.bin` entry (no `tid`: restored records have no base). */
  records: StoredRecord[];
}

/**
 * One blob file of a backup, to store before the transactions after it: its bytes, checked against
 * its hash as they are read. Read them before asking for the next item (or they are skipped,
 * checked all the same).
 */
export interface RestoredBlob {
  /** Tells it from a RestoredTransaction. */
  kind: 'blob';
  /** The entry (`blobs/<hash>`), its hash and size, and its bytes. */
  blob: HashedBlob;
}

const text = new TextDecoder('utf-8', { fatal: true });
const isId = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * The transactions of the backup in `source`, oldest first, after its header (given to `onHeader`
 * as soon as it is read).
 * @throws CorruptStorageError naming the entry: not a shelfdb backup, an unknown version, a
 *   malformed or misplaced entry, or what readArchive refuses (damage, truncation).
 */
export async function* readBackup(
  source: ArchiveSource,
  onHeader?: (header: BackupHeader) => void,
): AsyncGenerator<RestoredTransaction | RestoredBlob> {
  const state: ReadState = { previous: 0, count: 0, index: 0, blobs: new Set() };
  if (onHeader !== undefined) state.onHeader = onHeader;
  const entries = readArchive(source, { streamed: (path) => BLOB_ENTRY.test(path) });
  for (;;) {
    const next = await entries.next();
    if (next.done === true) break;
    let item: RestoredTransaction | RestoredBlob | undefined;
    try {
      item = 'chunks' in next.value ? takeBlob(state, next.value) : take(state, next.value);
    } catch (error) {
      return await failAfterDraining(error, entries);
    }
    if (item === undefined) continue;
    yield item;
    if (item.kind === 'blob') {
      try {
        await item.blob.skipRest();
      } catch (error) {
        return await failAfterDraining(error, entries);
      }
    }
  }
  // readArchive refuses a truncated archive; an archive cut by its own writer between entries
  // (a backup that failed midway has no end entry) never gets here.
  const { header, pending, count } = state;
  if (header === undefined) throw corrupt('the archive', 'it holds no shelfdb-backup.json');
  if (pending !== undefined) throw corrupt(pending.path, 'it is missing');
  if (count !== header.counts.transactions) {
    throw corrupt(
      BACKUP_HEADER,
      `it announces ${header.counts.transactions} transactions and the backup holds ${count}`,
    );
  }
}

/**
 * Throws `error`, unless the rest of the archive turns out damaged: then that damage, which names
 * the entry. A byte flipped in transit makes an entry malformed (or a commit of it fail) long
 * before the end entry's checksums tell, and "damaged at entry n" is the true diagnosis, not
 * "unknown version" or "oid appears twice".
 */
export async function failAfterDraining(
  error: unknown,
  rest: AsyncIterator<unknown>,
): Promise<never> {
  try {
    while ((await rest.next()).done !== true);
  } catch (damage) {
    if (damage instanceof CorruptStorageError) throw damage;
  }
  throw error;
}

/** Where a reading of a backup is. */
interface ReadState {
  onHeader?: (header: BackupHeader) => void;
  header?: BackupHeader;
  /** A transaction's description, waiting for its `.bin` entry. */
  pending?: { path: string; info: BackupTransaction };
  previous: Tid;
  count: number;
  index: number;
  /** The hashes of the blob entries read so far. */
  blobs: Set<string>;
}

/** Takes a blob entry (between transactions, after the header). */
function takeBlob(state: ReadState, entry: StreamedEntry): RestoredBlob {
  const where = `entry ${state.index} (${entry.path})`;
  state.index++;
  if (state.header === undefined) {
    throw new CorruptStorageError(
      `This is not a shelfdb backup: its first entry is ${entry.path}, not ${BACKUP_HEADER}.`,
    );
  }
  if (state.pending !== undefined) {
    throw corrupt(where, `expected ${state.pending.path}, the states of the transaction before it`);
  }
  const hash = (BLOB_ENTRY.exec(entry.path) as RegExpExecArray)[1] as string;
  state.blobs.add(hash);
  const blob = new HashedBlob(entry.path, hash, entry.size, entry.chunks, (_, why) =>
    corrupt(where, why),
  );
  return { kind: 'blob', blob };
}

/** @throws CorruptStorageError when a blob record of `records` names no blob entry read before. */
function checkBlobs(state: ReadState, records: StoredRecord[], where: string): void {
  for (const record of records) {
    if (record.className !== BLOB_CLASS) continue;
    let hash: string;
    try {
      hash = decodeBlobRecord(record.state).hash;
    } catch (error) {
      throw corrupt(where, `the blob record ${record.oid}: ${(error as Error).message}`);
    }
    if (!state.blobs.has(hash)) {
      throw corrupt(
        where,
        `the blob record ${record.oid} names blob ${hash}, and no blobs/${hash} entry comes before it`,
      );
    }
  }
}

/** Takes one entry; a transaction once its `.bin` entry is read. */
function take(state: ReadState, entry: ArchiveEntry): RestoredTransaction | undefined {
  const where = `entry ${state.index} (${entry.path})`;
  state.index++;
  if (state.header === undefined) {
    state.header = parseHeader(entry.path, entry.bytes, where);
    state.onHeader?.(state.header);
    return undefined;
  }
  const pending = state.pending;
  if (pending === undefined) {
    const match = /^transactions\/(\d+)\.json$/.exec(entry.path);
    if (match === null) throw corrupt(where, 'expected a transactions/<tid>.json entry here');
    const info = parseTransaction(entry.bytes, where);
    if (String(info.tid) !== match[1]) {
      throw corrupt(where, `it describes transaction ${info.tid}, not the one its path names`);
    }
    if (info.tid <= state.previous) {
      throw corrupt(where, `transaction ${info.tid} does not follow ${state.previous} (tids rise)`);
    }
    state.pending = { path: `transactions/${info.tid}.bin`, info };
    return undefined;
  }
  if (entry.path !== pending.path) {
    throw corrupt(where, `expected ${pending.path}, the states of the transaction before it`);
  }
  const records = cutStates(pending.info, entry.bytes, where);
  checkBlobs(state, records, where);
  state.previous = pending.info.tid;
  state.count++;
  delete state.pending;
  return { kind: 'transaction', info: pending.info, records };
}

function parseHeader(path: string, bytes: Uint8Array, where: string): BackupHeader {
  if (path !== BACKUP_HEADER) {
    throw new CorruptStorageError(
      `This is not a shelfdb backup: its first entry is ${path}, not ${BACKUP_HEADER}. A tree archive (exportTree) is imported with commitArchive or importCopy, not restored.`,
    );
  }
  const value = parseJson(bytes, where);
  if (!isObject(value) || value.format !== BACKUP_FORMAT) {
    throw new CorruptStorageError(
      `This is not a shelfdb backup: ${BACKUP_HEADER} has format ${JSON.stringify(isObject(value) ? value.format : value)}, not "${BACKUP_FORMAT}".`,
    );
  }
  if (!BACKUP_VERSIONS.includes(value.version as number)) {
    throw new CorruptStorageError(
      `${BACKUP_HEADER}: this backup has version ${JSON.stringify(value.version)}; this shelfdb reads versions ${BACKUP_VERSIONS.join(' and ')}. Restore it with the shelfdb that wrote it, or a newer one.`,
    );
  }
  const counts = value.counts;
  if (!isId(value.snapshot) || !isObject(counts) || !isId(counts.transactions)) {
    throw corrupt(where, 'its snapshot or counts are not integers');
  }
  return value as unknown as BackupHeader;
}

function parseTransaction(bytes: Uint8Array, where: string): BackupTransaction {
  const v = parseJson(bytes, where);
  if (!isObject(v)) throw corrupt(where, 'it is not a JSON object');
  if (!isId(v.tid) || v.tid < 1) throw corrupt(where, 'its tid is not a positive integer');
  if (typeof v.time !== 'number' || !Number.isFinite(v.time) || v.time < 0) {
    throw corrupt(where, 'its time is not milliseconds since the epoch');
  }
  if (typeof v.note !== 'string' || typeof v.user !== 'string') {
    throw corrupt(where, 'its note or user is not a string');
  }
  if (!isObject(v.meta)) throw corrupt(where, 'its meta is not an object');
  if (v.undoes !== undefined && (!isId(v.undoes) || v.undoes >= v.tid)) {
    throw corrupt(where, 'its undoes is not the tid of an earlier transaction');
  }
  if (v.oids !== undefined && (!Array.isArray(v.oids) || !v.oids.every(isId) || !isId(v.bytes))) {
    throw corrupt(where, 'its oids or bytes are malformed');
  }
  if (!Array.isArray(v.records)) throw corrupt(where, 'it has no records list');
  const seen = new Set<number>();
  for (const [i, r] of (v.records as unknown[]).entries()) {
    const ok =
      isObject(r) &&
      isId(r.oid) &&
      typeof r.class === 'string' &&
      r.class !== '' &&
      Array.isArray(r.refs) &&
      r.refs.every(isId) &&
      isId(r.size);
    if (!ok) throw corrupt(where, `record ${i} is not { oid, class, refs, size }`);
    if (seen.has(r.oid as number)) throw corrupt(where, `oid ${String(r.oid)} appears twice`);
    seen.add(r.oid as number);
  }
  return v as unknown as BackupTransaction;
}

/** The records of `info`, their states cut out of `bin` (copied: the commit may keep them). */
function cutStates(info: BackupTransaction, bin: Uint8Array, where: string): StoredRecord[] {
  let total = 0;
  for (const r of info.records) total += r.size;
  if (total !== bin.byteLength) {
    throw corrupt(
      where,
      `it holds ${bin.byteLength} bytes and its transaction's records add up to ${total}`,
    );
  }
  let at = 0;
  return info.records.map((r) => {
    const state = bin.slice(at, at + r.size);
    at += r.size;
    return { oid: r.oid, className: r.class, state, refs: r.refs };
  });
}

function parseJson(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(text.decode(bytes)) as unknown;
  } catch (error) {
    throw corrupt(where, `it is not JSON (${(error as Error).message})`);
  }
}

function corrupt(where: string, what: string): CorruptStorageError {
  return new CorruptStorageError(
    `The backup is damaged at ${where}: ${what}. Nothing was restored from it; restore from an undamaged copy.`,
  );
}

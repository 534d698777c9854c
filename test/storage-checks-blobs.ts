/**
 * Runner-free Storage checks of blobs: putBlob/readBlob/blobFile and the stats, the commit check
 * of blob records (a record naming a blob that is not stored is refused and writes nothing), and
 * what pack keeps. `blobChecks` hold for any storage; `blobPackChecks` need one opened with
 * `blobGraceMs: 0` (pack may then remove any unreferenced blob stored before it started).
 *
 * Nothing here needs a test runner, Node or the DOM beyond `Blob`.
 */
import { sha256 } from '@noble/hashes/sha2';
import { BLOB_CLASS, encodeBlobRecord } from '../src/shared/blob-record.js';
import { ShelfError, StorageError } from '../src/shared/errors.js';
import type { Storage, StoredRecord } from '../src/shared/storage.js';
import { equal, ok, rejects } from './check-assert.js';
import { bytes, fresh, rec, reopenable, stateOf, type StorageCheck } from './storage-check-kit.js';

/** Lowercase hexadecimal SHA-256 of `data`: the name a blob file of these bytes has. */
export function hashOf(data: Uint8Array): string {
  let s = '';
  for (const b of sha256(data)) s += b.toString(16).padStart(2, '0');
  return s;
}

/** `n` bytes counting from `seed` (mod 256). */
export function counting(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed + i) & 0xff;
  return out;
}

/** A blob record of `oid` naming `data`'s blob file (a File's, named `name`; null: a Blob's). */
export function blobRecord(
  oid: number,
  data: Uint8Array,
  name: string | null = 'data.bin',
): StoredRecord {
  return {
    oid,
    className: BLOB_CLASS,
    state: encodeBlobRecord({ hash: hashOf(data), size: data.byteLength, type: '', name }),
    refs: [],
  };
}

/**
 * Stores `data` as a blob and commits it referenced from the root (root → holder → blob record).
 * @returns the oids and the tid.
 */
export async function commitBlob(
  s: Storage,
  data: Uint8Array,
  baseTid = 0,
): Promise<{ holder: number; blob: number; tid: number }> {
  await s.putBlob(new Blob([data as BlobPart]));
  const [holder, blob] = (await s.newOids(2)) as [number, number];
  const tid = await s.commit({
    baseTid,
    records: [rec(0, bytes(1), [holder]), rec(holder, bytes(2), [blob]), blobRecord(blob, data)],
  });
  return { holder, blob, tid };
}

/** The whole bytes of blob `hash` of `s`, read back. */
async function readWhole(s: Storage, hash: string): Promise<number[]> {
  return [...(await s.readBlob(hash, 0, Number.MAX_SAFE_INTEGER))];
}

/** True when `s` has no blob `hash` (its read fails with StorageError). */
async function gone(s: Storage, hash: string): Promise<boolean> {
  return s.readBlob(hash, 0, 1).then(
    () => false,
    (error: unknown) => error instanceof StorageError,
  );
}

/**
 * Resolves once `Date.now()` has passed `t`: blob times are in milliseconds, and a blob stored in
 * the millisecond a pack starts counts as stored during it (kept). Yields to other tasks meanwhile.
 */
export async function clockPast(t: number): Promise<void> {
  while (Date.now() <= t) await new Promise<void>((resolve) => queueMicrotask(resolve));
}

export const blobChecks: StorageCheck[] = [
  [
    'stores a blob under the SHA-256 of its bytes, and reads it whole, by ranges and as a file',
    async (factory) => {
      const s = await fresh(factory);
      const data = counting(1000, 7);
      const info = await s.putBlob(new Blob([data as BlobPart], { type: 'text/plain' }));
      equal(info, { hash: hashOf(data), size: 1000 }, 'what putBlob answers');
      equal(await readWhole(s, info.hash), [...data], 'the whole blob');
      equal([...(await s.readBlob(info.hash, 10, 14))], [...data.subarray(10, 14)], 'a range');
      equal([...(await s.readBlob(info.hash, 998, 5000))], [...data.subarray(998)], 'clamped');
      equal([...(await s.readBlob(info.hash, 5, 5))], [], 'an empty range');
      const file = await s.blobFile(info.hash);
      equal(file.size, 1000, 'the file size');
      equal([...new Uint8Array(await file.arrayBuffer())], [...data], 'the file bytes');
      await s.close();
    },
  ],
  [
    'stores an empty blob (0 bytes) and reads it back',
    async (factory) => {
      const s = await fresh(factory);
      const info = await s.putBlob(new Blob([]));
      equal(info, { hash: hashOf(new Uint8Array(0)), size: 0 }, 'what putBlob answers');
      equal(await readWhole(s, info.hash), [], 'its bytes');
      equal((await s.blobFile(info.hash)).size, 0, 'its file');
      equal((await s.stats()).blobs, 1, 'stats.blobs');
      await s.close();
    },
  ],
  [
    'stores the same bytes once: a second put answers the same hash and stats count one file',
    async (factory) => {
      const s = await fresh(factory);
      equal([(await s.stats()).blobs, (await s.stats()).blobBytes], [0, 0], 'empty stats');
      const data = counting(300, 1);
      const first = await s.putBlob(new Blob([data as BlobPart]));
      const second = await s.putBlob(new Blob([data.slice(0, 100), data.slice(100)]));
      equal(second, first, 'the second put');
      const stats = await s.stats();
      equal([stats.blobs, stats.blobBytes], [1, 300], 'stats after two puts of the same bytes');
      await s.putBlob(new Blob([counting(50, 2) as BlobPart]));
      const more = await s.stats();
      equal([more.blobs, more.blobBytes], [2, 350], 'stats after another blob');
      await s.close();
    },
  ],
  [
    'refuses to read a blob that is not stored, naming its hash, and a malformed hash',
    async (factory) => {
      const s = await fresh(factory);
      const hash = hashOf(bytes(1, 2, 3));
      const error = await rejects(s.readBlob(hash, 0, 3), StorageError, 'an unstored blob');
      ok(error.message.includes(hash), `the error names the hash: ${error.message}`);
      await rejects(s.blobFile(hash), StorageError, 'blobFile of an unstored blob');
      await rejects(s.readBlob('not-a-hash', 0, 1), ShelfError, 'a malformed hash');
      await s.close();
    },
  ],
  [
    'refuses a commit whose blob record names a blob that is not stored, and stores nothing of it',
    async (factory) => {
      const s = await fresh(factory);
      const data = counting(64, 3);
      const [holder, blob] = (await s.newOids(2)) as [number, number];
      const txn = {
        baseTid: 0,
        records: [
          rec(0, bytes(1), [holder]),
          rec(holder, bytes(2), [blob]),
          blobRecord(blob, data),
        ],
        txnId: 'blob-refused-1',
      };
      const error = await rejects(s.commit(txn), StorageError, 'a commit of an unstored blob');
      ok(error.message.includes(hashOf(data)), `names the hash: ${error.message}`);
      ok(/store it again/.test(error.message), `says what to do: ${error.message}`);
      equal(await s.load([0, holder, blob]), [], 'nothing of it is stored');
      equal(await s.transactions(), [], 'no transaction');
      equal((await s.sync(0)).tid, 0, 'the newest tid');
      await s.putBlob(new Blob([data as BlobPart]));
      equal(await s.commit(txn), 1, 'the same commit once the blob is stored');
      equal((await s.load([blob]))[0]?.className, BLOB_CLASS, 'the blob record');
      await s.close();
    },
  ],
  [
    'refuses a commit whose blob record names a stored hash with another size',
    async (factory) => {
      const s = await fresh(factory);
      const data = counting(64, 4);
      await s.putBlob(new Blob([data as BlobPart]));
      const [blob] = (await s.newOids(1)) as [number];
      const record = {
        ...blobRecord(blob, data),
        state: encodeBlobRecord({ hash: hashOf(data), size: 65, type: '', name: 'x' }),
      };
      const txn = { baseTid: 0, records: [rec(0, bytes(1), [blob]), record] };
      const error = await rejects(s.commit(txn), StorageError, 'a blob record of the wrong size');
      ok(error.message.includes(hashOf(data)), `names the hash: ${error.message}`);
      equal(await s.transactions(), [], 'no transaction');
      await s.close();
    },
  ],
  [
    'refuses a commit of a shelfdb.Blob record whose state is not a blob record, naming its oid',
    async (factory) => {
      const s = await fresh(factory);
      const [blob] = (await s.newOids(1)) as [number];
      const txn = {
        baseTid: 0,
        records: [rec(0, bytes(1), [blob]), { ...rec(blob, bytes(0xa0)), className: BLOB_CLASS }],
      };
      const error = await rejects(s.commit(txn), ShelfError, 'a damaged blob record');
      ok(error.message.includes(`record ${blob}`), `names the oid: ${error.message}`);
      equal(await s.transactions(), [], 'no transaction');
      await s.close();
    },
  ],
  [
    'refuses a commit whose blobRefs names a blob record with no revision, naming it, and stores nothing; one naming a stored blob record lands',
    async (factory) => {
      const s = await fresh(factory);
      const data = counting(50, 8);
      const { holder, blob, tid } = await commitBlob(s, data);
      const [other, missing] = (await s.newOids(2)) as [number, number];
      const txn = (refs: number[], txnId: string) => ({
        baseTid: tid,
        records: [rec(holder, bytes(5), [other], tid), rec(other, bytes(6), refs)],
        blobRefs: refs,
        txnId,
      });
      const error = await rejects(
        s.commit(txn([blob, missing], 'refs-missing')),
        StorageError,
        'a commit referencing a blob record that has no revision',
      );
      ok(error.message.includes(`blob record ${missing} `), `names the oid: ${error.message}`);
      ok(!error.message.includes(`${blob},`), `names only the missing one: ${error.message}`);
      ok(/Store the Blob again/.test(error.message), `says what to do: ${error.message}`);
      equal(await s.load([other]), [], 'nothing of it is stored');
      equal(await stateOf(s, holder), [2], 'the holder is unchanged');
      equal((await s.transactions()).length, 1, 'no transaction');
      const landed = await s.commit(txn([blob], 'refs-stored'));
      equal(landed, tid + 1, 'the commit naming the stored blob record lands');
      equal((await s.load([other]))[0]?.refs, [blob], 'its record references the blob record');
      equal(await s.verify(), { ok: true, problems: [] }, 'verify');
      await s.close();
    },
  ],
  [
    'refuses a commit whose blobRefs is not a list of oids, naming the bad value',
    async (factory) => {
      const s = await fresh(factory);
      for (const blobRefs of [[-1], 'x', [2.5]]) {
        const txn = { baseTid: 0, records: [rec(0, bytes(1))], blobRefs } as never;
        const error = await rejects(s.commit(txn), ShelfError, `blobRefs ${String(blobRefs)}`);
        ok(/blobRefs/.test(error.message), `names blobRefs: ${error.message}`);
      }
      equal(await s.transactions(), [], 'no transaction');
      await s.close();
    },
  ],
  [
    'commits the blob record of a Blob that is not a File (its name null)',
    async (factory) => {
      const s = await fresh(factory);
      const data = counting(10, 6);
      await s.putBlob(new Blob([data as BlobPart]));
      const [blob] = (await s.newOids(1)) as [number];
      const record = blobRecord(blob, data, null);
      equal(await s.commit({ baseTid: 0, records: [rec(0, bytes(1), [blob]), record] }), 1, 'tid');
      equal(await s.verify(), { ok: true, problems: [] }, 'verify');
      await s.close();
    },
  ],
  [
    'keeps a committed blob through pack and reopening; verify finds it sound',
    async (factory) => {
      const made = await reopenable(factory);
      let s = made.storage;
      const data = counting(5000, 9);
      const { blob } = await commitBlob(s, data);
      await s.pack();
      equal(await readWhole(s, hashOf(data)), [...data], 'the blob after pack');
      equal(await s.verify(), { ok: true, problems: [] }, 'verify');
      await s.close();
      if ('reopen' in made) {
        s = await made.reopen();
        equal(await readWhole(s, hashOf(data)), [...data], 'the blob after reopening');
        equal((await s.load([blob]))[0]?.className, BLOB_CLASS, 'its record after reopening');
        const stats = await s.stats();
        equal([stats.blobs, stats.blobBytes], [1, 5000], 'stats after reopening');
        equal(await s.verify(), { ok: true, problems: [] }, 'verify after reopening');
        await s.close();
      }
    },
  ],
];

export const blobPackChecks: StorageCheck[] = [
  [
    'pack removes a blob no record references and keeps a referenced one (grace 0)',
    async (factory) => {
      const s = await fresh(factory);
      const kept = counting(100, 1);
      const orphan = counting(100, 2);
      await commitBlob(s, kept);
      await s.putBlob(new Blob([orphan as BlobPart]));
      await clockPast(Date.now());
      await s.pack();
      equal(await readWhole(s, hashOf(kept)), [...kept], 'the referenced blob');
      ok(await gone(s, hashOf(orphan)), 'the orphan is gone');
      const stats = await s.stats();
      equal([stats.blobs, stats.blobBytes], [1, 100], 'stats after pack');
      equal(await s.verify(), { ok: true, problems: [] }, 'verify');
      await s.close();
    },
  ],
  [
    'pack keeps a blob only an open snapshot reads (keepTid), and removes it once none does',
    async (factory) => {
      const s = await fresh(factory);
      const data = counting(100, 3);
      const { tid } = await commitBlob(s, data);
      // The root no longer references the holder: only a snapshot at `tid` reaches the blob.
      const later = await s.commit({ baseTid: tid, records: [rec(0, bytes(3), [], tid)] });
      await clockPast(Date.now());
      await s.pack({ keepTid: tid });
      equal(await readWhole(s, hashOf(data)), [...data], 'kept for the snapshot at keepTid');
      await s.pack({ keepTid: later });
      ok(await gone(s, hashOf(data)), 'removed once no kept snapshot reads it');
      await s.close();
    },
  ],
  [
    'pack keeps a blob stored before it and committed while it runs',
    async (factory) => {
      const s = await fresh(factory);
      const first = await commitBlob(s, counting(100, 4));
      const data = counting(100, 5);
      const [blob] = (await s.newOids(1)) as [number];
      await s.putBlob(new Blob([data as BlobPart]));
      await clockPast(Date.now());
      let committing: Promise<number> | undefined;
      await s.pack({
        onProgress: () => {
          committing ??= s.commit({
            baseTid: first.tid,
            records: [rec(first.holder, bytes(4), [blob], first.tid), blobRecord(blob, data)],
          });
        },
      });
      ok(committing !== undefined, 'the commit was made during the pack');
      await committing;
      equal(await readWhole(s, hashOf(data)), [...data], 'the blob committed during the pack');
      equal(await s.verify(), { ok: true, problems: [] }, 'verify');
      await s.close();
    },
  ],
  [
    'refuses a commit referencing (blobRefs) a blob record pack removed, files nothing; a resend of one that landed before is answered with its tid',
    async (factory) => {
      const s = await fresh(factory);
      const data = counting(100, 6);
      const first = await commitBlob(s, data);
      // Another object references the blob record, in a commit that lands unlinked from the root.
      const [loose, again] = (await s.newOids(2)) as [number, number];
      const looseTxn = {
        baseTid: first.tid,
        records: [rec(loose, bytes(7), [first.blob])],
        blobRefs: [first.blob],
        txnId: 'refs-loose',
      };
      const looseTid = await s.commit(looseTxn);
      const unlinked = await s.commit({
        baseTid: looseTid,
        records: [rec(0, bytes(3), [], first.tid)],
      });
      await clockPast(Date.now());
      await s.pack();
      ok(await gone(s, hashOf(data)), 'pack removed the blob file with its record');
      equal(await s.load([first.blob]), [], 'and the record');
      equal(await s.commit(looseTxn), looseTid, 'the resend of the landed commit: its tid');
      const txn = {
        baseTid: unlinked,
        records: [rec(0, bytes(4), [again], unlinked), rec(again, bytes(8), [first.blob])],
        blobRefs: [first.blob],
        txnId: 'refs-after-pack',
      };
      const error = await rejects(s.commit(txn), StorageError, 'a commit of a removed record');
      ok(error.message.includes(`blob record ${first.blob} `), `names it: ${error.message}`);
      equal(await s.load([again]), [], 'nothing of it is stored');
      equal((await s.sync(0)).tid, unlinked, 'no transaction');
      equal(await s.verify(), { ok: true, problems: [] }, 'verify');
      await s.close();
    },
  ],
  [
    'a commit referencing (blobRefs) an unreachable blob record while a pack runs either keeps the record and its file or is refused',
    async (factory) => {
      const s = await fresh(factory);
      const data = counting(100, 7);
      const first = await commitBlob(s, data);
      const unlinked = await s.commit({
        baseTid: first.tid,
        records: [rec(0, bytes(3), [], first.tid)],
      });
      const [again] = (await s.newOids(1)) as [number];
      await clockPast(Date.now());
      let committing: Promise<unknown> | undefined;
      await s.pack({
        onProgress: () => {
          committing ??= s
            .commit({
              baseTid: unlinked,
              records: [rec(0, bytes(4), [again], unlinked), rec(again, bytes(8), [first.blob])],
              blobRefs: [first.blob],
            })
            .catch((error: unknown) => error);
        },
      });
      ok(committing !== undefined, 'the commit was made during the pack');
      const outcome = await committing;
      if (outcome instanceof Error) {
        ok(outcome instanceof StorageError, `refused with StorageError: ${outcome.message}`);
        equal(await s.load([again]), [], 'nothing of it is stored');
      } else {
        equal(await readWhole(s, hashOf(data)), [...data], 'the blob file it references');
        equal((await s.load([first.blob]))[0]?.className, BLOB_CLASS, 'its blob record');
      }
      await clockPast(Date.now());
      await s.pack(); // a later pack keeps them too when they landed
      equal(await s.verify(), { ok: true, problems: [] }, 'verify: nothing dangles');
      await s.close();
    },
  ],
];

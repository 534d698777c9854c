/**
 * Pack and verify, run one at a time in the maintenance queue (StorageCore.exclusive), always
 * settle, also when the storage closes while they
 * wait for each other: no chain of waits loops back, and a task queued behind close fails with
 * DatabaseClosedError or finishes, never hangs, and never blames the browser for the app's close.
 */
import 'fake-indexeddb/auto';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { DatabaseClosedError } from '../src/shared/errors.js';
import type { Storage, StoredRecord } from '../src/shared/storage.js';
import { MemoryBlockDirectory } from '../worker/block-file.js';
import { IndexedDBStorage } from '../worker/indexeddb-storage.js';
import { MemoryStorage } from '../worker/memory-storage.js';
import { ShelfStorage } from '../worker/shelf-storage.js';

const rec = (oid: number, byte: number, refs: number[] = [], tid?: number): StoredRecord => {
  const r: StoredRecord = { oid, className: 'test.Thing', state: new Uint8Array([byte]), refs };
  if (tid !== undefined) r.tid = tid;
  return r;
};

const storages: [string, () => Promise<Storage>][] = [
  ['ShelfStorage', () => ShelfStorage.open(new MemoryBlockDirectory())],
  ['MemoryStorage', async () => new MemoryStorage()],
  [
    'IndexedDBStorage',
    () => IndexedDBStorage.open('hunt10c-settles', { indexedDB: new IDBFactory(), IDBKeyRange }),
  ],
];

/** What a call settled with: its value, or the class of its error. */
const outcome = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => 'done',
    (error: unknown) => (error instanceof DatabaseClosedError ? 'closed' : error),
  );

describe.each(storages)('%s', (_name, open) => {
  it('settles verify, pack, a commit, a joined pack and a second verify asked for just before close, each done or refused with DatabaseClosedError', async () => {
    const s = await open();
    const oids = await s.newOids(50);
    const records = [rec(0, 1, [oids[0] as number])];
    oids.forEach((oid, i) => records.push(rec(oid, 1, i + 1 < 50 ? [oids[i + 1] as number] : [])));
    const t1 = await s.commit({ baseTid: 0, records, txnId: 'chain' });
    const calls = [
      s.verify(),
      s.pack(),
      s.commit({ baseTid: t1, records: [rec(0, 2, [], t1)] }),
      s.pack(),
      s.verify(),
    ];
    const closing = s.close();
    const settled = await Promise.all(calls.map(outcome));
    await closing;
    // Each either ran or was refused because the storage closed; none hangs or fails otherwise.
    expect(settled.map((r) => (r instanceof Error ? `${r.name}: ${r.message}` : r))).toEqual(
      settled.map(() => expect.stringMatching(/^(done|closed)$/)),
    );
  });
});

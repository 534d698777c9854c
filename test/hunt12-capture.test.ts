// Hunt (issue 12): commit capture writes each object's fields straight into one record batch
// (pending-commit.ts, Serializer.packCommit, CborEncoder batches, PackedCommitRequest). What a
// commit acknowledges must read back as it was, from a cold connection.
import { describe, expect, it } from 'vitest';
import {
  Database,
  MemoryStorage,
  StorageBusyError,
  WriteConflictError,
  type CommitRequest,
  type Tid,
} from '../src/index.js';
import { CLASSES, Project, Todo, todo } from './fixtures.js';

/** Reads `key` of the root in a cold connection of a new Database over `storage`. */
async function coldRead(storage: MemoryStorage, key: string): Promise<Todo> {
  const check = new Database(storage, { classes: CLASSES }).open();
  const obj = (await check.root()).get(key) as Todo;
  await check.load(obj);
  return obj;
}

describe('commit capture straight into a record batch', () => {
  it('gives back the oids of new objects when encoding throws midway, so the next commit stores them', async () => {
    const storage = new MemoryStorage();
    const conn = new Database(storage, { classes: CLASSES }).open();
    const root = await conn.root();
    const kept = todo('kept');
    const flaky = todo('flaky');
    // A value the scan accepts and the encoder, reading the fields again, fails on: a getter
    // that throws when the encoder reads it (any failure of the encoder midway would do).
    let failing = true;
    Object.defineProperty(flaky, 'extra', {
      enumerable: true,
      configurable: true,
      get: () => {
        if (failing && (new Error().stack ?? '').includes('packCommit')) {
          throw new Error('the encoder read fails');
        }
        return 1;
      },
    });
    root.set('kept', kept);
    root.set('flaky', flaky);
    await expect(conn.commit()).rejects.toThrow('the encoder read fails');
    // Nothing was stored: the new objects are as before the commit.
    const oidAfterFailure = kept._p_oid;
    const statusAfterFailure = kept._p_status;
    failing = false;
    await conn.commit();
    // Before the fix, `kept` kept the oid the failed capture gave it, so the next commit took it
    // for a stored object and did not write it: the root referenced an object never stored.
    expect((await coldRead(storage, 'kept')).title).toBe('kept');
    expect(oidAfterFailure).toBeUndefined();
    expect(statusAfterFailure).toBe('unsaved');
  });

  it('stores a state of more than 65,535 keys with shared sub-objects as a later record of a batch', async () => {
    const storage = new MemoryStorage();
    const conn = new Database(storage, { classes: CLASSES }).open();
    const root = await conn.root();
    const shared = { label: 'shared', list: [1, 2, 3] };
    const big = todo('big') as Todo & Record<string, unknown>;
    for (let i = 0; i < 70_000; i++) big[`k${i}`] = i;
    big.a = shared;
    big.b = shared;
    big.tags = ['x', 'y'];
    root.set('small', todo('first', { tags: ['s'] }));
    root.set('big', big);
    await conn.commit();
    const back = (await coldRead(storage, 'big')) as Todo & Record<string, unknown>;
    expect(back.title).toBe('big');
    expect(back.k69999).toBe(69_999);
    expect(back.a).toEqual(shared);
    expect(back.a).toBe(back.b);
    expect(back.tags).toEqual(['x', 'y']);
    expect((await coldRead(storage, 'small')).tags).toEqual(['s']);
  });

  it('stores each of two records that share a plain sub-object whole', async () => {
    const storage = new MemoryStorage();
    const conn = new Database(storage, { classes: CLASSES }).open();
    const root = await conn.root();
    const tags = ['shared', 'tags'];
    root.set('a', todo('a', { tags }));
    root.set('b', todo('b', { tags }));
    await conn.commit();
    expect((await coldRead(storage, 'a')).tags).toEqual(tags);
    expect((await coldRead(storage, 'b')).tags).toEqual(tags);
  });

  it("stores a commit of more than 1 MiB (handed over in the encoder's own buffer), then small ones, all whole", async () => {
    const storage = new MemoryStorage();
    const conn = new Database(storage, { classes: CLASSES }).open();
    const root = await conn.root();
    const large = todo('large', { tags: Array.from({ length: 150_000 }, (_, i) => `t${i}`) });
    root.set('large', large);
    await conn.commit();
    root.set('small', todo('small', { tags: ['one'] }));
    await conn.commit();
    large.title = 'large again';
    await conn.commit();
    const back = await coldRead(storage, 'large');
    expect(back.title).toBe('large again');
    expect(back.tags.length).toBe(150_000);
    expect(back.tags[149_999]).toBe('t149999');
    expect((await coldRead(storage, 'small')).tags).toEqual(['one']);
  });

  it('resends the same records after StorageBusyError, through a storage that copies the request', async () => {
    let busyOnce = false;
    const sent: CommitRequest[] = [];
    class CopyingStorage extends MemoryStorage {
      override async commit(txn: CommitRequest): Promise<Tid> {
        // What a wrapper or a message channel may do with it.
        const copies = [{ ...txn }, structuredClone(txn)] as CommitRequest[];
        sent.push(...copies);
        if (busyOnce) {
          // Busy before it is stored (a stored one is known by its broadcast): sent again later.
          busyOnce = false;
          throw new StorageBusyError('the storage is busy (test)');
        }
        const tid = await super.commit(copies[1] as CommitRequest);
        return tid;
      }
    }
    const inner = new CopyingStorage();
    const conn = new Database(inner, { classes: CLASSES }).open();
    const root = await conn.root();
    root.set('t', todo('once'));
    busyOnce = true;
    sent.length = 0;
    await expect(conn.commit()).rejects.toBeInstanceOf(StorageBusyError);
    await conn.commit(); // resends it: the storage answers from its txnId
    expect(sent.length).toBeGreaterThanOrEqual(4);
    for (const r of sent) expect(r.records.length).toBe(sent[0]?.records.length);
    expect(sent[2]?.txnId).toBe(sent[0]?.txnId);
    expect([...(sent[2]?.records[0]?.state ?? [])]).toEqual([
      ...(sent[0]?.records[0]?.state ?? []),
    ]);
    expect((await coldRead(inner, 't')).title).toBe('once');
  });

  it('puts a conflicting commit back as it was: new objects without oids, and they are stored by the retry', async () => {
    const storage = new MemoryStorage();
    const a = new Database(storage, { classes: CLASSES }).open();
    const rootA = await a.root();
    rootA.set('t', todo('first'));
    await a.commit();
    a.autoSync = false; // stays at its snapshot: its next commit of `t` conflicts
    const b = new Database(storage, { classes: CLASSES }).open();
    const tB = (await b.root()).get('t') as Todo;
    await b.load(tB);
    tB.title = 'by b';
    await b.commit();
    const t = rootA.get('t') as Todo;
    const project = new Project();
    project.name = 'new project';
    t.project = project;
    t.title = 'by a';
    await expect(a.commit()).rejects.toBeInstanceOf(WriteConflictError);
    expect(project._p_oid).toBeUndefined();
    expect(project._p_status).toBe('unsaved');
    expect(t._p_status).toBe('unsaved');
    await a.abort();
    await a.load(t);
    expect(t.title).toBe('by b');
    t.project = project;
    await a.commit();
    const back = await coldRead(storage, 't');
    expect(back.title).toBe('by b');
    const check = back._p_connection as { load: (p: Project) => Promise<Project> };
    expect((await check.load(back.project as Project)).name).toBe('new project');
  });
});

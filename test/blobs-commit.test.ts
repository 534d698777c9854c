/**
 * Commits that store Blobs, over MemoryStorage and ShelfStorage on Node files: a conflict or a
 * refused commit leaves nothing half-done (the objects are as before the commit, nothing new is
 * loadable) and a retry stores everything; what the app changes while the bytes upload is
 * committed, never lost.
 */
import { describe, expect, it } from 'vitest';
import { WriteConflictError } from '../src/shared/errors.js';
import { BACKENDS, Doc, deferred, hooked, open } from './blobs-fixture.js';

describe.each(BACKENDS)('Commits with Blobs over %s', (_name, make) => {
  it('a conflicting commit with a new Blob stores no object, and the retry after abort stores the Blob', async () => {
    const db = open(await make());
    const first = db.open();
    const root = await first.root();
    const doc = new Doc();
    root.set('doc', doc);
    await first.commit();
    const second = db.open();
    second.autoSync = false; // so that it conflicts rather than moves past the first's commit
    const theirs = (await second.root()).get('doc') as Doc;
    await second.load(theirs);
    doc.title = 'first';
    await first.commit();
    theirs.photo = new File(['mine'], 'mine.txt');
    await expect(second.commit()).rejects.toBeInstanceOf(WriteConflictError);
    const check = db.open();
    const seen = (await check.root()).get('doc') as Doc;
    await check.load(seen);
    expect([seen.title, seen.photo]).toEqual(['first', null]);
    await second.abort();
    await second.load(theirs);
    theirs.photo = new File(['mine'], 'mine.txt');
    await second.commit();
    const after = db.open();
    const stored = (await after.root()).get('doc') as Doc;
    await after.load(stored);
    expect(await (stored.photo as Blob).text()).toBe('mine');
    expect((await db.verify()).ok).toBe(true);
    await db.close();
  });

  it('a commit the storage refuses leaves its objects unsaved without oids, and committing again stores the Blob', async () => {
    const { storage, hooks } = hooked(await make());
    const db = open(storage);
    const conn = db.open();
    const root = await conn.root();
    const doc = new Doc();
    doc.photo = new Blob(['bytes']);
    root.set('doc', doc);
    hooks.refuseCommits = 1;
    await expect(conn.commit()).rejects.toMatchObject({ name: 'StorageError' });
    expect(doc._p_oid).toBeUndefined();
    expect(doc._p_status).toBe('unsaved');
    expect((await db.open().root()).get('doc')).toBeUndefined();
    await conn.commit();
    // Refused for a reason other than a conflict: stored again (the file may have been missing).
    expect(hooks.puts).toHaveLength(2);
    const other = db.open();
    const back = (await other.root()).get('doc') as Doc;
    await other.load(back);
    expect(await (back.photo as Blob).text()).toBe('bytes');
    // The refused request carried a blob record too; the one that landed carries its own.
    const last = hooks.commits.slice(-2);
    for (const txn of last) {
      expect(txn.records.filter((r) => r.className === 'shelfdb.Blob')).toHaveLength(1);
    }
    expect((await db.verify()).ok).toBe(true);
    await db.close();
  });

  it('changes made while a Blob uploads are committed by that commit, new Blobs among them', async () => {
    const { storage, hooks } = hooked(await make());
    const db = open(storage);
    const conn = db.open();
    const root = await conn.root();
    const doc = new Doc();
    root.set('doc', doc);
    await conn.commit();
    const gate = deferred();
    const started = deferred();
    hooks.gate = gate.promise;
    hooks.onPut = started.resolve;
    doc.photo = new Blob(['first']);
    const committing = conn.commit();
    await started.promise;
    // The upload waits at the gate: the app goes on changing objects.
    doc.title = 'changed during the upload';
    doc.more = new File(['second'], 'second.txt');
    hooks.onPut = undefined;
    gate.resolve();
    await committing;
    expect(doc._p_status).toBe('saved');
    const other = db.open();
    const back = (await other.root()).get('doc') as Doc;
    await other.load(back);
    expect(back.title).toBe('changed during the upload');
    expect(await (back.photo as Blob).text()).toBe('first');
    expect(await (back.more as File).text()).toBe('second');
    expect(hooks.puts).toHaveLength(2);
    await db.close();
  });

  it('a Blob replaced while its upload runs is not committed, its replacement is', async () => {
    const { storage, hooks } = hooked(await make());
    const db = open(storage);
    const conn = db.open();
    const root = await conn.root();
    const doc = new Doc();
    root.set('doc', doc);
    const gate = deferred();
    const started = deferred();
    hooks.gate = gate.promise;
    hooks.onPut = started.resolve;
    doc.photo = new Blob(['dropped']);
    const committing = conn.commit();
    await started.promise;
    doc.photo = new Blob(['kept']);
    gate.resolve();
    await committing;
    const other = db.open();
    const back = (await other.root()).get('doc') as Doc;
    await other.load(back);
    expect(await (back.photo as Blob).text()).toBe('kept');
    await db.close();
  });
});

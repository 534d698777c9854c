/** Checkouts: a tree archive's entries as the files of a directory, and read back (Node). */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { directoryEntries, writeCheckout } from '../src/archive/directory.js';
import { TREE_HEADER as CHECKOUT_HEADER } from '../src/archive/tree-format.js';
import * as browser from '../src/archive/directory.browser.js';
import {
  archiveBytes,
  readArchive,
  writeArchive,
  type ArchiveEntry,
} from '../src/archive/snarf.js';
import { CorruptStorageError, ShelfError } from '../src/shared/errors.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-checkout-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let made = 0;
/** A fresh path under the scratch folder (not created). */
const fresh = (): string => join(scratch, `dir-${++made}`);

const text = new TextEncoder();
const entry = (path: string, content: string): ArchiveEntry => ({
  path,
  bytes: text.encode(content),
});

/** A tree archive's entries in export order: header, a BTree's pages before it, objects. */
const tree = (): ArchiveEntry[] => [
  entry(CHECKOUT_HEADER, '{"format":"shelfdb-archive","version":1}\n'),
  entry('objects/2.json', '{"class":"shelfdb.PersistentDict"}\n'),
  entry('objects/10.page-0.json', '[[1,"a"]]\n'),
  entry('objects/10.page-1.json', '[[2,"b"]]\n'),
  entry('objects/10.page-2.json', '[[3,"c"]]\n'),
  entry('objects/10.json', '{"class":"shelfdb.BTree","pages":3}\n'),
  entry('objects/11.json', '{"class":"app.Todo"}\n'),
];

/** Every entry of a directory, as path and text. */
async function read(dir: string): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for await (const e of directoryEntries(dir)) {
    out.push({ path: e.path, text: new TextDecoder().decode(e.bytes) });
  }
  return out;
}

const asText = (entries: ArchiveEntry[]): { path: string; text: string }[] =>
  entries.map((e) => ({ path: e.path, text: new TextDecoder().decode(e.bytes) }));

/** Every file under `dir`, relative, sorted (dotfiles included). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => statSync(join(dir, name)).isFile())
    .map((name) => name.split('\\').join('/'))
    .sort();
}

/** An async source that yields `entries`, then fails as a dying export would. */
async function* failingAfter(entries: ArchiveEntry[]): AsyncGenerator<ArchiveEntry> {
  yield* entries;
  throw new Error('the export stopped');
}

describe('writeCheckout and directoryEntries', () => {
  it("writes an archive's entries as files and reads them back in the archive's order, without its end entry", async () => {
    const dir = fresh();
    const archive = await archiveBytes(writeArchive(tree()));
    const result = await writeCheckout(dir, readArchive(archive));
    expect(result).toMatchObject({ dir, files: 7, removed: 0 });
    expect(filesUnder(dir)).toEqual(
      [
        'objects/10.json',
        'objects/10.page-0.json',
        'objects/10.page-1.json',
        'objects/10.page-2.json',
        'objects/11.json',
        'objects/2.json',
        CHECKOUT_HEADER,
      ].sort(),
    );
    expect(readFileSync(join(dir, 'objects/10.page-1.json'), 'utf8')).toBe('[[2,"b"]]\n');
    // Header first, then by id in number order (2 before 10), a BTree's pages by number before it.
    expect(await read(dir)).toEqual(asText(tree()));
  });

  it('reads pages in number order: page-10 comes after page-9', async () => {
    const dir = fresh();
    const pages = Array.from({ length: 12 }, (_, n) => entry(`objects/5.page-${n}.json`, `[${n}]`));
    await writeCheckout(dir, [tree()[0] as ArchiveEntry, ...pages, entry('objects/5.json', '{}')]);
    const paths = (await read(dir)).map((e) => e.path);
    expect(paths).toEqual([CHECKOUT_HEADER, ...pages.map((p) => p.path), 'objects/5.json']);
  });

  it("skips dotfiles and dot-folders when reading (.git, swap files, a crashed write's temp file)", async () => {
    const dir = fresh();
    await writeCheckout(dir, tree());
    mkdirSync(join(dir, '.git', 'objects'), { recursive: true });
    writeFileSync(join(dir, '.git', 'objects', '99.json'), 'not an entry');
    writeFileSync(join(dir, 'objects', '.11.json.swp'), 'editor');
    writeFileSync(join(dir, 'objects', '.11.json.1234.tmp'), '{"half":');
    writeFileSync(join(dir, 'objects', 'notes.txt'), 'not json');
    expect(await read(dir)).toEqual(asText(tree()));
  });

  it('reads an added object a person wrote, by its id', async () => {
    const dir = fresh();
    await writeCheckout(dir, tree());
    writeFileSync(join(dir, 'objects', 'new-todo.json'), '{"class":"app.Todo","id":"new-todo"}');
    const paths = (await read(dir)).map((e) => e.path);
    expect(paths.at(-1)).toBe('objects/new-todo.json');
    expect(paths).toHaveLength(8);
  });

  it('refuses to read a folder without shelfdb-archive.json, naming it and what to do', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'objects'), { recursive: true });
    writeFileSync(join(dir, 'objects', '1.json'), '{}');
    const error = await read(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect((error as Error).message).toContain(`${dir} holds no ${CHECKOUT_HEADER}`);
    expect((error as Error).message).toContain('shelfdb checkout');
  });

  it('refuses to read a folder that does not exist, or a file, naming it', async () => {
    const missing = fresh();
    await expect(read(missing)).rejects.toThrow(`${missing} does not exist`);
    const file = join(scratch, 'an-archive.snarf');
    writeFileSync(file, 'x');
    const error = await read(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShelfError);
    expect((error as Error).message).toContain(`${file} is a file, not a checkout`);
  });

  it('refuses a file whose name cannot be an entry, naming it', async () => {
    const dir = fresh();
    await writeCheckout(dir, tree());
    writeFileSync(join(dir, 'objects', 'my todo.json'), '{}');
    const error = await read(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptStorageError);
    expect((error as Error).message).toContain(join(dir, 'objects', 'my todo.json'));
    expect((error as Error).message).toContain('Rename it');
  });

  it('refuses a folder holding other files, naming it and them, and writes nothing', async () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'thesis.tex'), 'mine');
    const error = await writeCheckout(dir, tree()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShelfError);
    expect((error as Error).message).toContain(`Cannot check out into ${dir}`);
    expect((error as Error).message).toContain('thesis.tex');
    expect(filesUnder(dir)).toEqual(['thesis.tex']);
  });

  it('refuses a file as the folder, and writes nothing', async () => {
    const file = join(scratch, 'plain-file');
    writeFileSync(file, 'mine');
    await expect(writeCheckout(file, tree())).rejects.toThrow(`${file}: it is a file`);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });

  it('accepts an empty folder or one holding only dotfiles (a fresh git repository)', async () => {
    const dir = fresh();
    mkdirSync(join(dir, '.git'), { recursive: true });
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    await writeCheckout(dir, tree());
    expect(await read(dir)).toEqual(asText(tree()));
    expect(readFileSync(join(dir, '.git', 'HEAD'), 'utf8')).toBe('ref: refs/heads/main\n');
  });

  it('replaces an earlier checkout: files of objects no longer exported go, dotfiles stay', async () => {
    const dir = fresh();
    await writeCheckout(dir, tree());
    writeFileSync(join(dir, '.gitignore'), '*.tmp\n');
    const smaller = tree().filter((e) => !e.path.startsWith('objects/10.'));
    const result = await writeCheckout(dir, smaller);
    expect(result.removed).toBe(4);
    expect(await read(dir)).toEqual(asText(smaller));
    expect(existsSync(join(dir, '.gitignore'))).toBe(true);
  });

  it('leaves a checkout cut short without its header, so it is not read as whole, and checking out again completes it', async () => {
    const dir = fresh();
    const error = await writeCheckout(dir, failingAfter(tree().slice(0, 3))).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('the export stopped');
    expect(existsSync(join(dir, 'objects', '2.json'))).toBe(true);
    expect(existsSync(join(dir, CHECKOUT_HEADER))).toBe(false);
    await expect(read(dir)).rejects.toThrow('its checkout was cut short');
    // An earlier checkout cut short by a second export: its header is gone too.
    await writeCheckout(dir, tree());
    await writeCheckout(dir, failingAfter(tree().slice(0, 2))).catch(() => undefined); // the failure is the point
    expect(existsSync(join(dir, CHECKOUT_HEADER))).toBe(false);
    await writeCheckout(dir, tree());
    expect(await read(dir)).toEqual(asText(tree()));
  });

  it('ends with the error of a file it cannot write, leaving no header and no temp file', async () => {
    const dir = fresh();
    mkdirSync(join(dir, 'objects', '11.json'), { recursive: true }); // a folder where a file goes
    const error = await writeCheckout(dir, tree()).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toMatch(/^(EISDIR|ENOTEMPTY|EEXIST|EPERM)$/);
    expect(existsSync(join(dir, CHECKOUT_HEADER))).toBe(false);
    expect(filesUnder(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses an archive that is not an export (a backup) before writing anything', async () => {
    const dir = fresh();
    const backup = [entry('shelfdb-backup.json', '{}'), entry('transactions/2.json', '{}')];
    await expect(writeCheckout(dir, backup)).rejects.toThrow(
      'does not start with shelfdb-archive.json',
    );
    expect(existsSync(dir)).toBe(false);
  });

  it('refuses entries a checkout cannot hold: outside objects/, or named with a leading dot', async () => {
    const header = tree()[0] as ArchiveEntry;
    await expect(writeCheckout(fresh(), [header, entry('notes/1.json', '{}')])).rejects.toThrow(
      'Cannot check out the entry "notes/1.json"',
    );
    await expect(writeCheckout(fresh(), [header, entry('objects/.1.json', '{}')])).rejects.toThrow(
      'a name starting with "." is skipped',
    );
    await expect(
      writeCheckout(fresh(), [header, entry('objects/../x.json', '{}')]),
    ).rejects.toThrow('Cannot check out the entry "objects/../x.json"');
  });

  it("browser builds' stand-in refuses both, saying checkouts are Node's and what to use", async () => {
    const writing = await browser.writeCheckout('todos', tree()).catch((e: unknown) => e);
    expect(writing).toBeInstanceOf(ShelfError);
    expect((writing as Error).message).toContain('exists in Node only');
    const reading = browser.directoryEntries('todos').next();
    await expect(reading).rejects.toThrow('pass the archive itself: a Blob or File');
  });
});

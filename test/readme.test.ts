/** The README's example runs as written. */
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { expect, it, vi } from 'vitest';
import * as shelfdb from '../src/index.js';

it('runs the README example as written', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example, 'README has a ```ts example').toBeDefined();
  const js = ts.transpileModule(example as string, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  // The example imports from 'shelfdb': hand it the package as a parameter instead.
  const body = js.replace(
    /import\s*\{([^}]*)\}\s*from\s*'shelfdb';/,
    (_, names: string) => `const {${names}} = shelfdb;`,
  );
  expect(body).not.toMatch(/\bimport\b/);
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
    ...args: string[]
  ) => (lib: typeof shelfdb) => Promise<{ db: shelfdb.Database; todo: shelfdb.Persistent }>;
  const run = new AsyncFunction('shelfdb', `${body}\nreturn { db, todo };`);
  // The example's classes have stable names: shelfdb does not warn that they would not survive
  // a production build.
  const warn = vi.spyOn(console, 'warn');
  const { db, todo } = await run(shelfdb).finally(() => warn.mockRestore());
  expect(warn).not.toHaveBeenCalled();
  expect(todo._p_status).toBe('saved');
  const conn = db.open();
  const first = (await conn.root()).get('first') as shelfdb.Persistent & { title: string };
  expect((await conn.load(first)).title).toBe('Write the README');
  const [record] = await db.storage.load([first._p_oid as number]);
  expect(record?.className).toBe('app.Todo');
  const [txn] = await db.storage.transactions({ limit: 1 });
  expect(txn?.note).toBe('first todo');
  await db.close();
});

it('runs the README example of undo, time travel and pack as written', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const example = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].find((m) =>
    m[1]?.includes('db.undo('),
  )?.[1];
  expect(example, 'README has a ```ts example of db.undo').toBeDefined();
  const js = ts.transpileModule(example as string, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const body = js.replace(
    /import\s*\{([^}]*)\}\s*from\s*'shelfdb';/,
    (_, names: string) => `const {${names}} = shelfdb;`,
  );
  expect(body).not.toMatch(/\bimport\b/);
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
    ...args: string[]
  ) => (lib: typeof shelfdb) => Promise<{ db: shelfdb.Database; result: shelfdb.PackResult }>;
  const run = new AsyncFunction(
    'shelfdb',
    `${body}\nreturn { db, result: { bytesBefore, bytesAfter } };`,
  );
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.join(' '));
  });
  const { db, result } = await run(shelfdb).finally(() => log.mockRestore());
  expect(printed[0]).toBe('Groceries');
  expect(printed.at(-1)).toBe('pack done');
  expect(result.bytesAfter).toBeLessThan(result.bytesBefore);
  const conn = db.open();
  expect((await conn.root()).get('title')).toBe('Groceries');
  const [undo] = await db.storage.transactions({ limit: 1 });
  expect(undo?.note).toBe('undo the mistake');
  expect(undo?.undoes).toBe(3);
  await db.close();
});

it('runs the README example of export, check, commit and backup as written', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const example = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].find((m) =>
    m[1]?.includes('exportTree('),
  )?.[1];
  expect(example, 'README has a ```ts example of exportTree').toBeDefined();
  const js = ts.transpileModule(example as string, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const body = js.replaceAll(
    /import\s*\{([^}]*)\}\s*from\s*'shelfdb';/g,
    (_, names: string) => `const {${names}} = shelfdb;`,
  );
  expect(body).not.toMatch(/\bimport\b/);
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
    ...args: string[]
  ) => (lib: typeof shelfdb) => Promise<{ db: shelfdb.Database; copy: shelfdb.Database }>;
  const run = new AsyncFunction('shelfdb', `${body}\nreturn { db, copy };`);
  const printed: unknown[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args[0]);
  });
  const { db, copy } = await run(shelfdb).finally(() => log.mockRestore());
  expect(printed).toEqual([['objects/1.json: changed-live']]);
  const items = async (d: shelfdb.Database): Promise<unknown[]> => {
    const conn = d.open();
    const list = (await conn.root()).get('groceries') as shelfdb.PersistentList;
    await conn.load(list);
    return list.toArray();
  };
  expect(await items(db)).toEqual(['milk', 'bread', 'tea']); // the commit kept the live change
  expect(await items(copy)).toEqual(['milk', 'bread', 'tea']);
  const [a, b] = [await db.storage.transactions(), await copy.storage.transactions()];
  expect(b.map((t) => t.tid)).toEqual(a.map((t) => t.tid));
  await Promise.all([db.close(), copy.close()]);
});

it('runs the README example of blobs as written', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const example = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].find((m) =>
    m[1]?.includes('db.blobs.put('),
  )?.[1];
  expect(example, 'README has a ```ts example of db.blobs').toBeDefined();
  const js = ts.transpileModule(example as string, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const body = js.replace(
    /import\s*\{([^}]*)\}\s*from\s*'shelfdb';/,
    (_, names: string) => `const {${names}} = shelfdb;`,
  );
  expect(body).not.toMatch(/\bimport\b/);
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
    ...args: string[]
  ) => (lib: typeof shelfdb) => Promise<{ db: shelfdb.Database; file: Blob }>;
  const run = new AsyncFunction('shelfdb', `${body}\nreturn { db, file };`);
  const printed: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    printed.push(args.join(' '));
  });
  const { db, file } = await run(shelfdb).finally(() => log.mockRestore());
  expect(printed).toEqual(['sunset.png 11 image/png', 'png', 'avatars/ada.png', '1']);
  expect(file).toBeInstanceOf(File);
  expect(await file.text()).toBe('<png bytes>');
  expect((await db.verify()).ok).toBe(true);
  await db.close();
});

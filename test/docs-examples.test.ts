/**
 * Every ```ts example in docs/ runs as written, in Node, against the sources.
 *
 * Each block is a whole program: it imports what it uses ('shelfdb' is mapped to src/index.ts,
 * 'shelfdb/storage' to worker/index.ts, 'shelfdb/react' to src/react/index.ts, 'node:*' to Node)
 * and checks its own claims with node:assert. A block that cannot run in Node is marked
 * ```ts browser; those are compiled (a syntax error fails) and counted per page in BROWSER_ONLY
 * (the failure names them), so none is skipped silently and a new one is a deliberate change here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const docsDir = new URL('../docs/', import.meta.url);

/** How many browser-only examples each page has (a page not listed has none). */
const BROWSER_ONLY: Record<string, number> = {
  'guide/blobs.md': 1,
  'guide/choosing-a-storage.md': 1,
  'guide/explorer.md': 1,
  'guide/tabs.md': 1,
};

/** Where the package's specifiers point in the repository. */
const PACKAGE = new Map<string, URL>([
  ['shelfdb', new URL('../src/index.ts', import.meta.url)],
  ['shelfdb/storage', new URL('../worker/index.ts', import.meta.url)],
  ['shelfdb/react', new URL('../src/react/index.ts', import.meta.url)],
]);

interface Example {
  /** `file:line`, the file relative to docs/. */
  name: string;
  code: string;
  browser: boolean;
}

function markdownFiles(): string[] {
  return readdirSync(docsDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md') && !f.startsWith('api/'))
    .map((f) => f.split('\\').join('/'))
    .sort();
}

/** @throws Error for a ```ts fence with a marker this test does not know (it would be skipped). */
function examplesOf(file: string): Example[] {
  const lines = readFileSync(new URL(file, docsDir), 'utf8').split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(ts|typescript|js|javascript|tsx)\b(.*)$/.exec(lines[i] as string);
    if (fence === null) continue;
    const marker = (fence[2] as string).trim();
    if (fence[1] !== 'ts' || (marker !== '' && marker !== 'browser')) {
      throw new Error(
        `docs/${file}:${i + 1} opens a code block with "${lines[i]}": write \`\`\`ts (run in Node) or \`\`\`ts browser (browser-only, listed in BROWSER_ONLY).`,
      );
    }
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`docs/${file}:${i + 1}: the code block is never closed.`);
    found.push({
      name: `${file}:${i + 1}`,
      code: lines.slice(i + 1, end).join('\n'),
      browser: marker === 'browser',
    });
    i = end;
  }
  return found;
}

/** The example as CommonJS, so its imports become calls to a `require` the test provides. */
function compile(example: Example): string {
  const out = ts.transpileModule(example.code, {
    fileName: 'example.ts',
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      esModuleInterop: true,
    },
  });
  const errors = (out.diagnostics ?? []).map((d) =>
    ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  );
  expect(errors, `docs/${example.name} compiles`).toEqual([]);
  return out.outputText;
}

const nodeRequire = createRequire(import.meta.url);

/** Loads every module `js` requires, then runs it with a synchronous `require` over them. */
async function run(js: string): Promise<void> {
  const modules = new Map<string, unknown>();
  for (const [, specifier] of js.matchAll(/require\("([^"]+)"\)/g)) {
    const id = specifier as string;
    if (modules.has(id)) continue;
    const source = PACKAGE.get(id);
    if (source !== undefined) modules.set(id, await import(fileURLToPath(source)));
    else if (id.startsWith('node:')) modules.set(id, nodeRequire(id));
    else throw new Error(`An example imports "${id}"; examples import only shelfdb and node:*.`);
  }
  const require = (id: string): unknown => modules.get(id);
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
    ...args: string[]
  ) => (require: (id: string) => unknown, exports: object) => Promise<void>;
  await new AsyncFunction('require', 'exports', js)(require, {});
}

const examples = markdownFiles().flatMap(examplesOf);

describe('the examples in docs/', () => {
  it('has a runnable example on every guide page', () => {
    const pages = markdownFiles().filter((f) => f.startsWith('guide/'));
    expect(pages.length).toBeGreaterThanOrEqual(7);
    for (const page of pages) {
      expect(
        examples.some((e) => !e.browser && e.name.startsWith(`${page}:`)),
        `docs/${page} has a \`\`\`ts example that runs in Node`,
      ).toBe(true);
    }
  });

  it('marks only the listed examples as browser-only, and compiles them', () => {
    const browser = examples.filter((e) => e.browser);
    const perPage: Record<string, number> = {};
    for (const { name } of browser) {
      const page = name.slice(0, name.lastIndexOf(':'));
      perPage[page] = (perPage[page] ?? 0) + 1;
    }
    expect(perPage, `browser-only: ${browser.map((e) => e.name).join(', ')}`).toEqual(BROWSER_ONLY);
    for (const example of browser) compile(example);
  });

  for (const example of examples.filter((e) => !e.browser)) {
    it(`runs docs/${example.name} as written`, async () => {
      await run(compile(example));
    });
  }
});

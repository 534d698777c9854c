import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

/** The rules the repository's lint config reports for `code` placed at `filePath`. */
async function lintAs(filePath: string, code: string): Promise<string[]> {
  const eslint = new ESLint();
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message);
}

describe('the import boundary between page code and storage code', () => {
  it('refuses a static import or re-export of worker/ in page code', async () => {
    expect(await lintAs('src/probe.ts', "export { X } from '../worker/x.js';\n")).toContain(
      'no-restricted-imports',
    );
  });

  it('refuses a dynamic import() of worker/ in page code, string or template literal', async () => {
    const literal = "export const m = (): Promise<unknown> => import('../worker/x.js');\n";
    const template =
      "const n = 'x';\nexport const m = (): Promise<unknown> => import(`../worker/${n}.js`);\n";
    expect(await lintAs('src/probe.ts', literal)).toContain('no-restricted-syntax');
    expect(await lintAs('src/probe.ts', template)).toContain('no-restricted-syntax');
  });

  it('refuses worker/ in the public index too: it takes storage from the composition root', async () => {
    expect(await lintAs('src/index.ts', "export { X } from '../worker/x.js';\n")).toContain(
      'no-restricted-imports',
    );
  });

  it('lets the composition root and page code import page modules dynamically', async () => {
    const code = "export const m = (): Promise<unknown> => import('../worker/x.js');\n";
    expect(await lintAs('src/open-database.ts', code)).toEqual([]);
    const page = "export const m = (): Promise<unknown> => import('./database.js');\n";
    expect(await lintAs('src/probe.ts', page)).toEqual([]);
  });
});

describe('the import boundary around React', () => {
  const imports = [
    "import { useState } from 'react';\nexport const s = useState;\n",
    "import { createRoot } from 'react-dom/client';\nexport const c = createRoot;\n",
    "export { jsx } from 'react/jsx-runtime';\n",
    "export const r = (): Promise<unknown> => import('react');\n",
  ];

  it('refuses React, statically or dynamically, in page code, storage code and tools outside src/react', async () => {
    for (const filePath of [
      'src/probe.ts',
      'src/index.ts',
      'src/open-database.ts',
      'src/shared/probe.ts',
      'worker/probe.ts',
      'scripts/probe.mjs',
      'bench/probe.mjs',
    ]) {
      for (const code of imports) {
        const rules = await lintAs(filePath, code);
        expect(
          rules.some((rule) => rule === 'no-restricted-imports' || rule === 'no-restricted-syntax'),
          `${filePath}: ${code}`,
        ).toBe(true);
      }
    }
  });

  it('lets src/react, the tests and the browser tests import React', async () => {
    for (const filePath of ['src/react/probe.ts', 'test/probe.test.ts', 'e2e/pages/probe.ts']) {
      for (const code of imports) expect(await lintAs(filePath, code), filePath).toEqual([]);
    }
  });

  it('still refuses worker/ in src/react, and src/ outside src/shared in worker/', async () => {
    expect(
      await lintAs('src/react/probe.ts', "export { X } from '../../worker/x.js';\n"),
    ).toContain('no-restricted-imports');
    expect(await lintAs('worker/probe.ts', "export { X } from '../src/react/x.js';\n")).toContain(
      'no-restricted-imports',
    );
  });
});

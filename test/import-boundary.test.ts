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

/**
 * Runs every benchmark case with a tiny N, so `npm run bench` cannot rot between the runs that
 * produce BENCHMARKS.md. (Timings here mean nothing; that each case runs and checks its reads does.)
 */
import { expect, test } from '@playwright/test';
import { withProfile } from './profile.js';

test('every benchmark case runs with a tiny N', async ({ baseURL }) => {
  test.setTimeout(120_000);
  await withProfile(async (context) => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${baseURL}/bench/pages/bench.html`);
    await expect(page.locator('body[data-ready="yes"]')).toBeAttached({ timeout: 60_000 });
    const cases = await page.evaluate(
      () => (window as unknown as { bench: { cases: string[] } }).bench.cases,
    );
    expect(cases.length).toBeGreaterThan(15);
    const run = (name: string, n: number): Promise<Record<string, number>> =>
      page.evaluate(
        ([c, size]) =>
          (
            window as unknown as {
              bench: { run(c: string, n: number, r: number): Promise<Record<string, number>> };
            }
          ).bench.run(c as string, size as number, 0),
        [name, n] as const,
      );
    for (const name of cases) {
      if (name === 'shelfdb.open') continue; // needs its setup first, below
      const result = await run(name, name.endsWith('.small') ? 5 : 300);
      for (const [key, value] of Object.entries(result))
        expect(Number.isFinite(value) || key.endsWith('MB'), `${name}.${key}`).toBe(true);
    }
    await run('shelfdb.openSetup', 300);
    expect((await run('shelfdb.open', 300)).ms).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
});

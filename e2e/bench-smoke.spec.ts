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

test('every blob benchmark case runs on a tiny Blob and reads back what it stored', async ({
  baseURL,
}) => {
  test.setTimeout(120_000);
  const SIZE = 100_000; // not a multiple of 4: the pages' generator fills a partial word
  await withProfile(async (context) => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${baseURL}/bench/pages/blobs.html`);
    await expect(page.locator('body[data-ready="yes"]')).toBeAttached({ timeout: 60_000 });
    type BlobBench = {
      cases: string[];
      reads: string[];
      run(c: string, bytes: number, run: number, phase: string): Promise<Record<string, number>>;
    };
    const { cases, reads } = await page.evaluate(() => {
      const { cases, reads } = (window as unknown as { blobBench: BlobBench }).blobBench;
      return { cases, reads };
    });
    expect(cases.length).toBeGreaterThan(10);
    expect(reads.length).toBeGreaterThan(3);
    const run = (name: string, index: number, phase: string): Promise<Record<string, number>> =>
      page.evaluate(
        ([c, bytes, r, p]) =>
          (window as unknown as { blobBench: BlobBench }).blobBench.run(
            c as string,
            bytes as number,
            r as number,
            p as string,
          ),
        [name, SIZE, index, phase] as const,
      );
    for (const [index, name] of cases.entries()) {
      // A read case stores first; its timed phase throws if a byte or the size read differs.
      if (reads.includes(name)) await run(name, index, 'setup');
      const result = await run(name, index, 'timed');
      expect(result.bytes, name).toBe(SIZE);
      expect(Number.isFinite(result.ms), `${name}.ms`).toBe(true);
    }
    expect(errors).toEqual([]);
  });
});

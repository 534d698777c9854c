// Bundles a module with rolldown (unminified: readable in a profile) and imports it: how the Node
// micro-benchmarks run the TypeScript sources (src/, worker/) without a build.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'rolldown';

/**
 * Imports the bundle of `entry`: a file's path, or `{ source }`, the text of an entry module
 * (its imports as absolute paths). `platform` as rolldown's ('browser' or 'node').
 */
export async function bundleAndImport(entry, platform = 'browser') {
  const dir = await mkdtemp(join(tmpdir(), 'shelfdb-bench-'));
  try {
    let input = entry;
    if (typeof entry !== 'string') {
      input = join(dir, 'entry.ts');
      await writeFile(input, entry.source);
    }
    const out = await build({
      input,
      platform,
      write: false,
      output: { format: 'es', codeSplitting: false },
      logLevel: 'silent',
    });
    const file = join(dir, 'bundle.mjs');
    await writeFile(file, out.output[0].code);
    return await import(pathToFileURL(file).href);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

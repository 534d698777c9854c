/**
 * docs/guide/command-line.md's and README.md's command line examples run as written: every
 * `$ npx shelfdb …` line of their ```sh blocks, in order, on the databases the guide describes
 * (made by cli-fixture.ts), and the output shown under each is what the command prints. Times
 * and sizes are compared by their form only, `…` in a page stands for any text, and the temp
 * directory reads as `.`.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, makeCrashedDamagedDatabase, makeNotesDatabase } from './cli-fixture.js';

const scratch = mkdtempSync(join(tmpdir(), 'shelfdb-cli-docs-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Step {
  /** The line as the page shows it. */
  line: string;
  args: string[];
  expected: string[];
}

/** The page's ```sh lines, each with the output lines under it. */
function stepsOf(page: string): Step[] {
  const steps: Step[] = [];
  const blocks = page.split(/^```sh\n/m).slice(1);
  for (const block of blocks) {
    for (const line of block.slice(0, block.indexOf('```')).split('\n')) {
      if (line.startsWith('$ ')) {
        steps.push({ line, args: shellWords(line.slice(2)), expected: [] });
      } else if (line !== '' && steps.length > 0 && !line.startsWith('npx ')) {
        steps.at(-1)?.expected.push(line);
      }
    }
  }
  return steps;
}

/** Words of a command line: spaces split, single quotes group. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? (m[2] as string));
}

/**
 * What the page may show as of its own run: times, and sizes (pack's output size changes with its
 * implementation; the page shows the form, not a promise of bytes).
 */
function normalize(line: string): string {
  return line
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>')
    .replace(/\d+(\.\d+)? (bytes|KiB|MiB|GiB)/g, '<size>')
    .replace(/\d+(\.\d+)?%/g, '<ratio>')
    .replace(/"(bytes|garbageBytes|garbageRatio)":[\d.]+/g, '"$1":<n>');
}

/** A line of the page as a pattern over a normalized line: `…` matches anything. */
function pattern(line: string): RegExp {
  const parts = normalize(line)
    .split('…')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`);
}

/**
 * Runs `file`'s shelfdb lines in order in a fresh directory holding the guide's notes database
 * (`./notes-db`) and its damaged ledger (`./ledger`); returns how many ran.
 */
async function runExamples(file: string): Promise<number> {
  const page = readFileSync(new URL(file, import.meta.url), 'utf8');
  const dir = mkdtempSync(join(scratch, 'page-'));
  await makeNotesDatabase(join(dir, 'notes-db'));
  await makeCrashedDamagedDatabase(join(dir, 'ledger'));
  const local = (text: string): string => text.replaceAll(`${dir}/`, './');
  const steps = stepsOf(page);
  for (const step of steps) {
    const [program, ...rest] = step.args;
    if (program === 'cp') {
      cpSync(join(dir, rest[1] as string), join(dir, rest[2] as string), { recursive: true });
      continue;
    }
    expect(step.args.slice(0, 2), step.line).toEqual(['npx', 'shelfdb']);
    const args = step.args.slice(2).map((a) => (a.startsWith('./') ? join(dir, a) : a));
    const run = await cli(args);
    const printed = local(run.stdout + run.stderr)
      .split('\n')
      .filter((l) => l !== '');
    expect(printed.length, `${step.line}\n${printed.join('\n')}`).toBe(step.expected.length);
    step.expected.forEach((line, i) => {
      expect(normalize(printed[i] ?? ''), `${step.line}\n${printed.join('\n')}`).toMatch(
        pattern(line),
      );
    });
  }
  return steps.length;
}

describe('the command line examples of the docs', () => {
  it('docs/guide/command-line.md: every shelfdb command in it prints what the page shows', async () => {
    expect(await runExamples('../docs/guide/command-line.md')).toBeGreaterThan(10);
  });

  it("README.md: its command line examples print what it shows, on the guide's notes database", async () => {
    expect(await runExamples('../README.md')).toBeGreaterThanOrEqual(2);
  });
});

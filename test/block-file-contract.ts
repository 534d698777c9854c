/**
 * The BlockFile contract, as plain checks with no test runner, so the same code runs in Vitest
 * (memory, Node files) and inside a real worker in Chromium (OPFS sync access handles).
 * Each check throws with a message on failure.
 */
import type { BlockDirectory } from '../worker/block-file.js';

type Check = [name: string, run: (dir: BlockDirectory) => Promise<void>];

function equal(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

const bytes = (...xs: number[]): Uint8Array => new Uint8Array(xs);

export const blockFileChecks: Check[] = [
  [
    'a new file is empty',
    async (dir) => {
      const f = await dir.open('a');
      equal(f.size(), 0, 'size');
      equal([...f.read(0, 10)], [], 'read');
      f.close();
    },
  ],
  [
    'writes at offsets and reads them back, short at the end',
    async (dir) => {
      const f = await dir.open('b');
      f.write(0, bytes(1, 2, 3));
      f.write(5, bytes(9));
      equal(f.size(), 6, 'size');
      equal([...f.read(0, 100)], [1, 2, 3, 0, 0, 9], 'read');
      equal([...f.read(2, 2)], [3, 0], 'read inside');
      equal([...f.read(10, 2)], [], 'read past the end');
      f.write(1, bytes(7, 7));
      equal([...f.read(0, 6)], [1, 7, 7, 0, 0, 9], 'overwrite');
      f.close();
    },
  ],
  [
    'truncates and grows',
    async (dir) => {
      const f = await dir.open('c');
      f.write(0, bytes(1, 2, 3, 4));
      f.truncate(2);
      equal(f.size(), 2, 'shrunk');
      equal([...f.read(0, 10)], [1, 2], 'after shrink');
      f.truncate(4);
      equal([...f.read(0, 10)], [1, 2, 0, 0], 'grown with zeros');
      f.close();
    },
  ],
  [
    'keeps flushed content when reopened, and lists and removes files',
    async (dir) => {
      const f = await dir.open('d');
      const big = new Uint8Array(200_000).map((_, i) => i % 251);
      f.write(0, big);
      f.flush();
      f.close();
      const again = await dir.open('d');
      equal(again.size(), 200_000, 'size after reopen');
      const back = again.read(0, 200_000);
      equal(
        back.every((x, i) => x === i % 251),
        true,
        'content after reopen',
      );
      again.close();
      equal((await dir.list()).includes('d'), true, 'listed');
      await dir.remove('d');
      equal((await dir.list()).includes('d'), false, 'removed');
      await dir.remove('d'); // again: no error
    },
  ],
];

/** Runs every check in a fresh directory from `make`; resolves to the failures (empty: passed). */
export async function runBlockFileChecks(make: () => Promise<BlockDirectory>): Promise<string[]> {
  const failures: string[] = [];
  for (const [name, run] of blockFileChecks) {
    try {
      await run(await make());
    } catch (error) {
      failures.push(`${name}: ${String(error)}`);
    }
  }
  return failures;
}

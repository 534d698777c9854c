/**
 * What the browser build has instead of directory.ts: a checkout is a folder on disk, which is
 * Node's, and directory.ts's code (node:fs) must not reach a browser bundle (scripts/build.mjs and
 * demo/vite.config.ts put this module in its place). Each function rejects with a ShelfError
 * saying so and what to use instead, as worker/file-storage.browser.ts does for storage 'file'.
 */
import { ShelfError } from '../shared/errors.js';
import type { ArchiveEntry, StreamedEntry } from './snarf.js';
import type { CheckoutResult } from './directory.js';

export type { CheckoutResult } from './directory.js';

/** The error every function here rejects with. */
function nodeOnly(what: string, dir: string): ShelfError {
  return new ShelfError(
    `${what} (directory ${JSON.stringify(dir)}) exists in Node only, and this is shelfdb's browser build. In a browser, pass the archive itself: a Blob or File (an upload), a ReadableStream or a Uint8Array; exportTree's stream can be saved as a download.`,
  );
}

/**
 * Rejects: a checkout is a directory in Node only.
 * @throws ShelfError always.
 */
export function checkCheckoutTarget(dir: string): Promise<void> {
  return Promise.reject(nodeOnly('A checkout to a directory', dir));
}

/**
 * Rejects: a checkout is written to a directory in Node only.
 * @throws ShelfError always.
 */
export function writeCheckout(
  dir: string,
  _entries: AsyncIterable<ArchiveEntry | StreamedEntry> | Iterable<ArchiveEntry | StreamedEntry>,
): Promise<CheckoutResult> {
  return Promise.reject(nodeOnly('A checkout to a directory', dir));
}

/**
 * Rejects at the first step: a checkout is read from a directory in Node only.
 * @throws ShelfError always.
 */
export function directoryEntries(dir: string): AsyncGenerator<ArchiveEntry>;
export function directoryEntries(
  dir: string,
  options: { streamed: (path: string) => boolean },
): AsyncGenerator<ArchiveEntry | StreamedEntry>;
// eslint-disable-next-line require-yield -- it has nothing to yield: it refuses before the first entry
export async function* directoryEntries(
  dir: string,
  _options?: { streamed: (path: string) => boolean },
): AsyncGenerator<ArchiveEntry | StreamedEntry> {
  throw nodeOnly('Reading a checkout from a directory', dir);
}

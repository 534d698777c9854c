/**
 * Opening the files when a tab takes them over: the previous owner's file handles may take a
 * moment to be released after its tab closed, which the storage reports as StorageBusyError.
 */
import { StorageBusyError } from '../src/shared/errors.js';
import type { Storage } from '../src/shared/storage.js';

/**
 * Opens with `open`, again after a growing pause (10 ms up to 500 ms) while it fails with
 * StorageBusyError, for `timeout` milliseconds at most.
 * @throws the error of the last try, or at once any error other than StorageBusyError.
 */
export async function openWithRetry(
  open: () => Promise<Storage>,
  timeout: number,
): Promise<Storage> {
  const deadline = Date.now() + timeout;
  for (let wait = 10; ; wait = Math.min(wait * 2, 500)) {
    try {
      return await open();
    } catch (error) {
      if (!(error instanceof StorageBusyError) || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/**
 * The loop behind `conn.transact(fn)`: run `fn`, commit, and return what it returned. A GhostError
 * from `fn` rolls back its changes, loads the missing object (and those rolled back) in one round
 * trip and runs `fn` again on the same snapshot — so code inside transact may follow references
 * synchronously, as in Durus. A ConflictError aborts, reloads, waits a short random time (so
 * colliding writers spread out) and runs `fn` again on the newest snapshot, up to `retries` times.
 *
 * A StorageBusyError from the commit means its fate is not known (it may have landed): `fn` must
 * not run again, since its changes are in that transaction. The commit is retried instead, which
 * resends the very same transaction (the connection keeps it; see pending-commit.ts) and so lands
 * it exactly once; up to `retries` times, at once (the storage already waited its busy timeout,
 * and resends do not collide with other writers the way conflicting runs do).
 */
import { ConflictError, GhostError, ShelfError, StorageBusyError } from './shared/errors.js';
import type { Tid } from './shared/storage.js';
import type { CommitOptions } from './pending-commit.js';

/** What `conn.transact(fn, options)` takes. */
export interface TransactOptions extends CommitOptions {
  /**
   * How many times a ConflictError makes `fn` run again on the newest snapshot, and, counted
   * apart, how many times a commit that failed with StorageBusyError is resent. Default 5.
   */
  retries?: number;
}

/** Bound on ghost replays in one transaction. */
const MAX_REPLAYS = 10_000;
/** Upper bound of the random wait before a conflict retry, in ms. */
const MAX_BACKOFF_MS = 50;

/** What the loop needs from its connection. */
export interface TransactionSteps {
  commit(options: CommitOptions): Promise<Tid>;
  /**
   * Turns the changed objects back into ghosts, keeping the snapshot, and names the held ones in
   * 'change' (what shows them may have rendered fn's changes). Returns their oids.
   */
  rollback(): number[];
  /** Loads objects at the snapshot, in one round trip. */
  fetch(oids: number[]): Promise<void>;
  /** abort(), then reloads what it turned into ghosts. */
  abortAndReload(): Promise<void>;
}

/**
 * `retries` (default 5) apart from what the commit stores.
 * @throws RangeError for a `retries` that is not a non-negative integer.
 */
export function splitTransactOptions(options: TransactOptions): {
  retries: number;
  commitOptions: CommitOptions;
} {
  const { retries = 5, ...commitOptions } = options;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new RangeError(`transact: retries must be a non-negative integer, got ${retries}.`);
  }
  return { retries, commitOptions };
}

/** Commits, resending after StorageBusyError up to `retries` times. */
async function commitResending(
  steps: TransactionSteps,
  commitOptions: CommitOptions,
  retries: number,
): Promise<Tid> {
  for (let resends = 0; ; resends++) {
    try {
      return await steps.commit(commitOptions);
    } catch (error) {
      if (!(error instanceof StorageBusyError) || resends >= retries) throw error;
    }
  }
}

export async function runTransaction<T>(
  steps: TransactionSteps,
  fn: () => T | Promise<T>,
  retries: number,
  commitOptions: CommitOptions,
): Promise<T> {
  let conflicts = 0;
  let replays = 0;
  let lastGhost: number | undefined;
  for (;;) {
    try {
      const result = await fn();
      await commitResending(steps, commitOptions, retries);
      return result;
    } catch (error) {
      if (error instanceof GhostError && error.oid >= 0) {
        if (error.oid === lastGhost || ++replays > MAX_REPLAYS) {
          steps.rollback();
          throw new ShelfError(
            `transact() kept finding ${error.className} ${error.oid} unloaded (${replays} replays): the function must not keep turning objects into ghosts.`,
          );
        }
        lastGhost = error.oid;
        const rolledBack = steps.rollback();
        try {
          await steps.fetch([error.oid, ...rolledBack]);
        } catch (loadError) {
          if (!(loadError instanceof ConflictError)) throw loadError;
          if (conflicts++ >= retries) throw loadError;
          await steps.abortAndReload();
        }
        continue;
      }
      if (error instanceof ConflictError && conflicts < retries) {
        conflicts++;
        lastGhost = undefined;
        await new Promise((r) =>
          setTimeout(r, Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** conflicts)),
        );
        await steps.abortAndReload();
        continue;
      }
      if (!(error instanceof ConflictError)) steps.rollback();
      throw error;
    }
  }
}

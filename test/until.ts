/**
 * Waiting in tests for what the test waits for, never for a length of time.
 *
 * A turn is one pass of Node's event loop: a timer task (`setTimeout(0)`, which runs after every
 * timer task queued before it, such as the fake tabs' message deliveries and lock grants) and then
 * a check task (`setImmediate`, what the storages schedule after their I/O, such as a group
 * commit's flush). The microtasks of each task run before the next task. Waits are bounded in
 * turns, not milliseconds: a loaded machine makes them slower, never makes them fail.
 */

/** One pass of the event loop: a timer task, then a check task. */
export async function turn(): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** How many turns a wait takes before it fails: far more than any message chain here needs. */
export const MAX_TURNS = 2000;

/**
 * Resolves once `predicate` holds, checking it now and after each turn: for a state that no event
 * announces (a counter).
 * @throws Error naming `what` when it still does not hold after `turns` turns.
 */
export async function until(
  predicate: () => boolean,
  what: string,
  turns = MAX_TURNS,
): Promise<void> {
  for (let done = 0; !predicate(); done++) {
    if (done >= turns)
      throw new Error(`Still waiting for ${what} after ${turns} event-loop turns.`);
    await turn();
  }
}

/**
 * Resolves with what `promise` resolves to, or fails naming `what` when it has not settled after
 * `turns` turns (instead of the test's timeout, which names nothing).
 */
export async function eventually<T>(
  promise: Promise<T>,
  what: string,
  turns = MAX_TURNS,
): Promise<T> {
  let settled = false;
  const mark = (): void => void (settled = true);
  promise.then(mark, mark); // a rejection reaches the caller through the promise returned below
  await until(() => settled, what, turns);
  return promise;
}

/** The next event of `type` on `target` that `accept` takes; listen before causing it. */
export function nextEvent<E extends Event>(
  target: EventTarget,
  type: string,
  accept: (event: E) => boolean = () => true,
): Promise<E> {
  return new Promise<E>((resolve) => {
    const listener = (event: Event): void => {
      if (!accept(event as E)) return;
      target.removeEventListener(type, listener);
      resolve(event as E);
    };
    target.addEventListener(type, listener);
  });
}

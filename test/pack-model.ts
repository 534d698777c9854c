/**
 * The object graph the pack model tests (shelf-pack-model, hunt13-many-packs) keep beside the
 * storage: each object's value and refs as of one tid, and what the root reaches.
 */

/** One object as of one tid: its value and its refs. */
export interface Node {
  value: number;
  refs: number[];
}

/** oid → node; oid 0 is the root. */
export type State = Map<number, Node>;

/** The oids reachable from the root in `state` (the root included). */
export function reachable(state: State): Set<number> {
  const seen = new Set<number>([0]);
  const todo = [0];
  while (todo.length > 0) {
    for (const ref of state.get(todo.pop() as number)?.refs ?? []) {
      if (seen.has(ref)) continue;
      seen.add(ref);
      todo.push(ref);
    }
  }
  return seen;
}

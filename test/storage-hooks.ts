/** Small test helpers shared by the storage and tab tests. No module-level state. */
import type { Storage } from '../src/shared/storage.js';

/** The storage with `hooks` in front of it (some methods replaced); `seen` lists every call. */
export function hooked(storage: Storage, hooks: Partial<Storage>, seen: string[] = []): Storage {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      const hook = (hooks as Record<string | symbol, unknown>)[prop];
      const value = hook ?? Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        seen.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(
          hook === undefined ? target : hooks,
          args,
        );
      };
    },
  });
}

/** Refs whose copy throws half way through a commit, after earlier records were taken in. */
export function throwingRefs(): number[] {
  const refs: number[] = [];
  refs[Symbol.iterator] = function* () {
    yield* [];
    throw new Error('injected failure while copying refs');
  };
  return refs;
}

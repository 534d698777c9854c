import type { Storage } from '../src/index.js';

/**
 * `storage` with hooks around each load: `before` runs before the load is sent, `after` once its
 * answer is in and before it is handed back — where a test lands another tab's commit (or a pack)
 * "during" the round trip. Every other member is the storage's own.
 */
export function hookLoads(
  storage: Storage,
  hooks: { before?: () => Promise<void> | void; after?: () => Promise<void> | void },
): Storage {
  return new Proxy(storage, {
    get(target, key) {
      if (key === 'load') {
        return async (oids: number[], at?: number) => {
          await hooks.before?.();
          const records = await target.load(oids, at);
          await hooks.after?.();
          return records;
        };
      }
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

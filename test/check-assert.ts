/**
 * Assertions for runner-free checks (test/storage-checks*.ts): plain functions that throw an Error
 * saying what differed, so the same checks run under Vitest and in a page or worker in Chromium.
 * Byte arrays compare by content; objects by their own enumerable keys.
 */

/** A canonical text of `value` for comparison and messages (bytes as arrays, undefined kept). */
export function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === undefined) return '«undefined»';
    if (typeof v === 'bigint') return `${v}n`;
    if (ArrayBuffer.isView(v))
      return { bytes: [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)] };
    if (v instanceof Set) return { set: [...v] };
    if (v instanceof Map) return { map: [...v] };
    return v;
  });
}

/** Throws unless `actual` and `expected` are deeply equal. */
export function equal(actual: unknown, expected: unknown, what: string): void {
  const a = show(actual);
  const e = show(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Throws unless every key of `expected` has an equal value in `actual`. */
export function includes(actual: unknown, expected: Record<string, unknown>, what: string): void {
  const a = (actual ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(expected)) equal(a[key], value, `${what}, .${key}`);
}

/** Throws unless `condition` holds. */
export function ok(condition: boolean, what: string): void {
  if (!condition) throw new Error(`${what}: does not hold`);
}

/** Resolves to the error `promise` rejects with; throws if it resolves or rejects with another class. */
export async function rejects<E extends Error>(
  promise: Promise<unknown>,
  kind: abstract new (...args: never[]) => E,
  what: string,
): Promise<E> {
  let outcome: { value: unknown } | { error: unknown };
  try {
    outcome = { value: await promise };
  } catch (error) {
    outcome = { error };
  }
  if ('value' in outcome) {
    throw new Error(`${what}: expected ${kind.name}, resolved with ${show(outcome.value)}`);
  }
  if (!(outcome.error instanceof kind)) {
    const e = outcome.error as { name?: unknown; message?: unknown } | null;
    throw new Error(
      `${what}: expected ${kind.name}, got ${String(e?.name)}: ${String(e?.message ?? e)}`,
      { cause: outcome.error },
    );
  }
  return outcome.error;
}

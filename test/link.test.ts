/**
 * The Comlink handlers shelfdb registers (src/shared/link.ts) live in Comlink's one map for the
 * whole page: they must carry shelfdb's values and leave the app's own Comlink links as they were.
 */
import { describe, expect, it } from 'vitest';
import { transferHandlers, type TransferHandler } from 'comlink';
import { registerLinkHandlers } from '../src/shared/link.js';
import { RecordBatch } from '../src/shared/record-batch.js';
import { StorageFullError, WriteConflictError } from '../src/shared/errors.js';

registerLinkHandlers();
const handler = (name: string) => transferHandlers.get(name) as TransferHandler<unknown, unknown>;
/** What Comlink 4.4's own 'throw' handler does with what arrives: an app's side without shelfdb. */
function comlinkDefaultDeserialize(serialized: { isError: boolean; value: unknown }): unknown {
  if (serialized.isError) {
    const value = serialized.value as { message: string };
    return Object.assign(new Error(value.message), value);
  }
  return serialized.value;
}
describe('the Comlink handlers of the link', () => {
  it('takes only shelfdb record batches, never an app value such as an array or an Error', () => {
    const records = handler('shelfdb:records');
    expect(records.canHandle(RecordBatch.of([]))).toBe(true);
    for (const value of [[], new ArrayBuffer(8), new Error('x'), { records: [] }, null]) {
      expect(records.canHandle(value)).toBe(false);
    }
    expect([...transferHandlers.keys()].sort()).toEqual(['proxy', 'shelfdb:records', 'throw']);
  });

  it('sends a thrown shelfdb error in the shape Comlink itself reads, with its class and fields', async () => {
    const { expose, wrap } = await import('comlink');
    const { port1, port2 } = new MessageChannel();
    expose(
      {
        conflict: () => {
          throw new WriteConflictError([3, 4]);
        },
        full: () => Promise.reject(new StorageFullError('no room')),
        plain: () => {
          throw new RangeError('plain');
        },
        notAnError: () => {
          throw 'a string';
        },
      },
      port1,
    );
    const remote = wrap<{
      conflict(): void;
      full(): void;
      plain(): void;
      notAnError(): void;
    }>(port2);
    const conflict = await remote.conflict().catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(WriteConflictError);
    expect((conflict as WriteConflictError).oids).toEqual([3, 4]);
    expect(await remote.full().catch((e: unknown) => e)).toBeInstanceOf(StorageFullError);
    const plain = (await remote.plain().catch((e: unknown) => e)) as Error;
    expect(plain).toBeInstanceOf(Error);
    expect([plain.name, plain.message]).toEqual(['RangeError', 'plain']);
    expect(await remote.notAnError().catch((e: unknown) => e)).toBe('a string');
    port1.close();
    port2.close();
  });

  it("writes the wire shape of Comlink's own throw handler, so an app side without shelfdb reads it", () => {
    const throwHandler = handler('throw');
    const error = new WriteConflictError([7]);
    // What Comlink hands the handler for a thrown value: a wrapper holding it as `value`.
    const [serialized] = throwHandler.serialize({ value: error }) as [
      { isError: boolean; value: Record<string, unknown> },
      Transferable[],
    ];
    expect(serialized.isError).toBe(true);
    expect(serialized.value).toMatchObject({ name: 'WriteConflictError', message: error.message });
    const read = comlinkDefaultDeserialize(serialized) as Error;
    expect(read).toBeInstanceOf(Error);
    expect([read.name, read.message]).toEqual(['WriteConflictError', error.message]);
    const [other] = throwHandler.serialize({ value: 42 }) as [unknown, Transferable[]];
    expect(comlinkDefaultDeserialize(other as { isError: boolean; value: unknown })).toBe(42);
  });
});

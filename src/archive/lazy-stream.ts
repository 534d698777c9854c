/**
 * A stream whose source is still being made: `db.backup()` answers at once with a stream while
 * the module that writes the backup is loaded (loaded when first used, as `undo` is). Reads wait
 * for the source, then pass its chunks on; cancelling cancels the source.
 */

/** A ReadableStream that reads from `source` once it resolves (its rejection errors the stream). */
export function lazyStream<T>(source: Promise<ReadableStream<T>>): ReadableStream<T> {
  let reader: ReadableStreamDefaultReader<T> | undefined;
  const open = async (): Promise<ReadableStreamDefaultReader<T>> =>
    (reader ??= (await source).getReader());
  return new ReadableStream<T>(
    {
      async pull(controller) {
        const { done, value } = await (await open()).read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        await (await open()).cancel(reason);
      },
    },
    // Nothing is asked of the source before the reader reads (the backup is pull-based).
    { highWaterMark: 0 },
  );
}

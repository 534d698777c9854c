/**
 * StoredBlob.stream() against a BlobReader whose platform file the test controls: a stream reads
 * the platform file's own stream, cancels it when cancelled (also while the file is still being
 * asked for), finishes through the storage when the platform stream fails part way (a File of
 * OPFS or of fs.openAsBlob whose file went), and says so with the storage's StorageError when the
 * blob file is gone, or that it is damaged when it holds fewer bytes than its record. And
 * StoredBlob and StoredFile, sharing their methods, keep the platform classes and members.
 */
import { describe, expect, it } from 'vitest';
import { StorageError } from '../src/shared/errors.js';
import { makeStoredBlob, StoredBlob, StoredFile, type BlobReader } from '../src/stored-blob.js';
import { bytesOf, deferred, sameBytes } from './blobs-fixture.js';

const MiB = 1 << 20;
const HASH = 'ab'.repeat(32);
const PIECE = 64 * 1024;

/** What the platform file's stream did: pieces pulled, whether and why it was cancelled. */
interface Source {
  pulls: number;
  cancelled?: unknown;
  opened: number;
}

/**
 * A platform Blob of `bytes` whose stream gives PIECE-byte chunks, counted in `source`, and fails
 * with NotReadableError (as Chromium and Node do when the file went) after `failAfter` of them.
 */
function platformFile(bytes: Uint8Array, source: Source, failAfter = Infinity): Blob {
  const of = (from: number, to: number): Blob =>
    ({
      size: to - from,
      slice: (start = 0, end = to - from) =>
        of(from + start, Math.min(from + end, to)) as unknown as Blob,
      stream: () => {
        source.opened++;
        let at = from;
        return new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (source.pulls >= failAfter) {
                throw new DOMException('The blob could not be read', 'NotReadableError');
              }
              source.pulls++;
              if (at >= to) return controller.close();
              const end = Math.min(at + PIECE, to);
              controller.enqueue(bytes.slice(at, end));
              at = end;
            },
            cancel(reason) {
              source.cancelled = reason;
            },
          },
          { highWaterMark: 0 },
        );
      },
    }) as unknown as Blob;
  return of(0, bytes.length);
}

/** A reader over `bytes` (its platform file as `file` says), counting readBlob calls. */
function reader(
  bytes: Uint8Array,
  file: () => Promise<Blob>,
  readBlob: (start: number, end: number) => Promise<Uint8Array> = async (start, end) =>
    bytes.slice(start, end),
): BlobReader & { readBlobCalls: number } {
  const r = {
    readBlobCalls: 0,
    readBlob: async (_hash: string, start: number, end: number) => {
      r.readBlobCalls++;
      return readBlob(start, end);
    },
    blobFile: file,
  };
  return r;
}

function storedOf(r: BlobReader, size: number, name: string | null = null) {
  return makeStoredBlob(r, {
    oid: 42,
    hash: HASH,
    size,
    type: 'application/x-test',
    name,
    lastModified: name === null ? null : 1234,
  });
}

/** Everything the stream gives, read to its end. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

describe('StoredBlob.stream() and the platform file', () => {
  it("reads a large blob from the platform file's stream, asked for once", async () => {
    const bytes = bytesOf(3 * MiB);
    const source: Source = { pulls: 0, opened: 0 };
    let asked = 0;
    const r = reader(bytes, async () => (asked++, platformFile(bytes, source)));
    const blob = storedOf(r, bytes.length);
    expect(sameBytes(await drain(blob.stream()), bytes)).toBe(true);
    expect(sameBytes(await drain(blob.slice(5, -5).stream()), bytes.slice(5, -5))).toBe(true);
    expect([asked, source.opened, r.readBlobCalls]).toEqual([2, 2, 0]);
  });

  it('cancelling a stream part way cancels the platform stream, which reads no further', async () => {
    const bytes = bytesOf(4 * MiB);
    const source: Source = { pulls: 0, opened: 0 };
    const blob = storedOf(
      reader(bytes, async () => platformFile(bytes, source)),
      bytes.length,
    );
    const stream = blob.stream().getReader();
    const first = await stream.read();
    const second = await stream.read();
    expect(sameBytes(first.value as Uint8Array, bytes.slice(0, PIECE))).toBe(true);
    expect(second.done).toBe(false);
    await stream.cancel('enough');
    expect(source.cancelled).toBe('enough');
    expect(source.pulls).toBeLessThan((4 * MiB) / PIECE);
  });

  it('a stream cancelled while its platform file is being asked for opens no platform stream', async () => {
    const bytes = bytesOf(2 * MiB);
    const source: Source = { pulls: 0, opened: 0 };
    const gate = deferred();
    const asked = deferred();
    const blob = storedOf(
      reader(bytes, async () => {
        asked.resolve();
        await gate.promise;
        return platformFile(bytes, source);
      }),
      bytes.length,
    );
    const stream = blob.stream().getReader();
    const pending = stream.read();
    await asked.promise;
    await stream.cancel('gone');
    gate.resolve();
    expect((await pending).done).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(source.opened).toBe(0);
  });

  it('a platform stream that fails part way is finished through the storage, byte for byte', async () => {
    const bytes = bytesOf(3 * MiB + 7);
    const source: Source = { pulls: 0, opened: 0 };
    const r = reader(bytes, async () => platformFile(bytes, source, 5));
    const part = storedOf(r, bytes.length).slice(100);
    expect(sameBytes(await drain(part.stream()), bytes.slice(100))).toBe(true);
    expect(source.pulls).toBe(5);
    expect(r.readBlobCalls).toBeGreaterThan(0);
  });

  it('a platform stream that fails because the blob file went errors with the StorageError naming the blob', async () => {
    const bytes = bytesOf(2 * MiB);
    const source: Source = { pulls: 0, opened: 0 };
    const r = reader(
      bytes,
      async () => platformFile(bytes, source, 3),
      async () => {
        throw new StorageError(`No blob ${HASH} is stored.`);
      },
    );
    const file = storedOf(r, bytes.length, 'song.ogg');
    const error = await drain(file.stream()).then(
      () => 'read',
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain(HASH);
    expect((error as Error).message).toContain('"song.ogg"');
  });

  it('a platform file that ends before the range does errors the stream as damaged', async () => {
    const bytes = bytesOf(2 * MiB);
    const source: Source = { pulls: 0, opened: 0 };
    const short = bytes.slice(0, MiB + 10);
    const blob = storedOf(
      reader(short, async () => platformFile(short, source)),
      bytes.length,
    );
    await expect(drain(blob.stream())).rejects.toThrow(/damaged/);
  });

  it('a blobFile refusal errors the stream at its first pull with the StorageError naming the blob', async () => {
    const blob = storedOf(
      reader(new Uint8Array(0), async () => {
        throw new StorageError('The database is closed.');
      }),
      2 * MiB,
    );
    const stream = blob.stream();
    const error = await drain(stream).then(
      () => 'read',
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain(HASH);
  });
});

describe('StoredBlob and StoredFile', () => {
  it('keep the platform classes, their members, and slices that are StoredBlobs of the range', async () => {
    const bytes = bytesOf(5000);
    const r = reader(bytes, async () => new Blob([bytes]));
    const blob = storedOf(r, bytes.length);
    const file = storedOf(r, bytes.length, 'a.bin') as StoredFile;
    expect(blob).toBeInstanceOf(StoredBlob);
    expect(blob).toBeInstanceOf(Blob);
    expect(blob).not.toBeInstanceOf(File);
    expect(file).toBeInstanceOf(StoredFile);
    expect(file).toBeInstanceOf(File);
    expect(file).not.toBeInstanceOf(StoredBlob);
    expect([file.name, file.lastModified, file.size, file.type, file.hash]).toEqual([
      'a.bin',
      1234,
      5000,
      'application/x-test',
      HASH,
    ]);
    for (const whole of [blob, file]) {
      const part = whole.slice(-100, undefined, 'text/plain');
      expect(part).toBeInstanceOf(StoredBlob);
      expect(part).not.toBeInstanceOf(File);
      expect([part.size, part.type, part.hash]).toEqual([100, 'text/plain', HASH]);
      expect(sameBytes(await part.bytes(), bytes.slice(-100))).toBe(true);
      expect(sameBytes(await part.arrayBuffer(), bytes.slice(-100))).toBe(true);
      expect(await whole.slice(0, 0).text()).toBe('');
    }
    const platform = await file.file();
    expect(platform).not.toBeInstanceOf(StoredFile);
    expect([platform.name, platform.lastModified, platform.size]).toEqual(['a.bin', 1234, 5000]);
    expect((await blob.file()).type).toBe('application/x-test');
  });
});

import { describe, expect, it } from 'vitest';
import {
  archiveBytes,
  END_ENTRY,
  readArchive,
  writeArchive,
  type ArchiveEntry,
  type ArchiveSource,
} from '../src/archive/snarf.js';
import { CorruptStorageError } from '../src/shared/errors.js';

const text = new TextEncoder();
const entry = (path: string, content: string): ArchiveEntry => ({
  path,
  bytes: text.encode(content),
});

async function readAll(source: ArchiveSource): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  for await (const e of readArchive(source))
    out.push({ path: e.path, text: new TextDecoder().decode(e.bytes) });
  return out;
}

const sample = (): ArchiveEntry[] => [
  entry('shelfdb-archive.json', '{"format":"shelfdb-archive"}'),
  entry('objects/12.json', '{\n  "class": "app.Todo"\n}\n'),
  entry('objects/empty.json', ''),
  entry('objects/lines.json', 'a\nb\n\n12 fake/header\n'),
];

describe('SNARF archives', () => {
  it('round-trips entries, empty ones and contents that look like headers', async () => {
    const bytes = await archiveBytes(writeArchive(sample()));
    expect(new TextDecoder().decode(bytes.subarray(0, 52))).toBe(
      '28 shelfdb-archive.json\n{"format":"shelfdb-archive"}',
    );
    expect(await readAll(bytes)).toEqual(
      sample().map((e) => ({ path: e.path, text: new TextDecoder().decode(e.bytes) })),
    );
  });

  it('reads the same entries gzip-compressed, from a Blob and from a stream', async () => {
    const plain = await archiveBytes(writeArchive(sample()));
    const gz = await archiveBytes(writeArchive(sample(), { gzip: true }));
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    const expected = await readAll(plain);
    expect(await readAll(gz)).toEqual(expected);
    expect(await readAll(new Blob([gz]))).toEqual(expected);
    expect(await readAll(writeArchive(sample(), { gzip: true }))).toEqual(expected);
  });

  it('reads an archive split into one-byte chunks', async () => {
    const bytes = await archiveBytes(writeArchive(sample()));
    let i = 0;
    const trickle = new ReadableStream<Uint8Array>({
      pull(c) {
        if (i < bytes.length) c.enqueue(bytes.subarray(i, ++i));
        else c.close();
      },
    });
    expect(await readAll(trickle)).toEqual(await readAll(bytes));
  });

  it('asks its source for an entry only when the reader wants more bytes', async () => {
    let produced = 0;
    function* source(): Generator<ArchiveEntry> {
      for (let i = 0; i < 1000; i++) {
        produced++;
        yield entry(`e/${i}`, 'x'.repeat(100));
      }
    }
    const reader = writeArchive(source()).getReader();
    await reader.read();
    await reader.read();
    expect(produced).toBeLessThanOrEqual(2);
    await reader.cancel();
  });

  it('refuses a flipped byte anywhere, naming an entry, and reads nothing past the damage silently', async () => {
    const bytes = await archiveBytes(writeArchive(sample()));
    for (let i = 0; i < bytes.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const damaged = bytes.slice();
        damaged[i] = (damaged[i] as number) ^ flip;
        const error = await readAll(damaged).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `byte ${i} ^ ${flip}`).toBeInstanceOf(CorruptStorageError);
        expect((error as Error).message).toMatch(/archive|entry/);
      }
    }
  });

  it('refuses an archive cut at every length', async () => {
    const bytes = await archiveBytes(writeArchive(sample()));
    for (let n = 0; n < bytes.length; n++) {
      await expect(readAll(bytes.subarray(0, n)), `cut at ${n}`).rejects.toBeInstanceOf(
        CorruptStorageError,
      );
    }
  });

  it('refuses a damaged or cut gzip archive', async () => {
    const gz = await archiveBytes(writeArchive(sample(), { gzip: true }));
    for (let n = 2; n < gz.length; n += 7) {
      await expect(readAll(gz.subarray(0, n)), `cut at ${n}`).rejects.toBeInstanceOf(
        CorruptStorageError,
      );
    }
    for (let i = 10; i < gz.length; i += 5) {
      const damaged = gz.slice();
      damaged[i] = (damaged[i] as number) ^ 0x10;
      await expect(readAll(damaged), `byte ${i}`).rejects.toBeInstanceOf(CorruptStorageError);
    }
  });

  it('names what is wrong with foreign files, extra bytes and entries after the end', async () => {
    await expect(readAll(text.encode('{"not": "an archive"}'))).rejects.toThrow(
      /not a shelfdb archive/,
    );
    await expect(readAll(new Uint8Array())).rejects.toThrow(/empty/);
    const bytes = await archiveBytes(writeArchive(sample()));
    const extra = new Uint8Array([...bytes, 0x0a]);
    await expect(readAll(extra)).rejects.toThrow(/bytes after its end entry/);
    await expect(readAll(text.encode('5 ../x\nhello'))).rejects.toThrow(/path/);
    await expect(readAll(text.encode('99999999999 a\n'))).rejects.toThrow(/claims/);
    const cut = new TextDecoder().decode(bytes).lastIndexOf(`${END_ENTRY}`);
    const header = new TextDecoder().decode(bytes.subarray(0, cut)); // up to the end's path
    await expect(readAll(bytes.subarray(0, header.lastIndexOf('\n') + 1))).rejects.toThrow(
      /cut short: it ends after entry 4 \(objects\/lines.json\) without its end entry/,
    );
  });

  it('refuses to write a bad, reserved or repeated path', async () => {
    await expect(archiveBytes(writeArchive([entry('/abs', '')]))).rejects.toThrow(/cannot name/);
    await expect(archiveBytes(writeArchive([entry('a/../b', '')]))).rejects.toThrow(/cannot name/);
    await expect(archiveBytes(writeArchive([entry(END_ENTRY, '')]))).rejects.toThrow(/reserved/);
    await expect(archiveBytes(writeArchive([entry('a', ''), entry('a', '')]))).rejects.toThrow(
      /two entries/,
    );
  });
});

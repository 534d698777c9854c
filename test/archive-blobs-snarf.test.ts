/** SNARF streamed entries: written in pieces of a known size, read in pieces, checked the same. */
import { describe, expect, it } from 'vitest';
import { CorruptStorageError } from '../src/shared/errors.js';
import {
  archiveBytes,
  readArchive,
  writeArchive,
  type StreamedEntry,
} from '../src/archive/snarf.js';

const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

async function* pieces(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield encode(part);
}

const streamed = (path: string, size: number, ...parts: string[]): StreamedEntry => ({
  path,
  size,
  chunks: pieces(...parts),
});

describe('a streamed entry', () => {
  it('is written as one SNARF entry, read whole by a plain reader and in pieces by a streaming one', async () => {
    const archive = await archiveBytes(
      writeArchive([
        { path: 'a.json', bytes: encode('{}') },
        streamed('blobs/x', 11, 'hello', ' world'),
        { path: 'b.json', bytes: encode('[]') },
      ]),
    );
    const whole: string[] = [];
    for await (const entry of readArchive(archive))
      whole.push(`${entry.path}=${new TextDecoder().decode(entry.bytes)}`);
    expect(whole).toEqual(['a.json={}', 'blobs/x=hello world', 'b.json=[]']);
    const read: string[] = [];
    for await (const entry of readArchive(archive, { streamed: (p) => p.startsWith('blobs/') })) {
      if ('bytes' in entry) read.push(entry.path);
      else {
        let text = '';
        for await (const piece of entry.chunks) text += new TextDecoder().decode(piece);
        read.push(`${entry.path}:${entry.size}=${text}`);
      }
    }
    expect(read).toEqual(['a.json', 'blobs/x:11=hello world', 'b.json']);
  });

  it('whose pieces add up to another size than announced fails the archive stream, naming the entry', async () => {
    await expect(archiveBytes(writeArchive([streamed('blobs/x', 4, 'hello')]))).rejects.toThrow(
      /blobs\/x announced 4 bytes and its source gave more/,
    );
    await expect(archiveBytes(writeArchive([streamed('blobs/x', 9, 'hello')]))).rejects.toThrow(
      /blobs\/x announced 9 bytes and its source gave 5/,
    );
  });

  it('left unread by the consumer is skipped and still checked against its checksum', async () => {
    const archive = await archiveBytes(
      writeArchive([streamed('blobs/x', 5, 'hello'), { path: 'b.json', bytes: encode('[]') }]),
    );
    const damaged = archive.slice();
    const at = new TextDecoder().decode(archive).indexOf('hello');
    damaged[at] = 'j'.charCodeAt(0);
    const read = async (): Promise<void> => {
      for await (const entry of readArchive(damaged, { streamed: () => true })) void entry;
    };
    await expect(read()).rejects.toThrow(CorruptStorageError);
    await expect(read()).rejects.toThrow(/entry 1 \(blobs\/x\) does not match its checksum/);
  });
});

/**
 * The blob files of a checkout (directory.ts): `<dir>/blobs/<hash>`, a tree archive's
 * `blobs/<hash>` entries byte for byte, named by the SHA-256 of their bytes.
 *
 * Written piece by piece as the archive streams them (any size, one piece in memory), each checked
 * against its name as it is written, flushed and renamed into place as the other files are. Read
 * back the same way, each just before the entry of the first blob record that names it — where an
 * export puts it — so check, commit and import from a checkout see the entries in an archive's
 * order. A blob file no record of the checkout names is nothing of the tree and is not read.
 *
 * A changed blob file is refused when it is read, naming it: a blob is named by its bytes' hash, so
 * new bytes are a new file under a new name (with the record and the owner's `$blob` saying so).
 */
import { BLOB_CLASS, isBlobHash } from '../shared/blob-record.js';
import { CorruptStorageError, ShelfError } from '../shared/errors.js';
import { BLOB_ENTRY, blobEntryPath } from './backup-blobs.js';
import { codeOf, writePiecesSafely, type NodeDirent, type NodeModules } from './checkout-node.js';
import { MAX_ENTRY_BYTES, type ArchiveEntry, type StreamedEntry } from './snarf.js';

/** The folder of a checkout that holds its blob files. */
export const BLOBS_FOLDER = 'blobs';

/** The bytes of a blob file read at once. */
const PIECE = 1024 * 1024;

/** A blob file's temp name (checkout-node.ts tempName), left by a checkout that crashed. */
const LEFTOVER = /^\.[0-9a-f]{64}\.[0-9a-f-]{36}\.tmp$/;

/** What the blobs folder of a checkout holds. */
export interface BlobFolder {
  /** The hashes of its blob files. */
  hashes: Set<string>;
  /** Its other names (not dotfiles), as paths in the checkout (`blobs/cat.png`). */
  foreign: string[];
  /** Temp files a crashed checkout left (their names, in the blobs folder). */
  leftovers: string[];
}

/** True for the path of a blob entry (`blobs/<hash>`). */
export const isBlobEntry = (entryPath: string): boolean => BLOB_ENTRY.test(entryPath);

/**
 * What `<root>/blobs` holds; all empty when there is no such folder. Names starting with `.` are
 * not the checkout's (a crashed write's temp file is listed among the leftovers).
 */
export async function blobFolder(node: NodeModules, root: string): Promise<BlobFolder> {
  const found: BlobFolder = { hashes: new Set(), foreign: [], leftovers: [] };
  let children: NodeDirent[];
  try {
    children = await node.fs.readdir(node.path.join(root, BLOBS_FOLDER), { withFileTypes: true });
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return found;
    throw error;
  }
  for (const child of children) {
    if (child.name.startsWith('.')) {
      if (LEFTOVER.test(child.name) && child.isFile()) found.leftovers.push(child.name);
      continue;
    }
    let isFile = child.isFile();
    if (child.isSymbolicLink()) {
      isFile = (await node.fs.stat(node.path.join(root, BLOBS_FOLDER, child.name))).isFile();
    }
    if (isFile && isBlobHash(child.name)) found.hashes.add(child.name);
    else found.foreign.push(`${BLOBS_FOLDER}/${child.name}`);
  }
  return found;
}

/**
 * Refuses a checkout whose blobs folder holds names that are not blob files.
 * @throws CorruptStorageError naming the first (and how many) and what a blob file's name is.
 */
export function refuseForeign(node: NodeModules, root: string, folder: BlobFolder): void {
  const [first] = folder.foreign;
  if (first === undefined) return;
  const more = folder.foreign.length > 1 ? ` (and ${folder.foreign.length - 1} more)` : '';
  throw new CorruptStorageError(
    `${node.path.join(root, ...first.split('/'))}${more} cannot be a file of the checkout: ${BLOBS_FOLDER}/ holds blob files only, each named by the SHA-256 of its bytes (64 lowercase hexadecimal digits, as sha256sum prints it). Rename it or move it out. Nothing was written.`,
  );
}

/**
 * The hash of the blob a blob record's entry names (its `state.hash`), or undefined for an entry
 * that is not a blob record's (or is malformed: the tree reader refuses that, naming the entry).
 */
export function blobNamedBy(bytes: Uint8Array): string | undefined {
  // Most entries are not blob records: only those mentioning the class are parsed here.
  const text = new TextDecoder().decode(bytes);
  if (!text.includes(BLOB_CLASS)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined; // not JSON: the tree reader refuses the entry, naming it
  }
  const entry = json as { class?: unknown; state?: { hash?: unknown } } | null;
  if (entry === null || typeof entry !== 'object' || entry.class !== BLOB_CLASS) return undefined;
  const hash = entry.state?.hash;
  return isBlobHash(hash) ? hash : undefined;
}

/**
 * The entry of the blob file `hash` of the checkout at `root`: streamed from the file when
 * `streamed`, else read whole. Its bytes are checked against its name as they are read: the last
 * piece (or the whole read) throws when they do not match.
 * @param namedBy the entry of the blob record that names it (for the error).
 * @throws ShelfError, read whole, for a file of more than MAX_ENTRY_BYTES; CorruptStorageError
 *   naming the file (and the record's entry) when its bytes do not hash to its name.
 */
export async function readBlobFile(
  node: NodeModules,
  root: string,
  hash: string,
  namedBy: string,
  streamed: boolean,
): Promise<ArchiveEntry | StreamedEntry> {
  const entryPath = blobEntryPath(hash);
  const file = node.path.join(root, BLOBS_FOLDER, hash);
  const { size } = await node.fs.stat(file);
  const check = checker(node, file, hash, namedBy);
  if (streamed) return { path: entryPath, size, chunks: fileChunks(node, file, check) };
  if (size > MAX_ENTRY_BYTES) {
    throw new ShelfError(
      `${file} has ${size} bytes, more than the ${MAX_ENTRY_BYTES} an entry read whole may have: read the checkout with directoryEntries(dir, { streamed: (path) => path.startsWith('blobs/') }), which streams blob files.`,
    );
  }
  const bytes = await node.fs.readFile(file);
  check.update(bytes);
  check.end();
  return { path: entryPath, bytes };
}

/** A blob file's bytes checked against its name as they pass. */
interface Checker {
  update(piece: Uint8Array): void;
  /** @throws CorruptStorageError when the bytes do not hash to the name. */
  end(): void;
}

function checker(node: NodeModules, file: string, hash: string, namedBy: string): Checker {
  const hasher = node.crypto.createHash('sha256');
  let read = 0;
  return {
    update(piece) {
      hasher.update(piece);
      read += piece.byteLength;
    },
    end() {
      const actual = hasher.digest('hex');
      if (actual === hash) return;
      throw new CorruptStorageError(
        `${file}: its ${read} bytes hash to ${actual}, not to its name (a changed or lost byte). A blob file is named by the SHA-256 of its bytes and ${namedBy} names it by that: put back the file as checked out (check out again), or store new bytes as ${BLOBS_FOLDER}/<their SHA-256> and change the hash and size in ${namedBy} and in the $blob markers that reference it. Nothing was written.`,
      );
    },
  };
}

/** The bytes of `file`, a piece at a time (each a new array: the consumer may keep it). */
async function* fileChunks(
  node: NodeModules,
  file: string,
  check: Checker,
): AsyncGenerator<Uint8Array> {
  const handle = await node.fs.open(file, 'r');
  try {
    for (let position = 0; ;) {
      const piece = new Uint8Array(PIECE);
      const { bytesRead } = await handle.read(piece, 0, PIECE, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const read = bytesRead === PIECE ? piece : piece.slice(0, bytesRead);
      check.update(read);
      yield read;
    }
  } finally {
    await handle.close();
  }
  check.end();
}

/**
 * Writes a `blobs/<hash>` entry into the checkout at `root` (through a flushed temp file renamed
 * into place), its bytes checked against its name as they pass: a blob that does not match is
 * never given its name.
 * @returns the bytes written.
 * @throws CorruptStorageError naming the entry when its bytes do not hash to its name.
 */
export async function writeBlobFile(
  node: NodeModules,
  root: string,
  entry: ArchiveEntry | StreamedEntry,
): Promise<number> {
  const hash = entry.path.slice(BLOBS_FOLDER.length + 1);
  const file = node.path.join(root, BLOBS_FOLDER, hash);
  const pieces = 'chunks' in entry ? entry.chunks : [entry.bytes];
  return writePiecesSafely(node, file, checked(node, root, entry.path, hash, pieces));
}

async function* checked(
  node: NodeModules,
  root: string,
  entryPath: string,
  hash: string,
  pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  const hasher = node.crypto.createHash('sha256');
  let size = 0;
  for await (const piece of pieces) {
    hasher.update(piece);
    size += piece.byteLength;
    yield piece;
  }
  const actual = hasher.digest('hex');
  if (actual !== hash) {
    throw new CorruptStorageError(
      `Cannot check out the entry ${entryPath} into ${root}: its ${size} bytes hash to ${actual}, not to its name (a changed or lost byte). The archive is damaged: export it again. The checkout was left incomplete (it has no header): check out again.`,
    );
  }
}

/**
 * Removes the blob files of `folder` that `written` (entry paths) does not hold, and the temp files
 * a crashed checkout left; returns how many blob files were removed.
 */
export async function removeStaleBlobs(
  node: NodeModules,
  root: string,
  folder: BlobFolder,
  written: ReadonlySet<string>,
): Promise<number> {
  let removed = 0;
  for (const hash of folder.hashes) {
    if (written.has(blobEntryPath(hash))) continue;
    await node.fs.rm(node.path.join(root, BLOBS_FOLDER, hash), { force: true });
    removed++;
  }
  for (const name of folder.leftovers) {
    await node.fs.rm(node.path.join(root, BLOBS_FOLDER, name), { force: true });
  }
  return removed;
}

/**
 * BlobRecord: the persistent class of blob records (`shelfdb.Blob`, src/shared/blob-record.ts), so
 * that a page loading one (the explorer, `conn.get(oid)`, `crawl`) gets an ordinary object showing
 * which blob file a Blob is. Apps never make them: a commit writes one for each Blob object it
 * stores (blob-uploads.ts), and the Blob itself comes back as a StoredBlob in the state that held
 * it. Its state is written by `encodeBlobRecord` alone, in the fixed shape storage reads.
 */
import { Persistent } from './persistent.js';

/** A blob record as loaded: the blob file's hash, and the Blob's size, type and name. */
export class BlobRecord extends Persistent {
  /** The blob file's SHA-256 (64 lowercase hexadecimal digits). */
  hash = '';
  /** Its length in bytes. */
  size = 0;
  /** The Blob's MIME type ('' for none). */
  type = '';
  /** A File's name; null for a Blob that is not a File. */
  name: string | null = null;
}

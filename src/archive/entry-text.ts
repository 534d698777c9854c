/**
 * The text work of an export, per entry: the pretty canonical JSON of an entry as bytes, and the
 * hash of a compact canonical text. One EntryText serves one export (its scratch buffer is its
 * own: an export writes one entry at a time).
 *
 * An export hashes every object's text once. Most are small: their UTF-8 goes into the scratch
 * buffer (TextEncoder.encodeInto, no array per hash) and is hashed in JavaScript at once, with no
 * promise; a text over HASH_IN_JS_UP_TO bytes is hashed by crypto.subtle (sha256), asynchronously.
 *
 * An object's state is written twice, compact in the text hashed and pretty in its entry: when its
 * keys are in canonical order (nearly always: the walks build them so), JSON.stringify writes both
 * after one check, rather than canonicalJson checking it once for each.
 */
import { canonicalJson, isInCanonicalOrder } from './canonical-json.js';
import { HASH_IN_JS_UP_TO, sha256, sha256Now, type Json, type JsonObject } from './json-value.js';
import { objectHashText, type RenderedObject } from './object-entry.js';
import type { ArchiveEntry } from './snarf.js';

/** Encodes and hashes the entries of one export (see the module comment). */
export class EntryText {
  private readonly encoder = new TextEncoder();
  /** Room for the UTF-8 of any text of up to HASH_IN_JS_UP_TO UTF-16 units (3 bytes each at most). */
  private readonly scratch = new Uint8Array(3 * HASH_IN_JS_UP_TO);

  /**
   * `"sha256:<hex>"` of the UTF-8 of `text`: a string when hashed at once (text up to
   * HASH_IN_JS_UP_TO bytes), else a promise of it.
   */
  hash(text: string): string | Promise<string> {
    // A text of more UTF-16 units than that has more UTF-8 bytes too.
    if (text.length > HASH_IN_JS_UP_TO) return sha256(text);
    const { written } = this.encoder.encodeInto(text, this.scratch);
    if (written > HASH_IN_JS_UP_TO) return sha256(text);
    return sha256Now(this.scratch.subarray(0, written));
  }

  /** An entry holding `value` as pretty canonical JSON (diffable, as a checkout writes it). */
  entry(path: string, value: Json): ArchiveEntry {
    return { path, bytes: this.encoder.encode(canonicalJson(value, { pretty: true })) };
  }

  /**
   * The entry `objects/<id>.json` of a rendered object with its hash (object-entry.ts);
   * `pageHashes` for a BTree. A promise only when the hash is (a large state).
   */
  objectEntry(
    object: RenderedObject,
    pageHashes: string[] | undefined,
  ): ArchiveEntry | Promise<ArchiveEntry> {
    const { className, state } = object;
    const inOrder = isInCanonicalOrder(state);
    // The body objectHashText writes, its keys (class, pages, state) in order around the state.
    const hashText = inOrder
      ? `{"class":${JSON.stringify(className)},${pageHashes === undefined ? '' : `"pages":${JSON.stringify(pageHashes)},`}"state":${JSON.stringify(state)}}`
      : objectHashText(className, state, pageHashes);
    const hash = this.hash(hashText);
    const entry = (hashHex: string): ArchiveEntry => {
      // Keys in sorted order, as canonicalJson writes them.
      const json: JsonObject = { class: className, hash: hashHex, id: object.id, oid: object.oid };
      if (pageHashes !== undefined) json.pages = pageHashes.length;
      json.serial = object.serial;
      json.state = state;
      const path = `objects/${object.id}.json`;
      if (!inOrder) return this.entry(path, json);
      return { path, bytes: this.encoder.encode(`${JSON.stringify(json, null, 2)}\n`) };
    };
    return typeof hash === 'string' ? entry(hash) : hash.then(entry);
  }
}

/**
 * The wire vocabulary between the tabs of a database (each tab's storage worker, and the one that
 * owns the files): the protocol version, the channel and lock names, and the discriminated union
 * of every message. (A page talks to its own storage worker over Comlink instead: link.ts.) The
 * calls' arguments and answers are declared in storage-calls.ts. Incoming `event.data` is
 * `unknown` until `parseMessage` narrows it. A message that does not parse, or comes from another
 * protocol version, is never acted on: receivers ignore and count it (a stray message must not
 * fail the calls in flight, which the owner may still be running), and report a version mismatch
 * once. `parseMessage` checks the envelope only; the arguments of a call are checked per method
 * by whoever runs it (worker/call-checks.ts).
 */
import type { Invalidation, PackProgress, Tid } from './storage.js';
import {
  isInvalidation,
  isPackId,
  isPackProgressBatch,
  isStorageMethod,
  type StorageMethod,
} from './storage-calls.js';
import { ProtocolError, ProtocolVersionError, isWireError, type WireError } from './errors.js';

export { ProtocolError, ProtocolVersionError };

/**
 * Bumped whenever a message changes shape. 2: 'report' (background errors), 'hello' carries the
 * tab's snapshot pins. 3: a pack call's `packId` option, 'progress' and 'abort' (an owner of
 * version 2 would refuse the option, and drop the messages). 4: the blob calls (putBlob,
 * readBlob, blobFile), which an owner of version 3 would not know.
 */
export const PROTOCOL_VERSION = 4;

/** The longest tab id, pin holder or txnId accepted from a channel. */
export const MAX_ID_LENGTH = 200;

/** The BroadcastChannel on which the owner announces commits and owner changes. */
export function databaseChannelName(name: string): string {
  return `shelfdb:${name}`;
}

/** The Web Lock that makes one worker the owner of a database's files. */
export function ownerLockName(name: string): string {
  return `shelfdb:${name}:owner`;
}

/** The Web Lock each tab's worker holds for its lifetime: the owner notices a dead tab by it. */
export function tabLockName(name: string, tabId: string): string {
  return `shelfdb:${name}:tab:${tabId}`;
}

/** The channel on which the owner answers one tab. */
export function tabChannelName(name: string, tabId: string): string {
  return `shelfdb:${name}:tab:${tabId}`;
}

/** The channel on which tabs send their storage calls to the owner. */
export function callsChannelName(name: string): string {
  return `shelfdb:${name}:calls`;
}

export type Message =
  | { v: number; type: 'call'; id: number; method: StorageMethod; args: unknown[]; from?: string }
  | { v: number; type: 'result'; id: number; value: unknown }
  | { v: number; type: 'error'; id: number; error: WireError }
  | { v: number; type: 'invalidate'; invalidation: Invalidation }
  /**
   * A tab's worker took over the files (or answers a hello). `term`: random, new at each takeover,
   * so a follower tells a real handover from a stray or forged announcement naming the same tab.
   */
  | { v: number; type: 'owner'; tid?: Tid; tabId?: string; term?: string }
  /**
   * A tab's storage worker asking who owns the database (the owner answers with 'owner'), sent
   * again to each new owner with the tab's snapshot pins (`[holder, tid]`), so that a new owner
   * packs nothing a live tab still reads.
   */
  | { v: number; type: 'hello'; tabId: string; pins?: [string, Tid][] }
  /** A failure of work nobody awaited (a background checkpoint or flush): for every page. */
  | { v: number; type: 'report'; error: WireError }
  /**
   * The owner tells a tab how its pack call `packId` goes (storage-calls.ts, PackProgressBatch):
   * on that tab's answer channel, at most one message per slice of the pack, and the last one
   * before the call's answer. Only the tabs that asked hear it: a tab with no pack call of its own
   * pays nothing for another tab's pack.
   */
  | { v: number; type: 'progress'; packId: string; progress: PackProgress[] }
  /**
   * Tab `from` no longer waits for its pack call `packId` (its caller aborted): the owner takes it
   * out of the running pack, which stops once no caller waits for it. On the calls channel; sent
   * again to a new owner with the resent call.
   */
  | { v: number; type: 'abort'; packId: string; from: string };

const isInt = (x: unknown): x is number => Number.isSafeInteger(x);
/** A tab id, pin holder or txnId from a channel: a short non-empty string. */
export const isId = (x: unknown): x is string =>
  typeof x === 'string' && x.length > 0 && x.length <= MAX_ID_LENGTH;
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

/**
 * Narrows `event.data` to a Message.
 * @throws ProtocolError naming what is wrong with a malformed message; ProtocolVersionError for a
 *   message of another protocol version.
 */
export function parseMessage(data: unknown): Message {
  if (!isRecord(data)) throw new ProtocolError(`Malformed shelfdb message: ${typeof data}`);
  if (data.v !== PROTOCOL_VERSION) throw new ProtocolVersionError(data.v, PROTOCOL_VERSION);
  switch (data.type) {
    case 'call':
      if (
        isInt(data.id) &&
        isStorageMethod(data.method) &&
        Array.isArray(data.args) &&
        (data.from === undefined || isId(data.from))
      ) {
        return data as Message;
      }
      break;
    case 'result':
      if (isInt(data.id) && 'value' in data) return data as Message;
      break;
    case 'error':
      if (isInt(data.id) && isWireError(data.error)) return data as Message;
      break;
    case 'invalidate':
      if (isInvalidation(data.invalidation)) return data as Message;
      break;
    case 'owner':
      if (
        (data.tid === undefined || isInt(data.tid)) &&
        (data.tabId === undefined || isId(data.tabId)) &&
        (data.term === undefined || isId(data.term))
      )
        return data as Message;
      break;
    case 'hello':
      if (isId(data.tabId) && (data.pins === undefined || Array.isArray(data.pins))) {
        return data as Message; // the pins are checked one by one where they are used
      }
      break;
    case 'report':
      if (isWireError(data.error)) return data as Message;
      break;
    case 'progress':
      if (isPackProgressBatch(data.packId, data.progress)) return data as Message;
      break;
    case 'abort':
      if (isPackId(data.packId) && isId(data.from)) return data as Message;
      break;
  }
  throw new ProtocolError(`Malformed shelfdb message of type ${String(data.type)}`);
}

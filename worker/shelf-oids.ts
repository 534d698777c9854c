/**
 * Oid reservations of ShelfStorage: oids are handed out from memory, and reserved ahead in the log
 * (an entry of kind KIND_OIDS naming the next free oid), so a crash never lets an oid be handed
 * out twice: the next open resumes above every reservation the log records.
 */
import { KIND_OIDS, encodeEntry, position } from './shelf-format.js';
import type { ShelfLog } from './shelf-log.js';

/** Oids reserved ahead in the log at a time. */
const OID_RESERVATION = 4096;

/** What handing out oids reads and moves of the storage. */
export interface OidCounter {
  readonly log: ShelfLog;
  /** The next oid to hand out. */
  nextOid: number;
  /** The reservation recorded in the log: no oid at or above it was handed out. */
  reservedOid: number;
}

/**
 * Hands out `count` consecutive oids, first recording a new reservation (durably) when they pass
 * the one in the log.
 * @throws what the log's failure gives (StorageError): then no oid was handed out.
 */
export function handOutOids(s: OidCounter, count: number): number[] {
  const first = s.nextOid;
  if (first + count > s.reservedOid) {
    const reserved = first + count + OID_RESERVATION;
    const { bytes } = encodeEntry(
      { kind: KIND_OIDS, tid: 0, time: Date.now(), nextOid: reserved, records: [] },
      position(s.log.active, s.log.end),
    );
    try {
      s.log.append(bytes, true);
    } catch (error) {
      throw s.log.failure(error, 'No oids were handed out; committed data is intact.');
    }
    s.reservedOid = reserved;
  }
  s.nextOid += count;
  const oids = new Array<number>(count);
  for (let i = 0; i < count; i++) oids[i] = first + i;
  return oids;
}

/**
 * ConnectionHost: what a Connection needs from its Database, and all it may ask of it. The
 * services every connection of a database shares (the storage, the class registry, the
 * serializer, the cache targets, the pool of fresh oids), and what a connection tells its database
 * so that the database's own duties stay right: the snapshot pin (a snapshot moved, or is about to
 * appear), autoPack (a commit landed), and the set of open connections (one closed).
 *
 * Database implements it; a test may hand a Connection any other implementation.
 */
import type { Storage } from './shared/storage.js';
import type { ClassRegistry } from './registry.js';
import type { Serializer } from './serialize.js';
import type { Connection } from './connection.js';

/** What a Connection needs from its Database. */
export interface ConnectionHost {
  readonly storage: Storage;
  readonly registry: ClassRegistry;
  readonly serializer: Serializer;
  readonly cacheSize: number;
  readonly cacheBytes: number;
  /** Fresh oids from the database's pool, synchronously, or undefined if it holds fewer. */
  takeOids(count: number): number[] | undefined;
  /** Refills the pool so that `takeOids(count)` succeeds. */
  reserveOids(count: number): Promise<void>;
  /** A connection closed itself. */
  forget(conn: Connection): void;
  /** A connection's snapshot moved (or appeared). */
  snapshotMoved(): void;
  /** Before a connection learns its first snapshot: pins a tid at or below it (see Database). */
  holdSnapshot(conn: Connection): Promise<void>;
  /** A connection committed a transaction. */
  committed(): void;
}

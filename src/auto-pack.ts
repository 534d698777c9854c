/**
 * autoPack: a Database that packs by itself once garbage (superseded revisions) makes up enough of
 * the stored bytes (`DatabaseOptions.autoPack`).
 *
 * A commit only schedules a look at the storage's stats, once the interval has passed; while one is
 * scheduled or running, further commits add nothing, so a burst of commits costs one stats call.
 * The pack runs when the garbage passes both thresholds (`minBytes` and `garbageRatio` of the
 * stored bytes). Its failure, or that of the stats call, is nobody's awaited promise: it is
 * reported as the database's 'error' event.
 */
import type { StorageStats } from './shared/storage.js';

/** The autoPack option, checked and with its defaults. */
export interface AutoPackSettings {
  /** The share of garbage in the stored bytes that starts a pack: more than 0, less than 1. */
  garbageRatio: number;
  /** Below this many stored bytes, never pack automatically. */
  minBytes: number;
}

/** What autoPack needs from its database. */
export interface AutoPackHost {
  /** True once the database is closing: no look is scheduled, none scheduled runs. */
  isClosing(): boolean;
  stats(): Promise<StorageStats>;
  pack(): Promise<unknown>;
  /** A stats call or a pack failed (nobody awaits them). */
  failed(error: unknown): void;
}

/** How often autoPack looks at the storage's stats, at most. */
const AUTO_PACK_INTERVAL_MS = 5_000;

/**
 * The `autoPack` option checked, with `minBytes` defaulting to 1 MiB; undefined without the option.
 * @throws RangeError naming the field that is wrong.
 */
export function checkAutoPackOptions(
  options: { garbageRatio: number; minBytes?: number } | undefined,
): AutoPackSettings | undefined {
  if (options === undefined) return undefined;
  const { garbageRatio, minBytes = 1 << 20 } = options;
  if (typeof garbageRatio !== 'number' || !(garbageRatio > 0 && garbageRatio < 1)) {
    throw new RangeError(
      `autoPack.garbageRatio must be a number between 0 and 1, got ${String(garbageRatio)}.`,
    );
  }
  if (typeof minBytes !== 'number' || !(minBytes >= 0)) {
    throw new RangeError(
      `autoPack.minBytes must be a non-negative number, got ${String(minBytes)}.`,
    );
  }
  return { garbageRatio, minBytes };
}

/** The automatic pack of one database: the stats look a commit schedules, and the pack it starts. */
export class AutoPack {
  private readonly settings: AutoPackSettings;
  private readonly host: AutoPackHost;
  /** A stats look is scheduled or running. */
  private pending = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(settings: AutoPackSettings, host: AutoPackHost) {
    this.settings = settings;
    this.host = host;
  }

  /** After a commit: look at the garbage soon (once per interval). */
  committed(): void {
    if (this.pending || this.host.isClosing()) return;
    this.pending = true;
    const { garbageRatio, minBytes } = this.settings;
    this.timer = setTimeout(() => {
      void (async () => {
        try {
          if (this.host.isClosing()) return;
          const stats = await this.host.stats();
          if (stats.garbageBytes >= minBytes && stats.garbageBytes >= garbageRatio * stats.bytes)
            await this.host.pack();
        } catch (error) {
          this.host.failed(error);
        } finally {
          this.pending = false;
        }
      })();
    }, AUTO_PACK_INTERVAL_MS);
    // In Node, a pending check must not keep the process alive.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** The database closes: drops the scheduled look. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

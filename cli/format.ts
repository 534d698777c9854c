/** Human-readable forms of sizes, times and transactions for the commands' text output. */
import type { TransactionInfo } from '../src/shared/storage.js';

/** `1536` → `1.5 KiB`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Milliseconds since the epoch → ISO 8601 in UTC. */
export function formatTime(time: number): string {
  return new Date(time).toISOString();
}

/** `0.25` → `25.0%`. */
export function formatRatio(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
}

/** Aligns rows of `[label, value]` into two columns. */
export function formatTable(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

/** One transaction on one line: tid, time, object count, note and undo marks. */
export function formatTransaction(txn: TransactionInfo, undoneBy: number | undefined): string {
  const parts = [
    `${String(txn.tid).padStart(6)}`,
    formatTime(txn.time),
    `${txn.oids.length} object${txn.oids.length === 1 ? '' : 's'}`.padEnd(11),
  ];
  if (txn.user !== '') parts.push(`[${txn.user}]`);
  parts.push(txn.note === '' ? '(no note)' : JSON.stringify(txn.note));
  if (txn.undoes !== undefined) parts.push(`(undoes ${txn.undoes})`);
  if (undoneBy !== undefined) parts.push(`(undone by ${undoneBy})`);
  return parts.join('  ');
}

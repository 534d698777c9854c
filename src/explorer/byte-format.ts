/**
 * Sizes as the explorer's tables show them: bytes in binary units (KiB, MiB, GiB) with the exact
 * count beside small ones, and the garbage ratio as a percentage.
 */

const UNITS = ['KiB', 'MiB', 'GiB', 'TiB'];

/**
 * `bytes` for a reader: "512 bytes", "1.5 KiB (1,536 bytes)", "3.2 MiB"; "unknown" for undefined.
 * @example
 * formatBytes(1536); // '1.5 KiB (1,536 bytes)'
 */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return 'unknown';
  if (bytes < 1024) return `${bytes.toLocaleString('en')} bytes`;
  let value = bytes;
  let unit = '';
  for (const u of UNITS) {
    value /= 1024;
    unit = u;
    if (value < 1024) break;
  }
  const short = `${value.toFixed(value < 10 ? 1 : 0)} ${unit}`;
  return bytes < 1024 * 1024 ? `${short} (${bytes.toLocaleString('en')} bytes)` : short;
}

/**
 * The share of `bytes` that is garbage, as a percentage with one decimal ("0.0 %" for an empty
 * storage).
 * @example
 * garbageRatio(250, 1000); // '25.0 %'
 */
export function garbageRatio(garbageBytes: number, bytes: number): string {
  return `${(bytes > 0 ? (100 * garbageBytes) / bytes : 0).toFixed(1)} %`;
}

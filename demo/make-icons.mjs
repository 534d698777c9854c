// Draws the demo's app icons (public/icons/icon-192.png and icon-512.png): a shelf with books on
// a green square, as plain RGBA PNGs made with zlib. Run once (`node demo/make-icons.mjs`); the
// PNGs are committed. Everything sits inside the middle 80%, so the 512 one also serves as a
// maskable icon.
import { Buffer } from 'node:buffer';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const BACKGROUND = [0x2f, 0x5d, 0x50];
const SHELF = [0xf6, 0xf5, 0xf1];
const BOOKS = [
  [0xe0, 0x9f, 0x3e],
  [0xd9, 0x5d, 0x39],
  [0x7f, 0xbf, 0xa9],
  [0xf2, 0xe8, 0xcf],
];

/** The colour at (x, y) of an icon drawn on a 100 × 100 grid, scaled to `size`. */
function colourAt(x, y, size) {
  const u = (x / size) * 100;
  const v = (y / size) * 100;
  for (const top of [30, 60]) {
    const shelf = top + 14;
    if (v >= shelf && v < shelf + 3 && u >= 18 && u < 82) return SHELF;
    // Books of varying height standing on the shelf.
    for (let b = 0; b < 8; b++) {
      const left = 20 + b * 7.5;
      const height = 8 + ((b * 5 + top) % 6);
      if (u >= left && u < left + 6 && v >= shelf - height && v < shelf) {
        return BOOKS[(b + top / 30) % BOOKS.length];
      }
    }
  }
  return BACKGROUND;
}

function crc32(bytes) {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function png(size) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  const rows = Buffer.alloc(size * (1 + size * 4));
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 4); // each row starts with filter type 0
    for (let x = 0; x < size; x++) {
      const [r, g, b] = colourAt(x, y, size);
      rows.set([r, g, b, 255], row + 1 + x * 4);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const dir = fileURLToPath(import.meta.resolve('./public/icons/'));
mkdirSync(dir, { recursive: true });
for (const size of [192, 512]) writeFileSync(`${dir}icon-${size}.png`, png(size));

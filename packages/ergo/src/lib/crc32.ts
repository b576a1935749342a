// CRC-32 with Go's crc32.MakeTable(0xD5828281) table: Ergo prints node names in PIDs, refs
// and events as this checksum, so ours must match bit for bit.

const POLY = 0xd5828281;
const TABLE = makeTable(POLY);
const encoder = new TextEncoder();

function makeTable(poly: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i;
    for (let j = 0; j < 8; j++) {
      crc = crc & 1 ? (crc >>> 1) ^ poly : crc >>> 1;
    }
    table[i] = crc >>> 0;
  }
  return table;
}

/** CRC-32 (Ergo's table) of the UTF-8 bytes of `text`. */
export function crc32(text: string): number {
  const bytes = encoder.encode(text);
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const hexCache = new Map<string, string>();

/** Ergo's printed checksum of a name: 8 upper-case hex digits, cached per name; "" for "". */
export function crc32Hex(text: string): string {
  if (text === '') return '';
  let hex = hexCache.get(text);
  if (hex === undefined) {
    hex = crc32(text).toString(16).toUpperCase().padStart(8, '0');
    if (hexCache.size > 65536) hexCache.clear();
    hexCache.set(text, hex);
  }
  return hex;
}

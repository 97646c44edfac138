/**
 * CRC32C (Castagnoli, polynomial 0x82F63B78 reflected), the checksum of the WAL fragments
 * and of the index and chunk files, as Go's `crc32.MakeTable(crc32.Castagnoli)`. Node 20
 * has no built-in CRC32C, so this is table-driven slicing-by-8: eight 256-entry tables
 * let the loop consume eight bytes per step with eight independent lookups.
 * @module
 */

const POLY = 0x82f63b78;

/** Eight tables of 256 entries, one after another: table k at offset k * 256. */
const T = new Uint32Array(8 * 256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[n] = c >>> 0;
}
for (let n = 0; n < 256; n++) {
  let c = T[n];
  for (let k = 1; k < 8; k++) {
    c = (c >>> 8) ^ T[c & 0xff];
    T[k * 256 + n] = c >>> 0;
  }
}

/**
 * The CRC32C of `data[start, end)`. Pass the result of an earlier call as `crc` to
 * continue a checksum over more bytes. Returns an unsigned 32-bit number.
 */
export function crc32c(data: Uint8Array, start = 0, end = data.length, crc = 0): number {
  let c = ~crc;
  let i = start;
  // Byte at a time until eight or fewer bytes would be left unaligned to the loop.
  const end8 = end - 8;
  while (i <= end8) {
    const a = c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    c =
      T[1792 + (a & 0xff)] ^
      T[1536 + ((a >>> 8) & 0xff)] ^
      T[1280 + ((a >>> 16) & 0xff)] ^
      T[1024 + (a >>> 24)] ^
      T[768 + data[i + 4]] ^
      T[512 + data[i + 5]] ^
      T[256 + data[i + 6]] ^
      T[data[i + 7]];
    i += 8;
  }
  while (i < end) c = (c >>> 8) ^ T[(c ^ data[i++]) & 0xff];
  return ~c >>> 0;
}

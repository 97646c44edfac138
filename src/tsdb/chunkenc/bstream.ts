/**
 * Bit streams over byte arrays, most significant bit first, as Prometheus's
 * `tsdb/chunkenc/bstream.go`. Both sides move at most 32 bits per call, so every shift
 * stays inside V8's 32-bit integer arithmetic.
 * @module
 */

const EMPTY = new Uint8Array(0);

/**
 * Appends bits to a growable byte array, starting at byte `start` (the bytes before
 * it, e.g. a chunk header, are the caller's). Bytes past the write position are kept
 * zero, so writes only OR bits in.
 */
export class BitWriter {
  /** The backing array; its length is the capacity. Replaced when it grows. */
  buf: Uint8Array;
  /** Bits written after `start`. */
  bitLen: number;
  /**
   * Prometheus's writer leaves one spare zero byte after a whole-byte write that ends
   * on a byte boundary; true while that byte is part of the stream (see docs/format/chunks.md).
   */
  spareByte: boolean;
  private readonly start: number;

  /** Starts a stream at byte `start` of `buf` (which must be zero from there on). */
  constructor(buf: Uint8Array, start: number, bitLen = 0, spareByte = false) {
    this.buf = buf;
    this.start = start;
    this.bitLen = bitLen;
    this.spareByte = spareByte;
  }

  /** Length in bytes of the stream including the bytes before `start`. */
  byteLength(): number {
    return this.start + ((this.bitLen + 7) >>> 3) + (this.spareByte ? 1 : 0);
  }

  /** Makes room for `bits` more bits (plus the spare byte) without further checks. */
  ensure(bits: number): void {
    const need = this.start + ((this.bitLen + bits + 7) >>> 3) + 1;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    if (cap < need) cap = need;
    if (cap < 32) cap = 32;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.byteLength()));
    this.buf = nb;
  }

  /** Writes one bit. The caller has called {@link ensure}. */
  writeBit(bit: number): void {
    const pos = this.bitLen;
    if (bit !== 0) this.buf[this.start + (pos >>> 3)] |= 0x80 >>> (pos & 7);
    this.bitLen = pos + 1;
    this.spareByte = false;
  }

  /**
   * Writes the low `n` bits of `v` (1 ≤ n ≤ 32), most significant first. The caller has
   * called {@link ensure}. Keeps Prometheus's spare-byte rule for a write of whole bytes.
   */
  writeBits(v: number, n: number): void {
    const buf = this.buf;
    const pos = this.bitLen;
    let i = this.start + (pos >>> 3);
    let free = 8 - (pos & 7); // free bits in byte i
    let left = n;
    while (left >= free) {
      left -= free;
      buf[i++] |= (v >>> left) & ((1 << free) - 1);
      free = 8;
    }
    if (left > 0) buf[i] |= (v & ((1 << left) - 1)) << (free - left);
    const end = pos + n;
    this.bitLen = end;
    this.spareByte = (n & 7) === 0 && (end & 7) === 0;
  }

  /**
   * Writes a value of up to 64 bits given as two uint32 halves (`hi` holds bits 32..63),
   * `n` bits in all, as one Prometheus `writeBits` call.
   */
  writeBits64(hi: number, lo: number, n: number): void {
    if (n > 32) {
      this.writeBits(hi, n - 32);
      this.writeBits(lo, 32);
    } else {
      this.writeBits(lo, n);
    }
    this.spareByte = (n & 7) === 0 && (this.bitLen & 7) === 0;
  }

  /** Writes whole bytes of an unsigned varint of a non-negative integer up to 2^53. */
  writeUvarint(u: number): void {
    while (u >= 0x80) {
      this.writeBits((u % 0x80) | 0x80, 8);
      u = Math.floor(u / 0x80);
    }
    this.writeBits(u, 8);
  }

  /** Writes an unsigned varint of a 64-bit value given as uint32 halves. */
  writeUvarint64(hi: number, lo: number): void {
    while (hi !== 0 || lo >= 0x80) {
      this.writeBits((lo & 0x7f) | 0x80, 8);
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi = hi >>> 7;
    }
    this.writeBits(lo, 8);
  }
}

/**
 * Reads bits from `bytes[start, end)` by absolute bit position: a read of up to 32 bits
 * loads the 4 (or 5) bytes it spans and shifts, with no window to refill; a slow path
 * assembles the last bytes one at a time. Reading past `end` yields zeros and is reported
 * by {@link overrun}, which decoders check once per sample rather than once per read.
 */
export class BitReader {
  private bytes: Uint8Array;
  /** Next bit to read, counted from the start of `bytes`. */
  private pos: number;
  /** Bits available: `end * 8`. */
  private endBit: number;
  /** Byte length up to which 5-byte loads stay inside the stream. */
  private fastEnd: number;

  constructor(bytes: Uint8Array = EMPTY, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start * 8;
    this.endBit = end * 8;
    this.fastEnd = end - 4;
  }

  /** Points the reader at new bytes. */
  reset(bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes;
    this.pos = start * 8;
    this.endBit = end * 8;
    this.fastEnd = end - 4;
  }

  /** True once a read went past the end of the stream. */
  overrun(): boolean {
    return this.pos > this.endBit;
  }

  /** Bits consumed since byte `start`. */
  bitsRead(start: number): number {
    return this.pos - start * 8;
  }

  /** Reads one bit (0 or 1). */
  readBit(): number {
    const p = this.pos;
    this.pos = p + 1;
    const i = p >>> 3;
    if (i >= this.endBit >>> 3) return 0;
    return (this.bytes[i] >>> (7 - (p & 7))) & 1;
  }

  /** Reads `n` bits (1 ≤ n ≤ 32) as an unsigned number. */
  readBits(n: number): number {
    const p = this.pos;
    this.pos = p + n;
    const i = p >>> 3;
    if (i < this.fastEnd) {
      const b = this.bytes;
      const sh = p & 7;
      const w = ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) << sh;
      if (n + sh <= 32) return w >>> (32 - n);
      // The read spans a fifth byte.
      const r = n + sh - 32;
      return ((w >>> (32 - n)) | (b[i + 4] >>> (8 - r))) >>> 0;
    }
    return this.readBitsSlow(p, n);
  }

  private readBitsSlow(p: number, n: number): number {
    const b = this.bytes;
    const endByte = this.endBit >>> 3;
    let v = 0;
    for (let k = 0; k < n; k++) {
      const q = p + k;
      const i = q >>> 3;
      const bit = i < endByte ? (b[i] >>> (7 - (q & 7))) & 1 : 0;
      v = v * 2 + bit;
    }
    return v;
  }

  /** Reads one whole byte (used for varints). */
  readByte(): number {
    return this.readBits(8);
  }

  /** Reads an unsigned varint into a number (exact up to 2^53). */
  readUvarint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.readBits(8);
      if (this.overrun()) return 0;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 0x80;
    }
    this.pos = this.endBit + 1; // too long: corrupt
    return 0;
  }

  /**
   * Reads an unsigned varint holding a 64-bit two's complement integer and returns it
   * as a signed number (exact within ±2^53).
   */
  readVarint64AsSigned(): number {
    let lo = 0;
    let hi = 0;
    for (let i = 0, shift = 0; i < 10; i++, shift += 7) {
      const b = this.readBits(8);
      if (this.overrun()) return 0;
      const g = b & 0x7f;
      if (shift < 32) {
        lo = (lo | (g << shift)) >>> 0;
        if (shift > 25) hi = (hi | (g >>> (32 - shift))) >>> 0;
      } else {
        hi = (hi | (g << (shift - 32))) >>> 0;
      }
      if (b < 0x80) return (hi | 0) * 4294967296 + lo;
    }
    this.pos = this.endBit + 1;
    return 0;
  }
}

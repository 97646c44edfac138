/**
 * Byte codecs shared by the on-disk formats (WAL records, index, chunks), after
 * Prometheus's `tsdb/encoding`: an {@link Encbuf} that appends into one reused, growable
 * buffer, and a {@link Decbuf} that reads with a sticky error checked once after a run of
 * reads.
 *
 * Integers are JavaScript numbers. 64-bit wire integers are written and read as two
 * uint32 halves; values must stay within ±2^53 (timestamps in ms, series refs) and the
 * decoder reports an error for a uint64 beyond 2^53 rather than round it silently.
 * Varints are Go's `encoding/binary` varints: unsigned LEB128, and zig-zag for signed.
 * @module
 */

const TWO_32 = 0x1_0000_0000;
const MAX_SAFE_HI = 0x1f_ffff; // high half of Number.MAX_SAFE_INTEGER

const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
/** True on little-endian hosts (all the ones Node runs on in practice). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const utf8Encoder = new TextEncoder();

/**
 * An append-only byte buffer that grows by doubling. `reset()` empties it and keeps the
 * memory, so one Encbuf serves every record of a writer without allocating per record.
 */
export class Encbuf {
  /** Backing storage; valid bytes are `[0, len)`. Replaced when it grows. */
  buf: Buffer;
  /** Number of bytes written. */
  len: number;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialBytes));
    this.len = 0;
  }

  /** Empties the buffer, keeping its memory. */
  reset(): void {
    this.len = 0;
  }

  /** A view of the bytes written so far; valid until the next write or reset. */
  get(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Makes room for `n` more bytes. */
  grow(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  putByte(b: number): void {
    if (this.len + 1 > this.buf.length) this.grow(1);
    this.buf[this.len++] = b;
  }

  putBytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Big-endian uint16. */
  putBE16(v: number): void {
    this.grow(2);
    const b = this.buf;
    const o = this.len;
    b[o] = v >>> 8;
    b[o + 1] = v;
    this.len = o + 2;
  }

  /** Big-endian uint32. */
  putBE32(v: number): void {
    this.grow(4);
    const b = this.buf;
    const o = this.len;
    b[o] = v >>> 24;
    b[o + 1] = v >>> 16;
    b[o + 2] = v >>> 8;
    b[o + 3] = v;
    this.len = o + 4;
  }

  /**
   * Big-endian 64-bit integer from a number in [-2^53, 2^53]; negatives are written in
   * two's complement, as Go's `uint64(int64)` does.
   */
  putBE64(v: number): void {
    let hi: number;
    let lo: number;
    if (v >= 0) {
      hi = Math.floor(v / TWO_32);
      lo = v >>> 0;
    } else {
      const m = -v;
      let h = Math.floor(m / TWO_32);
      let l = m >>> 0;
      // Two's complement of (h, l): invert and add one.
      l = (~l + 1) >>> 0;
      h = (~h + (l === 0 ? 1 : 0)) >>> 0;
      hi = h;
      lo = l;
    }
    this.putBE32(hi >>> 0);
    this.putBE32(lo);
  }

  /** A float64 as its IEEE-754 bits, big-endian (NaN payloads, such as stale markers, are kept). */
  putBEFloat64(v: number): void {
    this.grow(8);
    F64[0] = v;
    const b = this.buf;
    const o = this.len;
    if (LITTLE_ENDIAN) {
      for (let i = 0; i < 8; i++) b[o + i] = F64_BYTES[7 - i];
    } else {
      for (let i = 0; i < 8; i++) b[o + i] = F64_BYTES[i];
    }
    this.len = o + 8;
  }

  /** Unsigned LEB128 varint of a number in [0, 2^53]. */
  putUvarint(v: number): void {
    this.grow(10);
    const b = this.buf;
    let o = this.len;
    if (v < 0x8000_0000) {
      // Fast path: bit operations are exact below 2^31.
      while (v >= 0x80) {
        b[o++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      b[o++] = v;
    } else {
      while (v >= 0x80) {
        b[o++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
      b[o++] = v;
    }
    this.len = o;
  }

  /** Zig-zag varint of a signed number in (-2^52, 2^52), as Go's `binary.PutVarint`. */
  putVarint(v: number): void {
    if (v >= -0x4000_0000 && v < 0x4000_0000) {
      this.putUvarint(((v << 1) ^ (v >> 31)) >>> 0);
    } else {
      this.putUvarint(v >= 0 ? v * 2 : -v * 2 - 1);
    }
  }

  /** A byte string prefixed by its uvarint length. */
  putUvarintBytes(b: Uint8Array): void {
    this.putUvarint(b.length);
    this.putBytes(b);
  }

  /** A string in UTF-8, prefixed by its uvarint byte length. */
  putUvarintStr(s: string): void {
    // ASCII is the common case for label names and values: one pass, no temporary.
    const n = s.length;
    let ascii = n < 128;
    if (ascii) {
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
    }
    if (ascii) {
      this.grow(1 + n);
      this.buf[this.len++] = n;
      const b = this.buf;
      let o = this.len;
      for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i);
      this.len = o;
      return;
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.putUvarint(bytes);
    this.grow(bytes);
    this.len += this.buf.write(s, this.len, bytes, 'utf8');
  }

  /** A string in UTF-8 without a length prefix. */
  putString(s: string): void {
    const bytes = Buffer.byteLength(s, 'utf8');
    this.grow(bytes);
    this.len += this.buf.write(s, this.len, bytes, 'utf8');
  }
}

/** Encodes `s` to UTF-8 once, for callers that write the same string many times. */
export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** The error a {@link Decbuf} keeps after its first failed read. */
export type DecodeErrorKind = 'short' | 'overflow' | 'invalid';

/**
 * A read cursor over bytes with a sticky error: after the first failed read every later
 * read returns 0 and {@link err} tells what went wrong and where. Check it once after a
 * run of reads, as Prometheus's `encoding.Decbuf`.
 */
export class Decbuf {
  /** The bytes being read. */
  b: Uint8Array;
  /** Position of the next read. */
  off: number;
  /** End of the readable range (exclusive). */
  end: number;
  private errKind: DecodeErrorKind | null;
  private errOff: number;

  constructor(b: Uint8Array = new Uint8Array(0), off = 0, end = b.length) {
    this.b = b;
    this.off = off;
    this.end = end;
    this.errKind = null;
    this.errOff = 0;
  }

  /** Points the cursor at new bytes and clears the error, so one Decbuf can be reused. */
  reset(b: Uint8Array, off = 0, end = b.length): this {
    this.b = b;
    this.off = off;
    this.end = end;
    this.errKind = null;
    this.errOff = 0;
    return this;
  }

  /** Bytes left to read. */
  len(): number {
    return this.end - this.off;
  }

  /** The first error met, or null. */
  err(): Error | null {
    if (this.errKind === null) return null;
    const what =
      this.errKind === 'short'
        ? 'unexpected end of data'
        : this.errKind === 'overflow'
          ? 'integer overflows 2^53'
          : 'invalid encoding';
    return new Error(`${what} at offset ${this.errOff}`);
  }

  /** The kind of the first error met, or null; cheaper than {@link err} in loops. */
  errKindOrNull(): DecodeErrorKind | null {
    return this.errKind;
  }

  /** Offset of the first error. */
  errOffset(): number {
    return this.errOff;
  }

  private fail(kind: DecodeErrorKind): 0 {
    if (this.errKind === null) {
      this.errKind = kind;
      this.errOff = this.off;
    }
    this.off = this.end;
    return 0;
  }

  /** Skips `n` bytes. */
  skip(n: number): void {
    if (this.errKind !== null) return;
    if (this.off + n > this.end) {
      this.fail('short');
      return;
    }
    this.off += n;
  }

  byte(): number {
    if (this.errKind !== null || this.off >= this.end) return this.fail('short');
    return this.b[this.off++];
  }

  be16(): number {
    if (this.errKind !== null || this.off + 2 > this.end) return this.fail('short');
    const b = this.b;
    const o = this.off;
    this.off = o + 2;
    return (b[o] << 8) | b[o + 1];
  }

  be32(): number {
    if (this.errKind !== null || this.off + 4 > this.end) return this.fail('short');
    const b = this.b;
    const o = this.off;
    this.off = o + 4;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  /** Big-endian uint64; an error when it exceeds 2^53. */
  be64(): number {
    const hi = this.be32();
    const lo = this.be32();
    if (hi > MAX_SAFE_HI) {
      this.off -= 8;
      return this.fail('overflow');
    }
    return hi * TWO_32 + lo;
  }

  /** Big-endian int64 (two's complement); an error outside ±2^53. */
  be64int(): number {
    const hi = this.be32();
    const lo = this.be32();
    if (hi <= MAX_SAFE_HI) return hi * TWO_32 + lo;
    if (hi >= 0xffe0_0000) {
      // Negative: -(~x + 1).
      const nlo = (~lo + 1) >>> 0;
      const nhi = (~hi + (nlo === 0 ? 1 : 0)) >>> 0;
      return -(nhi * TWO_32 + nlo);
    }
    this.off -= 8;
    return this.fail('overflow');
  }

  /** A big-endian IEEE-754 float64, bits kept. */
  beFloat64(): number {
    if (this.errKind !== null || this.off + 8 > this.end) return this.fail('short');
    const b = this.b;
    const o = this.off;
    if (LITTLE_ENDIAN) {
      for (let i = 0; i < 8; i++) F64_BYTES[7 - i] = b[o + i];
    } else {
      for (let i = 0; i < 8; i++) F64_BYTES[i] = b[o + i];
    }
    this.off = o + 8;
    return F64[0];
  }

  /** Unsigned LEB128 varint; an error when it exceeds 2^53 or runs past the end. */
  uvarint(): number {
    if (this.errKind !== null) return 0;
    const b = this.b;
    let o = this.off;
    const end = this.end;
    // Fast path: up to four bytes (< 2^28) with bit operations.
    let x = 0;
    let shift = 0;
    while (o < end && shift < 28) {
      const c = b[o++];
      x |= (c & 0x7f) << shift;
      if (c < 0x80) {
        this.off = o;
        return x >>> 0;
      }
      shift += 7;
    }
    // Slow path: continue with multiplication, exact up to 2^53.
    let v = x >>> 0;
    let mul = 0x1000_0000; // 2^28
    while (o < end) {
      const c = b[o++];
      v += (c & 0x7f) * mul;
      if (c < 0x80) {
        if (v > Number.MAX_SAFE_INTEGER) return this.fail('overflow');
        this.off = o;
        return v;
      }
      mul *= 128;
      if (mul > 2 ** 63) return this.fail('overflow');
    }
    return this.fail('short');
  }

  /** Zig-zag varint (Go's `binary.Varint`). */
  varint(): number {
    const u = this.uvarint();
    if (u < 0x8000_0000) return (u >>> 1) ^ -(u & 1);
    const half = Math.floor(u / 2);
    return u % 2 === 0 ? half : -half - 1;
  }

  /** A uvarint-length-prefixed byte string, as a view into the source (no copy). */
  uvarintBytes(): Uint8Array {
    const n = this.uvarint();
    if (this.errKind !== null) return EMPTY;
    if (this.off + n > this.end) {
      this.fail('short');
      return EMPTY;
    }
    const s = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return s;
  }

  /** A uvarint-length-prefixed UTF-8 string. */
  uvarintStr(): string {
    const n = this.uvarint();
    if (this.errKind !== null) return '';
    if (this.off + n > this.end) {
      this.fail('short');
      return '';
    }
    const s = decodeUtf8(this.b, this.off, this.off + n);
    this.off += n;
    return s;
  }
}

const EMPTY = new Uint8Array(0);

/** Decodes `b[start, end)` as UTF-8, with a fast path for short ASCII strings. */
export function decodeUtf8(b: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 24) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (b[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
      return s;
    }
  }
  return Buffer.from(b.buffer, b.byteOffset + start, n).toString('utf8');
}

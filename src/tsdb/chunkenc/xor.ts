/**
 * The Gorilla XOR float chunk, byte for byte as Prometheus's `tsdb/chunkenc/xor.go`
 * (format: docs/format/chunks.md, "XOR chunk encoding"). Timestamps are numbers (exact up
 * to 2^53); 64-bit values are handled as two uint32 halves, so no sample makes an object.
 * @module
 */

import { CorruptionError } from '../../model/errors.js';
import { ValueType, type SampleIterator } from '../../storage/interface.js';
import { BitReader, BitWriter } from './bstream.js';
import { ENCODING_XOR, MAX_SAMPLES_PER_CHUNK, type Chunk, type ChunkAppender } from './chunk.js';

export { ENCODING_XOR } from './chunk.js';

const HEADER_BYTES = 2;
/** Most bits one sample can take: '1111' + 64-bit dod, then '11' + 5 + 6 + 64 value bits. */
const MAX_SAMPLE_BITS = 4 + 64 + 2 + 5 + 6 + 64 + 80; // + a 10-byte uvarint for sample 1
/** First allocation of a new chunk; it doubles as it fills (a 120-sample counter chunk is ~170 bytes). */
const INITIAL_BYTES = 64;
const TWO_32 = 4294967296;

// Float bits scratch (STYLE.md §2.6). Little-endian hosts: U32[0] is the low half.
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('meshmetrics needs a little-endian host');
}

/** Trailing zeros of a non-zero uint32. */
function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** A float chunk in Prometheus's XOR encoding. */
export class XORChunk implements Chunk {
  /** Bytes handed to the constructor, until an appender needs a buffer of its own. */
  private wrapped: Uint8Array | null;
  /** The owned, growable stream once the chunk has been appended to. */
  private w: BitWriter | null;

  /**
   * A new empty chunk, or one wrapping existing encoded `bytes` (not copied; they are
   * copied once if an appender is asked for, so the caller's bytes never change).
   */
  constructor(bytes?: Uint8Array) {
    if (bytes !== undefined) {
      if (bytes.length < HEADER_BYTES) {
        throw new CorruptionError(
          'xor chunk',
          0,
          `chunk of ${bytes.length} bytes is shorter than its header`,
        );
      }
      this.wrapped = bytes;
      this.w = null;
    } else {
      this.wrapped = null;
      this.w = new BitWriter(new Uint8Array(INITIAL_BYTES), HEADER_BYTES);
    }
  }

  /**
   * A new empty chunk with room for `bytes` bytes before it must grow (the head sizes a
   * series' next chunk after its last one, which saves the growth copies).
   */
  static withCapacity(bytes: number): XORChunk {
    const c = new XORChunk();
    if (bytes > INITIAL_BYTES) c.w = new BitWriter(new Uint8Array(bytes), HEADER_BYTES);
    return c;
  }

  /** The encoded bytes; a view valid until the next append. */
  bytes(): Uint8Array {
    const w = this.w;
    return w === null ? this.wrapped! : w.buf.subarray(0, w.byteLength());
  }

  numSamples(): number {
    const b = this.w === null ? this.wrapped! : this.w.buf;
    return (b[0] << 8) | b[1];
  }

  encoding(): number {
    return ENCODING_XOR;
  }

  /**
   * An exact-size copy of the bytes, for closing a chunk that will not grow again (the
   * head calls it when it cuts a new chunk, so closed chunks hold no spare capacity).
   */
  compact(): Uint8Array {
    return this.bytes().slice();
  }

  /** An appender after the last sample; resuming on existing bytes decodes them once. */
  appender(): XORAppender {
    if (this.w === null) {
      // Resume: decode to the end to recover the appender's state and bit position.
      const src = this.wrapped!;
      const it = new XORIterator(src);
      while (it.next() !== ValueType.None);
      const err = it.err();
      if (err !== null) throw err;
      const bitLen = it.bitsRead();
      const used = HEADER_BYTES + ((bitLen + 7) >>> 3);
      const buf = new Uint8Array(Math.max(INITIAL_BYTES, src.length * 2));
      buf.set(src.subarray(0, used));
      if ((bitLen & 7) !== 0) buf[used - 1] &= 0xff << (8 - (bitLen & 7)); // clear any stray tail bits
      this.w = new BitWriter(buf, HEADER_BYTES, bitLen, src.length > used);
      this.wrapped = null;
      const a = new XORAppender(this.w);
      if (it.numTotal > 0) a.resume(it);
      return a;
    }
    const a = new XORAppender(this.w);
    if (this.numSamples() > 0) {
      const it = new XORIterator(this.bytes());
      while (it.next() !== ValueType.None);
      a.resume(it);
    }
    return a;
  }

  iterator(reuse?: SampleIterator): XORIterator {
    if (reuse instanceof XORIterator) {
      reuse.reset(this.bytes());
      return reuse;
    }
    return new XORIterator(this.bytes());
  }
}

/** Appends samples to an XOR chunk. Timestamps must not decrease; the head checks that. */
export class XORAppender implements ChunkAppender {
  private readonly w: BitWriter;
  private t: number;
  private tDelta: number;
  private vHi: number;
  private vLo: number;
  /** The XOR window; 0xff until the first window exists. */
  private leading: number;
  private trailing: number;
  /** See {@link setTightWindows}. */
  private tight: boolean;

  constructor(w: BitWriter) {
    this.w = w;
    this.t = 0;
    this.tDelta = 0;
    this.vHi = 0;
    this.vLo = 0;
    this.leading = 0xff;
    this.trailing = 0;
    this.tight = false;
  }

  /**
   * With `on`, a value whose XOR fits the current window still opens a new, narrower
   * window when that is shorter (13 bits of header against the unused width of the old
   * one). Prometheus always reuses a window that fits; its reader decodes either choice,
   * so this only makes chunks smaller (used when compaction re-encodes series).
   */
  setTightWindows(on: boolean): void {
    this.tight = on;
  }

  /** Takes over the state of an iterator that has read the whole chunk. */
  resume(it: XORIterator): void {
    this.t = it.atT();
    this.tDelta = it.lastDelta();
    this.vHi = it.valueHi();
    this.vLo = it.valueLo();
    this.leading = it.windowLeading();
    this.trailing = it.windowTrailing();
  }

  append(t: number, v: number): void {
    const w = this.w;
    w.ensure(MAX_SAMPLE_BITS);
    const buf = w.buf;
    const num = (buf[0] << 8) | buf[1];
    if (num >= MAX_SAMPLES_PER_CHUNK) {
      throw new CorruptionError(
        'xor chunk',
        0,
        `chunk is full: ${num} samples, limit ${MAX_SAMPLES_PER_CHUNK}`,
      );
    }
    let tDelta = 0;
    if (num === 0) {
      // Signed varint (zig-zag), then the raw 64 bits.
      w.writeUvarint(t >= 0 ? t * 2 : -t * 2 - 1);
      F64[0] = v;
      const hi = U32[1];
      const lo = U32[0];
      w.writeBits(hi, 32);
      w.writeBits(lo, 32);
      this.vHi = hi;
      this.vLo = lo;
    } else if (num === 1) {
      tDelta = t - this.t;
      if (tDelta >= 0) w.writeUvarint(tDelta);
      else w.writeUvarint64(Math.floor(tDelta / TWO_32) >>> 0, tDelta >>> 0); // two's complement
      this.writeValue(v);
    } else {
      tDelta = t - this.t;
      const dod = tDelta - this.tDelta;
      if (dod === 0) {
        w.writeBit(0);
      } else if (dod >= -8191 && dod <= 8192) {
        w.writeBits(0b10, 2);
        w.writeBits(dod & 0x3fff, 14);
      } else if (dod >= -65535 && dod <= 65536) {
        w.writeBits(0b110, 3);
        w.writeBits(dod & 0x1ffff, 17);
      } else if (dod >= -524287 && dod <= 524288) {
        w.writeBits(0b1110, 4);
        w.writeBits(dod & 0xfffff, 20);
      } else {
        w.writeBits(0b1111, 4);
        w.writeBits64(Math.floor(dod / TWO_32) >>> 0, dod >>> 0, 64);
      }
      this.writeValue(v);
    }
    this.t = t;
    this.tDelta = tDelta;
    const n = num + 1;
    w.buf[0] = n >>> 8;
    w.buf[1] = n & 0xff;
  }

  /** Writes the XOR of `v` against the previous value (Prometheus `xorWrite`). */
  private writeValue(v: number): void {
    const w = this.w;
    F64[0] = v;
    const hi = U32[1];
    const lo = U32[0];
    const xh = (hi ^ this.vHi) >>> 0;
    const xl = (lo ^ this.vLo) >>> 0;
    this.vHi = hi;
    this.vLo = lo;
    if (xh === 0 && xl === 0) {
      w.writeBit(0);
      return;
    }
    w.writeBit(1);
    let leading = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
    const trailing = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    if (leading >= 32) leading = 31; // 5 bits hold at most 31
    if (
      this.leading !== 0xff &&
      leading >= this.leading &&
      trailing >= this.trailing &&
      // Reusing costs the window's width; a new one 11 bits more than the value's.
      (!this.tight || 64 - this.leading - this.trailing <= 75 - leading - trailing)
    ) {
      w.writeBit(0);
      writeShifted(w, xh, xl, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    const sigbits = 64 - leading - trailing;
    w.writeBit(1);
    w.writeBits(leading, 5);
    w.writeBits(sigbits & 63, 6); // 64 is written as 0
    writeShifted(w, xh, xl, trailing, sigbits);
  }
}

/** Writes the low `n` bits of the 64-bit (xh, xl) shifted right by `shift`. */
function writeShifted(w: BitWriter, xh: number, xl: number, shift: number, n: number): void {
  let a: number;
  let b: number;
  if (shift === 0) {
    a = xh;
    b = xl;
  } else if (shift < 32) {
    b = ((xl >>> shift) | (xh << (32 - shift))) >>> 0;
    a = xh >>> shift;
  } else {
    b = xh >>> (shift - 32);
    a = 0;
  }
  w.writeBits64(a, b, n);
}

/**
 * Iterates the samples of an XOR chunk with no object per sample. The sample count is
 * read when the iterator is reset, so samples appended later are not seen.
 */
export class XORIterator implements SampleIterator {
  private readonly br: BitReader;
  /** Samples in the chunk when the iterator was reset. */
  numTotal: number;
  private numRead: number;
  private done: boolean;
  private t: number;
  private tDelta: number;
  private vHi: number;
  private vLo: number;
  private v: number;
  private leading: number;
  private trailing: number;
  /** True once a '11' value header has set the window. */
  private windowSet: boolean;
  private error: Error | null;

  constructor(bytes: Uint8Array) {
    this.br = new BitReader();
    this.numTotal = 0;
    this.numRead = 0;
    this.done = false;
    this.t = -Infinity;
    this.tDelta = 0;
    this.vHi = 0;
    this.vLo = 0;
    this.v = 0;
    this.leading = 0;
    this.trailing = 0;
    this.windowSet = false;
    this.error = null;
    this.reset(bytes);
  }

  /**
   * Points the iterator at the start of another chunk's bytes. `numSamples` caps the
   * samples read (a snapshot of a chunk still being appended to); default: the header's count.
   */
  reset(bytes: Uint8Array, numSamples = -1): void {
    const inHeader = bytes.length >= HEADER_BYTES ? (bytes[0] << 8) | bytes[1] : 0;
    this.numTotal = numSamples >= 0 && numSamples < inHeader ? numSamples : inHeader;
    this.br.reset(bytes, HEADER_BYTES, bytes.length);
    this.numRead = 0;
    this.done = false;
    this.t = -Infinity;
    this.tDelta = 0;
    this.vHi = 0;
    this.vLo = 0;
    this.v = 0;
    this.leading = 0;
    this.trailing = 0;
    this.windowSet = false;
    this.error = null;
  }

  next(): ValueType {
    if (this.done) return ValueType.None;
    if (this.numRead === this.numTotal) {
      this.done = true;
      return ValueType.None;
    }
    const br = this.br;
    if (this.numRead === 0) {
      const u = br.readUvarint();
      this.t = u % 2 === 0 ? u / 2 : -(u + 1) / 2;
      this.vHi = br.readBits(32);
      this.vLo = br.readBits(32);
      U32[1] = this.vHi;
      U32[0] = this.vLo;
      this.v = F64[0];
    } else if (this.numRead === 1) {
      this.tDelta = br.readVarint64AsSigned();
      this.t += this.tDelta;
      this.readValue();
    } else {
      let dod = 0;
      if (br.readBit() !== 0) {
        // Prefix '10' → 14 bits, '110' → 17, '1110' → 20, '1111' → 64 (sz 0 here).
        let sz = 14;
        if (br.readBit() !== 0) {
          sz = 17;
          if (br.readBit() !== 0) {
            sz = 20;
            if (br.readBit() !== 0) sz = 0;
          }
        }
        if (sz !== 0) {
          dod = br.readBits(sz);
          // Payloads above 2^(sz-1) are negative (see docs/format/chunks.md).
          if (dod > 1 << (sz - 1)) dod -= 1 << sz;
        } else {
          const hi = br.readBits(32);
          dod = (hi | 0) * TWO_32 + br.readBits(32);
        }
      }
      this.tDelta += dod;
      this.t += this.tDelta;
      this.readValue();
    }
    if (br.overrun() || this.error !== null) return this.fail();
    this.numRead++;
    return ValueType.Float;
  }

  /** Reads one XOR-encoded value (Prometheus `xorRead`). */
  private readValue(): void {
    const br = this.br;
    if (br.readBit() === 0) return; // same bits as before
    let trailing: number;
    let mbits: number;
    if (br.readBit() === 0) {
      trailing = this.trailing;
      mbits = 64 - this.leading - trailing;
    } else {
      const leading = br.readBits(5);
      mbits = br.readBits(6);
      if (mbits === 0) mbits = 64;
      trailing = 64 - leading - mbits;
      if (trailing < 0) {
        this.error = this.corrupt(
          `xor window of ${leading} leading and ${mbits} significant bits exceeds 64`,
        );
        return;
      }
      this.leading = leading;
      this.trailing = trailing;
      this.windowSet = true;
    }
    let a = 0;
    let b: number;
    if (mbits > 32) {
      a = br.readBits(mbits - 32);
      b = br.readBits(32);
    } else {
      b = br.readBits(mbits);
    }
    let xh: number;
    let xl: number;
    if (trailing === 0) {
      xh = a;
      xl = b;
    } else if (trailing < 32) {
      xh = (a << trailing) | (b >>> (32 - trailing));
      xl = b << trailing;
    } else {
      xh = b << (trailing - 32);
      xl = 0;
    }
    this.vHi = (this.vHi ^ xh) >>> 0;
    this.vLo = (this.vLo ^ xl) >>> 0;
    U32[1] = this.vHi;
    U32[0] = this.vLo;
    this.v = F64[0];
  }

  private fail(): ValueType {
    if (this.error === null) {
      this.error = this.corrupt(
        `stream ends before sample ${this.numRead + 1} of ${this.numTotal}`,
      );
    }
    this.done = true;
    return ValueType.None;
  }

  private corrupt(msg: string): CorruptionError {
    return new CorruptionError(
      'xor chunk',
      HEADER_BYTES + (this.br.bitsRead(HEADER_BYTES) >>> 3),
      msg,
    );
  }

  seek(t: number): ValueType {
    if (this.done) return ValueType.None;
    while (this.numRead === 0 || t > this.t) {
      if (this.next() === ValueType.None) return ValueType.None;
    }
    return ValueType.Float;
  }

  atT(): number {
    return this.t;
  }

  atV(): number {
    return this.v;
  }

  err(): Error | null {
    return this.error;
  }

  /** Bits of the stream consumed so far (after the header). */
  bitsRead(): number {
    return this.br.bitsRead(HEADER_BYTES);
  }

  /** The delta between the last two timestamps read (appender state). */
  lastDelta(): number {
    return this.tDelta;
  }

  /** High half of the current value's bits. */
  valueHi(): number {
    return this.vHi;
  }

  /** Low half of the current value's bits. */
  valueLo(): number {
    return this.vLo;
  }

  /**
   * Leading zeros of the XOR window, or 0xff when no window was read yet, so that an
   * appender resumed on these bytes writes exactly what an uninterrupted one would.
   */
  windowLeading(): number {
    return this.windowSet ? this.leading : 0xff;
  }

  /** Trailing zeros of the XOR window. */
  windowTrailing(): number {
    return this.trailing;
  }
}

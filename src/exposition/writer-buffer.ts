/**
 * A growable byte buffer for building exposition bodies without concatenating strings.
 * @module
 */

/**
 * Bytes appended at the end of one reusable Buffer that doubles when it fills up, in the
 * manner of VictoriaMetrics' `ByteBuffer`. ASCII goes in through a `charCodeAt` loop (no
 * intermediate string or Buffer); anything else through `Buffer#write` as UTF-8.
 *
 * Views returned by {@link bytes} are valid until the next write or {@link reset}.
 */
export class ByteBuffer {
  /** The backing store; only `[0, length)` holds data. */
  buf: Buffer;
  /** Number of bytes written. */
  length: number;

  constructor(initialCapacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
    this.length = 0;
  }

  /** Forgets the content and keeps the memory for reuse. */
  reset(): void {
    this.length = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** A view of the written bytes; valid until the next write or reset. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** A copy of the written bytes, which the caller owns. */
  copy(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }

  /** Appends one byte. */
  writeByte(b: number): void {
    if (this.length >= this.buf.length) this.ensure(1);
    this.buf[this.length++] = b;
  }

  /** Appends raw bytes. */
  writeBytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
  }

  /**
   * Appends `s`, which the caller knows to be ASCII (names, numbers, keywords): one byte
   * per UTF-16 code unit.
   */
  writeAscii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const b = this.buf;
    let o = this.length;
    for (let i = 0; i < n; i++) b[o++] = s.charCodeAt(i);
    this.length = o;
  }

  /** Appends `s` as UTF-8, with an ASCII fast path. */
  writeUtf8(s: string): void {
    const n = s.length;
    this.ensure(n);
    const b = this.buf;
    let o = this.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.length = o;
        this.writeUtf8Slow(s, i);
        return;
      }
      b[o++] = c;
    }
    this.length = o;
  }

  /** Appends `s.slice(from)` as UTF-8. */
  private writeUtf8Slow(s: string, from: number): void {
    const rest = from === 0 ? s : s.slice(from);
    this.ensure(Buffer.byteLength(rest, 'utf8'));
    this.length += this.buf.write(rest, this.length, 'utf8');
  }

  /**
   * Appends `s` as UTF-8, escaping `\` as `\\`, newline as `\n`, and, when `quote` is true,
   * `"` as `\"`: the escaping of label values (quote = true) and of text-format HELP
   * (quote = false).
   */
  writeEscaped(s: string, quote: boolean): void {
    const n = s.length;
    this.ensure(n);
    const b = this.buf;
    let o = this.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || c === 0x5c || c === 0x0a || (quote && c === 0x22)) {
        this.length = o;
        this.writeEscapedSlow(s, i, quote);
        return;
      }
      b[o++] = c;
    }
    this.length = o;
  }

  private writeEscapedSlow(s: string, from: number, quote: boolean): void {
    let start = from;
    for (let i = from; i < s.length; i++) {
      const c = s.charCodeAt(i);
      let esc = 0;
      if (c === 0x5c) esc = 0x5c;
      else if (c === 0x0a) esc = 0x6e;
      else if (quote && c === 0x22) esc = 0x22;
      if (esc === 0) continue;
      if (i > start) this.writeUtf8(s.slice(start, i));
      this.ensure(2);
      this.buf[this.length++] = 0x5c;
      this.buf[this.length++] = esc;
      start = i + 1;
    }
    if (start < s.length) this.writeUtf8(start === 0 ? s : s.slice(start));
  }

  /**
   * Appends the decimal digits of a safe integer without building a string (timestamps,
   * integer sample values).
   */
  writeInt(v: number): void {
    this.ensure(17);
    const b = this.buf;
    if (v < 0) {
      b[this.length++] = 0x2d;
      v = -v;
    }
    if (v < 10) {
      b[this.length++] = 48 + v;
      return;
    }
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    let o = this.length + digits;
    this.length = o;
    while (v >= 10) {
      const q = Math.floor(v / 10);
      b[--o] = 48 + (v - q * 10);
      v = q;
    }
    b[--o] = 48 + v;
  }
}

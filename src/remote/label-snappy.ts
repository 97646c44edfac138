/**
 * Snappy block compression that knows where the labels are. In a WriteRequest almost
 * every byte is a label (a Linkerd series carries ~550 bytes of labels per 20-byte
 * sample), and nearly every `Label` message (one name and value) already appeared
 * earlier in the same request: the target's `job`, `instance`, `namespace`, `pod`…, the
 * metric name, `le`. A generic compressor hashes every position to find those repeats
 * again in each request; here the encoder already knows them, so it records each repeat
 * as a copy while it writes the request ({@link CopyList}) and {@link compressWithCopies}
 * writes the block from the raw bytes and that list: literals for the rest, copy
 * elements for the repeats. No search at all, and the output is an ordinary snappy
 * block (https://github.com/google/snappy/blob/main/format_description.txt) that any
 * decoder reads; the receivers' decoders are the tests' judges.
 *
 * ```
 * block    = varint(raw length) element*
 * literal  = tag (len-1)<<2 | 0, len ≤ 60;  60..63 <<2: 1–4 bytes of len-1 follow; then the bytes
 * copy-1   = tag (off>>8)<<5 | (len-4)<<2 | 1, off & 0xff     (len 4–11, off < 2048)
 * copy-2   = tag (len-1)<<2 | 2, off as 2 bytes LE              (len 1–64, off < 65536)
 * copy-4   = tag (len-1)<<2 | 3, off as 4 bytes LE              (len 1–64)
 * ```
 * @module
 */

/**
 * Interns the `Label` messages of encoded label sets: each distinct message (name and
 * value, with its tag and length) gets a small id, so a request can remember where it
 * last wrote it in one array lookup.
 */
export class LabelPairTable {
  private readonly ids = new Map<string, number>();
  /** Bytes of each interned message. */
  lengths: Int32Array = new Int32Array(1024);
  /** Number of ids given out. */
  size = 0;

  /**
   * The ids of the `Label` messages of `encoded` (the output of `encodeLabels`: repeated
   * tag 0x0a, varint length, message), in order.
   */
  intern(encoded: Uint8Array): Int32Array {
    const out: number[] = [];
    let p = 0;
    while (p < encoded.length) {
      const start = p;
      p++; // tag
      let len = 0;
      let shift = 0;
      for (;;) {
        const b = encoded[p++];
        len += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) break;
        shift += 7;
      }
      p += len;
      const key = Buffer.prototype.latin1Slice.call(encoded, start, p) as string;
      let id = this.ids.get(key);
      if (id === undefined) {
        id = this.size++;
        this.ids.set(key, id);
        if (id === this.lengths.length) {
          const l = new Int32Array(id * 2);
          l.set(this.lengths);
          this.lengths = l;
        }
        this.lengths[id] = p - start;
      }
      out.push(id);
    }
    return Int32Array.from(out);
  }
}

/**
 * Repeats found while writing one raw request: `dst[i]` (where the repeat is written)
 * equals `len[i]` bytes from `src[i]`, with `src[i] + len[i] <= dst[i]`; entries in
 * increasing `dst` order, not overlapping. Adjacent repeats of adjacent sources are merged
 * into one entry as they are added.
 */
export class CopyList {
  dst: Int32Array = new Int32Array(1024);
  src: Int32Array = new Int32Array(1024);
  len: Int32Array = new Int32Array(1024);
  length = 0;

  reset(): void {
    this.length = 0;
  }

  /** Records that `len` bytes at `dst` repeat those at `src`. */
  add(dst: number, src: number, len: number): void {
    const n = this.length;
    if (n > 0) {
      const k = n - 1;
      if (this.dst[k] + this.len[k] === dst && this.src[k] + this.len[k] === src) {
        this.len[k] += len;
        return;
      }
    }
    if (n === this.dst.length) {
      this.dst = grow(this.dst);
      this.src = grow(this.src);
      this.len = grow(this.len);
    }
    this.dst[n] = dst;
    this.src[n] = src;
    this.len[n] = len;
    this.length = n + 1;
  }
}

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Most bytes the block of `rawLength` raw bytes can take (all literals). */
export function maxBlockLength(rawLength: number): number {
  return 5 + rawLength + 5 * Math.ceil(rawLength / 65536) + 5;
}

let out: Buffer = Buffer.allocUnsafe(64 * 1024);

/**
 * The snappy block of `raw[0, rawLength)`, with the repeats of `copies` written as copy
 * elements and everything else as literals. Returns a new Buffer (the caller may keep it
 * while the next one is written).
 */
export function compressWithCopies(raw: Uint8Array, rawLength: number, copies: CopyList): Buffer {
  const need = maxBlockLength(rawLength);
  if (out.length < need) out = Buffer.allocUnsafe(Math.max(need, out.length * 2));
  const o = out;
  let p = 0;
  // Preamble: the raw length as a varint.
  for (let n = rawLength; ;) {
    if (n < 0x80) {
      o[p++] = n;
      break;
    }
    o[p++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  let at = 0; // raw bytes written so far
  const dsts = copies.dst;
  const srcs = copies.src;
  const lens = copies.len;
  for (let i = 0; i < copies.length; i++) {
    const dst = dsts[i];
    if (dst > at) p = putLiteral(o, p, raw, at, dst);
    p = putCopy(o, p, dst - srcs[i], lens[i]);
    at = dst + lens[i];
  }
  if (rawLength > at) p = putLiteral(o, p, raw, at, rawLength);
  return Buffer.from(o.subarray(0, p));
}

/** Writes raw[from, to) as one literal element; returns the end. */
function putLiteral(o: Buffer, p: number, raw: Uint8Array, from: number, to: number): number {
  const n = to - from - 1;
  if (n < 60) {
    o[p++] = n << 2;
  } else if (n < 0x100) {
    o[p++] = 60 << 2;
    o[p++] = n;
  } else if (n < 0x10000) {
    o[p++] = 61 << 2;
    o[p++] = n & 0xff;
    o[p++] = n >>> 8;
  } else if (n < 0x1000000) {
    o[p++] = 62 << 2;
    o[p++] = n & 0xff;
    o[p++] = (n >>> 8) & 0xff;
    o[p++] = n >>> 16;
  } else {
    o[p++] = 63 << 2;
    o[p++] = n & 0xff;
    o[p++] = (n >>> 8) & 0xff;
    o[p++] = (n >>> 16) & 0xff;
    o[p++] = n >>> 24;
  }
  if (to - from < 16) {
    for (let i = from; i < to; i++) o[p++] = raw[i];
    return p;
  }
  o.set(raw.subarray(from, to), p);
  return p + (to - from);
}

/** Writes a copy of `len` bytes from `offset` back, as elements of at most 64 bytes. */
function putCopy(o: Buffer, p: number, offset: number, len: number): number {
  while (len > 0) {
    // Leave at least 4 for a last copy-1 where one fits; any length 1–64 is valid in copy-2/4.
    const n = len > 64 ? (len - 64 < 4 ? 60 : 64) : len;
    if (n >= 4 && n <= 11 && offset < 2048) {
      o[p++] = ((offset >>> 8) << 5) | ((n - 4) << 2) | 1;
      o[p++] = offset & 0xff;
    } else if (offset < 0x10000) {
      o[p++] = ((n - 1) << 2) | 2;
      o[p++] = offset & 0xff;
      o[p++] = offset >>> 8;
    } else {
      o[p++] = ((n - 1) << 2) | 3;
      o[p++] = offset & 0xff;
      o[p++] = (offset >>> 8) & 0xff;
      o[p++] = (offset >>> 16) & 0xff;
      o[p++] = offset >>> 24;
    }
    len -= n;
  }
  return p;
}

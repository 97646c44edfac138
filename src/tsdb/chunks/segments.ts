/**
 * Chunk segment files of a block (`<block>/chunks/000001`, …), as Prometheus's
 * `tsdb/chunks/chunks.go`. See docs/format/chunks.md, "Chunk segment files".
 *
 * The writer appends chunks through a write buffer; the reader reads one chunk at a
 * time with a positioned read, so memory does not grow with the block.
 * @module
 */

import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  fstatSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { CorruptionError, StorageError } from '../../model/errors.js';
import { crc32c } from '../crc32c.js';

/** Magic number at the start of every segment file. */
export const MAGIC_CHUNKS = 0x85bd40dd;
/** Segment format version we write and read. */
export const CHUNKS_FORMAT_V1 = 1;
/** Bytes before the first chunk: magic, version, 3 padding bytes. */
export const SEGMENT_HEADER_SIZE = 8;
/** A new segment is started when a chunk would take the current one past this size. */
export const DEFAULT_MAX_SEGMENT_SIZE = 512 * 1024 * 1024;
/** The XOR float encoding byte. */
export const ENCODING_XOR_BYTE = 1;

const TWO_32 = 2 ** 32;

/** A chunk reference: segment index (0 for file 000001) in the high 32 bits, offset in the low. */
export function packChunkRef(segment: number, offset: number): number {
  return segment * TWO_32 + offset;
}

/** Segment index of a chunk reference. */
export function chunkRefSegment(ref: number): number {
  return Math.floor(ref / TWO_32);
}

/** Offset within its segment of a chunk reference. */
export function chunkRefOffset(ref: number): number {
  return ref % TWO_32;
}

/** File name of segment `index` (0-based): `000001` for 0. */
export function segmentFileName(index: number): string {
  return String(index + 1).padStart(6, '0');
}

/** Bytes a uvarint of `n` takes. */
function uvarintSize(n: number): number {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

/** Writes `n` as a uvarint at `buf[off]`; returns the new offset. */
function putUvarint(buf: Uint8Array, off: number, n: number): number {
  while (n >= 0x80) {
    buf[off++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[off++] = n;
  return off;
}

const WRITE_BUFFER_SIZE = 1 << 20;

/**
 * Writes chunks into segment files of one directory. Not reusable: call
 * {@link close} once, which fsyncs every segment.
 *
 * With `shareIdentical`, a chunk whose bytes (encoding included) equal a chunk already
 * in the current segment is not written again: {@link write} returns the earlier
 * chunk's reference, so several series of the index point at one chunk. Nothing in the
 * format ties a chunk to one series (a reference is only a position), and readers read
 * it as any other. Series with the same samples at the same timestamps are common in
 * scraped data: a histogram's `le="+Inf"` bucket and its `_count` always, and every
 * bucket that stays at zero or has caught up with +Inf (docs/format/chunks.md).
 */
export class ChunkWriter {
  private readonly dir: string;
  private readonly maxSegmentSize: number;
  private fd: number;
  private segment: number;
  /** Bytes in the current segment, including those still in `buf`. */
  private segmentSize: number;
  private readonly buf: Buffer;
  private bufLen: number;
  /** Segment offset of `buf[0]`: bytes before it are in the file. */
  private bufStart: number;
  /**
   * With sharing on: offset in the current segment of the first chunk seen per key
   * (CRC of encoding and data, plus length × 2^32); candidates are compared byte for byte.
   */
  private readonly written: Map<number, number> | null;
  /** Scratch for reading back a candidate that left the write buffer. */
  private compareBuf: Buffer;
  /** Total bytes written over all segments. */
  bytesWritten: number;
  /** Chunks that were not written because an identical one was (see class doc). */
  chunksShared: number;

  constructor(dir: string, maxSegmentSize = DEFAULT_MAX_SEGMENT_SIZE, shareIdentical = false) {
    this.dir = dir;
    this.maxSegmentSize = maxSegmentSize;
    this.fd = -1;
    this.segment = -1;
    this.segmentSize = 0;
    this.buf = Buffer.allocUnsafe(WRITE_BUFFER_SIZE);
    this.bufLen = 0;
    this.bufStart = 0;
    this.written = shareIdentical ? new Map() : null;
    this.compareBuf = Buffer.allocUnsafe(0);
    this.bytesWritten = 0;
    this.chunksShared = 0;
    mkdirSync(dir, { recursive: true });
  }

  /**
   * Appends one chunk and returns its reference (or, when sharing, the reference of an
   * identical chunk written before). `data` is the chunk's bytes without the encoding
   * byte; it is copied.
   */
  write(encoding: number, data: Uint8Array): number {
    const size = uvarintSize(data.length) + 1 + data.length + 4;
    if (
      this.fd < 0 ||
      (this.segmentSize > SEGMENT_HEADER_SIZE && this.segmentSize + size > this.maxSegmentSize)
    ) {
      this.cut();
    }
    const ref = packChunkRef(this.segment, this.segmentSize);
    if (this.bufLen + size > this.buf.length) this.flush();
    if (size > this.buf.length) {
      // A chunk larger than the write buffer goes straight to the file (never shared).
      const tmp = Buffer.allocUnsafe(size);
      this.encodeInto(tmp, 0, encoding, data);
      let off = 0;
      while (off < size) off += writeSync(this.fd, tmp, off, size - off);
      this.bufStart += size;
    } else {
      const at = this.bufLen;
      this.bufLen = this.encodeInto(this.buf, at, encoding, data);
      if (this.written !== null) {
        const key = data.length * TWO_32 + this.buf.readUInt32BE(this.bufLen - 4);
        const prev = this.written.get(key);
        if (prev === undefined) {
          this.written.set(key, this.segmentSize);
        } else if (this.sameAsWritten(prev, at, size)) {
          this.bufLen = at; // drop the copy just encoded
          this.chunksShared++;
          return packChunkRef(this.segment, prev);
        }
      }
    }
    this.segmentSize += size;
    this.bytesWritten += size;
    return ref;
  }

  /** Whether the `size` bytes at segment offset `prev` equal those at `buf[at]`. */
  private sameAsWritten(prev: number, at: number, size: number): boolean {
    if (prev >= this.bufStart) {
      const i = prev - this.bufStart;
      return this.buf.compare(this.buf, at, at + size, i, i + size) === 0;
    }
    if (this.compareBuf.length < size) this.compareBuf = Buffer.allocUnsafe(Math.max(size, 4096));
    let got = 0;
    while (got < size) {
      const n = readSync(this.fd, this.compareBuf, got, size - got, prev + got);
      if (n === 0) return false;
      got += n;
    }
    return this.compareBuf.compare(this.buf, at, at + size, 0, size) === 0;
  }

  private encodeInto(dst: Buffer, off: number, encoding: number, data: Uint8Array): number {
    off = putUvarint(dst, off, data.length);
    const crcStart = off;
    dst[off++] = encoding;
    dst.set(data, off);
    off += data.length;
    dst.writeUInt32BE(crc32c(dst, crcStart, off), off);
    return off + 4;
  }

  private cut(): void {
    if (this.fd >= 0) this.finishSegment();
    this.segment++;
    // Read access too: a chunk to share is compared with the bytes already written.
    this.fd = openSync(join(this.dir, segmentFileName(this.segment)), 'w+');
    this.written?.clear();
    this.bufStart = 0;
    this.buf.writeUInt32BE(MAGIC_CHUNKS, 0);
    this.buf[4] = CHUNKS_FORMAT_V1;
    this.buf[5] = this.buf[6] = this.buf[7] = 0;
    this.bufLen = SEGMENT_HEADER_SIZE;
    this.segmentSize = SEGMENT_HEADER_SIZE;
    this.bytesWritten += SEGMENT_HEADER_SIZE;
  }

  private flush(): void {
    let off = 0;
    while (off < this.bufLen) off += writeSync(this.fd, this.buf, off, this.bufLen - off);
    this.bufStart += this.bufLen;
    this.bufLen = 0;
  }

  private finishSegment(): void {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Flushes, fsyncs and closes the last segment. Writes no file when no chunk was written. */
  close(): void {
    if (this.fd >= 0) this.finishSegment();
  }
}

/**
 * Bytes read at a chunk's offset before its length is known: enough for the whole of
 * most chunks of our blocks (a 720-sample counter chunk is 300–700 bytes), so a series
 * costs one read.
 */
const FIRST_READ = 1024;
/** Farthest apart two chunks may start and still be read by one {@link ChunkReader.readRun} read. */
const MAX_RUN_GAP = 64 * 1024;

/**
 * Reads chunks of one block's segment files by reference. Holds one file descriptor
 * per segment and a small scratch buffer for the first read of each chunk.
 */
export class ChunkReader {
  private readonly dir: string;
  private readonly fds: number[];
  private readonly sizes: number[];
  private readonly scratch: Buffer;
  /** Encoding byte of the chunk last returned by {@link read}. */
  encoding: number;
  /** Total bytes of all segment files. */
  readonly size: number;

  /** Opens every segment file of `dir` and checks its header. */
  constructor(dir: string) {
    this.dir = dir;
    this.fds = [];
    this.sizes = [];
    this.scratch = Buffer.allocUnsafe(FIRST_READ);
    this.encoding = 0;
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => /^\d+$/.test(n))
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else
        throw new StorageError('ERR_CHUNKS', `cannot list chunk segments in ${dir}`, {
          cause: err,
        });
    }
    let total = 0;
    try {
      for (let i = 0; i < names.length; i++) {
        if (Number(names[i]) !== i + 1) {
          throw new CorruptionError(
            join(dir, names[i]),
            0,
            `segment files are not numbered in sequence (want ${segmentFileName(i)})`,
          );
        }
        const fd = openSync(join(dir, names[i]), 'r');
        this.fds.push(fd);
        const size = fstatSync(fd).size;
        this.sizes.push(size);
        total += size;
        const h = Buffer.alloc(SEGMENT_HEADER_SIZE);
        if (
          size < SEGMENT_HEADER_SIZE ||
          readSync(fd, h, 0, SEGMENT_HEADER_SIZE, 0) !== SEGMENT_HEADER_SIZE
        ) {
          throw new CorruptionError(
            join(dir, names[i]),
            0,
            `segment shorter than its ${SEGMENT_HEADER_SIZE}-byte header`,
          );
        }
        if (h.readUInt32BE(0) !== MAGIC_CHUNKS) {
          throw new CorruptionError(
            join(dir, names[i]),
            0,
            `bad magic 0x${h.readUInt32BE(0).toString(16)}, want 0x85bd40dd`,
          );
        }
        if (h[4] !== CHUNKS_FORMAT_V1) {
          throw new CorruptionError(
            join(dir, names[i]),
            4,
            `unsupported segment version ${h[4]}, want 1`,
          );
        }
      }
    } catch (err) {
      this.close();
      throw err;
    }
    this.size = total;
  }

  /**
   * Reads the chunk at `ref`, checks its CRC and returns its data (without the
   * encoding byte, which goes to {@link encoding}) in a new array the caller owns.
   */
  read(ref: number): Uint8Array {
    const seg = chunkRefSegment(ref);
    const off = chunkRefOffset(ref);
    if (seg >= this.fds.length) {
      throw new CorruptionError(
        this.segmentPath(seg),
        off,
        `chunk ref ${ref} names segment ${seg + 1} of ${this.fds.length}`,
      );
    }
    const file = this.sizes[seg];
    if (off < SEGMENT_HEADER_SIZE || off >= file) {
      throw new CorruptionError(
        this.segmentPath(seg),
        off,
        `chunk offset outside segment of ${file} bytes`,
      );
    }
    const fd = this.fds[seg];
    const head = this.scratch;
    const got = readSync(fd, head, 0, Math.min(FIRST_READ, file - off), off);
    let len = 0;
    let mul = 1;
    let p = 0;
    for (;;) {
      if (p >= got || p > 9)
        throw new CorruptionError(this.segmentPath(seg), off, 'truncated chunk length');
      const b = head[p++];
      len += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 128;
    }
    const rest = 1 + len + 4; // encoding, data, CRC
    if (off + p + rest > file) {
      throw new CorruptionError(
        this.segmentPath(seg),
        off,
        `chunk of ${len} bytes runs past the segment end (${file})`,
      );
    }
    const out = Buffer.allocUnsafe(rest);
    const have = Math.min(got - p, rest);
    head.copy(out, 0, p, p + have);
    if (have < rest && readSync(fd, out, have, rest - have, off + p + have) !== rest - have) {
      throw new CorruptionError(this.segmentPath(seg), off, 'short read of chunk');
    }
    const sum = crc32c(out, 0, 1 + len);
    const want = out.readUInt32BE(1 + len);
    if (sum !== want) {
      throw new CorruptionError(
        this.segmentPath(seg),
        off,
        `chunk checksum mismatch: got 0x${sum.toString(16)}, want 0x${want.toString(16)}`,
      );
    }
    this.encoding = out[0];
    return new Uint8Array(out.buffer, out.byteOffset + 1, len);
  }

  /**
   * Reads chunks `refs[from, to)` (of one series) with as few reads as possible: chunks
   * of a series usually lie back to back, so one read from the first chunk to past the
   * start of the last covers them; a shared chunk elsewhere is read on its own. Each chunk's CRC is checked.
   * Fills `out` with data views (owned by the caller) and `encodings` with their
   * encoding bytes, at the same indexes as `refs`.
   */
  readRun(
    refs: readonly number[],
    from: number,
    to: number,
    out: Uint8Array[],
    encodings: number[],
  ): void {
    let i = from;
    while (i < to) {
      const seg = chunkRefSegment(refs[i]);
      const start = chunkRefOffset(refs[i]);
      let j = i + 1;
      // A run ends where the next chunk is not just after this one: a series may point
      // at a chunk shared with an earlier series, far back in the file.
      while (
        j < to &&
        chunkRefSegment(refs[j]) === seg &&
        chunkRefOffset(refs[j]) > chunkRefOffset(refs[j - 1]) &&
        chunkRefOffset(refs[j]) - chunkRefOffset(refs[j - 1]) <= MAX_RUN_GAP
      )
        j++;
      if (seg >= this.fds.length || start < SEGMENT_HEADER_SIZE || j === i + 1) {
        out[i] = this.read(refs[i]); // bounds errors come from read()
        encodings[i] = this.encoding;
        i++;
        continue;
      }
      const file = this.sizes[seg];
      const end = Math.min(file, chunkRefOffset(refs[j - 1]) + FIRST_READ);
      const buf = Buffer.allocUnsafe(end - start);
      if (readSync(this.fds[seg], buf, 0, buf.length, start) !== buf.length) {
        throw new CorruptionError(this.segmentPath(seg), start, 'short read of chunks');
      }
      for (; i < j; i++) {
        const p0 = chunkRefOffset(refs[i]) - start;
        let len = 0;
        let mul = 1;
        let p = p0;
        let ok = false;
        while (p < buf.length && p - p0 < 10) {
          const b = buf[p++];
          len += (b & 0x7f) * mul;
          mul *= 128;
          if (b < 0x80) {
            ok = true;
            break;
          }
        }
        if (!ok || p + 1 + len + 4 > buf.length) {
          // The last chunk runs past what was read (or the length is damaged): read it alone.
          out[i] = this.read(refs[i]);
          encodings[i] = this.encoding;
          continue;
        }
        const sum = crc32c(buf, p, p + 1 + len);
        const want = buf.readUInt32BE(p + 1 + len);
        if (sum !== want) {
          throw new CorruptionError(
            this.segmentPath(seg),
            start + p0,
            `chunk checksum mismatch: got 0x${sum.toString(16)}, want 0x${want.toString(16)}`,
          );
        }
        encodings[i] = buf[p];
        out[i] = new Uint8Array(buf.buffer, buf.byteOffset + p + 1, len);
      }
    }
  }

  private segmentPath(seg: number): string {
    return join(this.dir, segmentFileName(seg));
  }

  /** Closes every segment file. */
  close(): void {
    for (const fd of this.fds) closeSync(fd);
    this.fds.length = 0;
  }
}

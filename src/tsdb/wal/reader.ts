/**
 * Reading the WAL back (Prometheus `wlog.Reader` and `wlog.LiveReader` in one): a pull
 * cursor over the records of consecutive segments that checks every fragment and reports
 * damage as a {@link WalCorruptionError} naming the segment and offset.
 * @module
 */

import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { uncompressSync } from 'snappy';
import { CorruptionError } from '../../model/errors.js';
import { crc32c } from '../crc32c.js';
import {
  COMPRESSION_MASK,
  FRAGMENT_HEADER_SIZE,
  SNAPPY_FLAG,
  FRAGMENT_TYPE_MASK,
  FragmentType,
  PAGE_SIZE,
  listSegments,
  segmentPath,
} from './segment.js';

/** Damage in a WAL segment, with what a repair needs to cut it off. */
export class WalCorruptionError extends CorruptionError {
  /** Index of the damaged segment. */
  readonly segment: number;
  /** End of the last complete, valid record before the damage (bytes into the segment). */
  readonly lastGoodEnd: number;
  /** What is wrong, without the location. */
  readonly reason: string;
  constructor(dir: string, segment: number, offset: number, lastGoodEnd: number, reason: string) {
    super(segmentPath(dir, segment), offset, reason);
    this.name = 'WalCorruptionError';
    this.segment = segment;
    this.lastGoodEnd = lastGoodEnd;
    this.reason = reason;
  }
}

/** Options of a {@link WalReader}. */
export interface WalReaderOptions {
  /** First segment to read; default the first on disk. */
  first?: number;
  /** Last segment to read (inclusive); default the last on disk. Ignored when live. */
  last?: number;
  /**
   * Tail a log that is being written: an incomplete tail is "no more for now" (next()
   * returns false with no error; call it again later) and new segments are picked up.
   */
  live?: boolean;
  /** Bytes read from the file per system call. Default 1 MiB. */
  readChunkBytes?: number;
}

const NO_SEGMENT = -1;

/**
 * A cursor over WAL records. `next()` moves to the next record and returns false at the
 * end, on corruption (see {@link err}), or — when live — when no complete record is there
 * yet. {@link record} is a view valid until the next call to next().
 */
export class WalReader {
  readonly dir: string;
  private readonly live: boolean;
  private readonly chunk: number;
  private readonly lastSeg: number;

  /** Segments still to open (non-live), ascending. */
  private queue: number[];
  /** Live: the lowest segment to start from. */
  private nextLive: number;

  private fd: number;
  private seg: number;
  /** Bytes of the segment from file offset `base`; valid bytes are [0, dataLen). */
  private data: Buffer;
  private dataLen: number;
  private base: number;
  /** Read position in `data`. */
  private pos: number;
  /** The segment has no more bytes (the file ended and is final). */
  private eof: boolean;

  /** Assembly of a record split into fragments. */
  private recBuf: Buffer;
  private recLen: number;
  private inRecord: boolean;
  /** The record being assembled has the Snappy flag (set on each of its fragments). */
  private recSnappy: boolean;
  private cur: Uint8Array;
  private curSeg: number;
  private lastGoodEnd: number;
  private error: WalCorruptionError | null;
  /** Count of records returned. */
  records: number;

  constructor(dir: string, opts: WalReaderOptions = {}) {
    this.dir = dir;
    this.live = opts.live ?? false;
    this.chunk = opts.readChunkBytes ?? 1024 * 1024;
    this.lastSeg = opts.last ?? Number.MAX_SAFE_INTEGER;
    const segs = listSegments(dir);
    const first = opts.first ?? (segs.length > 0 ? segs[0] : 0);
    this.queue = segs.filter((i) => i >= first && i <= this.lastSeg);
    this.nextLive = this.live ? (opts.first ?? 0) : NO_SEGMENT;
    this.fd = -1;
    this.seg = NO_SEGMENT;
    this.data = Buffer.allocUnsafe(Math.max(this.chunk, 2 * PAGE_SIZE));
    this.dataLen = 0;
    this.base = 0;
    this.pos = 0;
    this.eof = false;
    this.recBuf = Buffer.allocUnsafe(PAGE_SIZE);
    this.recLen = 0;
    this.inRecord = false;
    this.recSnappy = false;
    this.cur = this.recBuf.subarray(0, 0);
    this.curSeg = NO_SEGMENT;
    this.lastGoodEnd = 0;
    this.error = null;
    this.records = 0;
  }

  /** The current record: a view valid until the next call to {@link next}. */
  record(): Uint8Array {
    return this.cur;
  }

  /** Segment of the current record. */
  segment(): number {
    return this.curSeg;
  }

  /** Offset just after the current record in its segment. */
  offset(): number {
    return this.lastGoodEnd;
  }

  /** The corruption that stopped the reader, or null. */
  err(): WalCorruptionError | null {
    return this.error;
  }

  /** Releases the open segment. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Moves to the next record. */
  next(): boolean {
    if (this.error !== null) return false;
    for (;;) {
      if (this.fd < 0 && !this.openNext()) return false;
      const fragStart = this.base + this.pos;
      if (!this.need(1)) {
        if (this.live && !this.eof) return false; // no more for now
        // The segment has ended for good.
        if (this.inRecord) return this.corrupt(fragStart, 'segment ends inside a record');
        this.close();
        continue;
      }
      const typeByte = this.data[this.pos];
      if (typeByte === FragmentType.PageTerm) {
        // Zero padding up to the end of the page: check every byte is zero.
        const k = PAGE_SIZE - (fragStart % PAGE_SIZE);
        if (!this.need(k)) {
          if (this.live && !this.eof) return false;
          return this.corrupt(fragStart, 'segment ends inside page padding');
        }
        const d = this.data;
        for (let i = this.pos, e = this.pos + k; i < e; i++) {
          if (d[i] !== 0) return this.corrupt(this.base + i, 'non-zero byte in page padding');
        }
        this.pos += k;
        continue;
      }
      if (!this.need(FRAGMENT_HEADER_SIZE)) {
        if (this.live && !this.eof) return false;
        return this.corrupt(fragStart, 'segment ends inside a fragment header');
      }
      const d = this.data;
      const p = this.pos;
      if (typeByte & COMPRESSION_MASK & ~SNAPPY_FLAG) {
        return this.corrupt(
          fragStart,
          `zstd-compressed record (type byte 0x${typeByte.toString(16)}) is not supported`,
        );
      }
      const type = typeByte & FRAGMENT_TYPE_MASK;
      if (typeByte & ~(FRAGMENT_TYPE_MASK | COMPRESSION_MASK) || type > FragmentType.Last) {
        return this.corrupt(fragStart, `invalid fragment type byte 0x${typeByte.toString(16)}`);
      }
      const len = (d[p + 1] << 8) | d[p + 2];
      const crc = ((d[p + 3] << 24) | (d[p + 4] << 16) | (d[p + 5] << 8) | d[p + 6]) >>> 0;
      if ((fragStart % PAGE_SIZE) + FRAGMENT_HEADER_SIZE + len > PAGE_SIZE) {
        return this.corrupt(fragStart, `fragment of ${len} bytes crosses the page boundary`);
      }
      if (!this.need(FRAGMENT_HEADER_SIZE + len)) {
        if (this.live && !this.eof) return false;
        return this.corrupt(fragStart, `segment ends inside a fragment of ${len} bytes`);
      }
      // need() may have moved the bytes.
      const q = this.pos + FRAGMENT_HEADER_SIZE;
      const got = crc32c(this.data, q, q + len);
      if (got !== crc) {
        return this.corrupt(
          fragStart,
          `checksum mismatch: got 0x${got.toString(16)}; want 0x${crc.toString(16)}`,
        );
      }
      const starts = type === FragmentType.Full || type === FragmentType.First;
      if (starts === this.inRecord) {
        return this.corrupt(
          fragStart,
          this.inRecord
            ? `fragment type ${type} inside a record`
            : `fragment type ${type} outside a record`,
        );
      }
      const snappy = (typeByte & SNAPPY_FLAG) !== 0;
      if (starts) this.recSnappy = snappy;
      else if (snappy !== this.recSnappy) {
        return this.corrupt(fragStart, 'fragments of one record disagree on compression');
      }
      this.pos = q + len;
      if (type === FragmentType.Full) {
        // Zero copy: the record is a view into the read buffer.
        const rec = this.data.subarray(q, q + len);
        return snappy ? this.emitSnappy(rec, fragStart) : this.emit(rec);
      }
      this.appendFragment(q, len);
      if (type === FragmentType.Last) {
        this.inRecord = false;
        const rec = this.recBuf.subarray(0, this.recLen);
        return snappy ? this.emitSnappy(rec, fragStart) : this.emit(rec);
      }
      this.inRecord = true;
    }
  }

  private emit(rec: Uint8Array): true {
    this.cur = rec;
    this.curSeg = this.seg;
    this.lastGoodEnd = this.base + this.pos;
    this.recLen = 0;
    this.records++;
    return true;
  }

  /** Emits a Snappy-compressed record (block format) decompressed. */
  private emitSnappy(compressed: Uint8Array, fragStart: number): boolean {
    let rec: Buffer;
    try {
      rec = uncompressSync(compressed, { asBuffer: true }) as Buffer;
    } catch (err) {
      // The CRCs matched, so the writer stored bad bytes: treat it as damage all the same.
      return this.corrupt(fragStart, `invalid snappy record: ${(err as Error).message}`);
    }
    return this.emit(rec);
  }

  private appendFragment(q: number, len: number): void {
    const need = this.recLen + len;
    if (need > this.recBuf.length) {
      let cap = this.recBuf.length * 2;
      while (cap < need) cap *= 2;
      const nb = Buffer.allocUnsafe(cap);
      this.recBuf.copy(nb, 0, 0, this.recLen);
      this.recBuf = nb;
    }
    this.data.copy(this.recBuf, this.recLen, q, q + len);
    this.recLen = need;
  }

  private corrupt(offset: number, reason: string): false {
    const seg = this.seg;
    this.error = new WalCorruptionError(this.dir, seg, offset, this.segLastGoodEnd(), reason);
    this.close();
    return false;
  }

  /** End of the last good record in the current segment (0 when none yet). */
  private segLastGoodEnd(): number {
    return this.curSeg === this.seg ? this.lastGoodEnd : 0;
  }

  /** Opens the next segment; false when there is none (yet, when live). */
  private openNext(): boolean {
    let idx: number;
    if (this.live) {
      if (this.seg === NO_SEGMENT) {
        // Nothing read yet: start at the first segment there is now, from `first` on.
        const segs = listSegments(this.dir);
        let found = -1;
        for (const i of segs) {
          if (i >= this.nextLive) {
            found = i;
            break;
          }
        }
        if (found < 0) return false;
        idx = found;
      } else {
        idx = this.seg + 1;
        if (!existsSync(segmentPath(this.dir, idx))) return false;
      }
    } else {
      if (this.queue.length === 0) return false;
      idx = this.queue.shift() as number;
    }
    try {
      this.fd = openSync(segmentPath(this.dir, idx), 'r');
    } catch (err) {
      if (this.live && (err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    this.seg = idx;
    this.base = 0;
    this.pos = 0;
    this.dataLen = 0;
    this.eof = false;
    this.inRecord = false;
    this.recLen = 0;
    return true;
  }

  /**
   * Makes sure `n` bytes from `pos` are in the buffer, reading more of the file as
   * needed. False when the file has fewer; then `eof` says whether it is final.
   */
  private need(n: number): boolean {
    while (this.dataLen - this.pos < n) {
      if (!this.fill(n)) return false;
    }
    return true;
  }

  private fill(n: number): boolean {
    // Drop consumed bytes, then grow the buffer if `n` still would not fit.
    if (this.pos > 0) {
      this.data.copy(this.data, 0, this.pos, this.dataLen);
      this.base += this.pos;
      this.dataLen -= this.pos;
      this.pos = 0;
    }
    if (n > this.data.length) {
      const nb = Buffer.allocUnsafe(Math.max(n, this.data.length * 2));
      this.data.copy(nb, 0, 0, this.dataLen);
      this.data = nb;
    }
    const want = this.data.length - this.dataLen;
    const got = readSync(this.fd, this.data, this.dataLen, want, this.base + this.dataLen);
    if (got > 0) {
      this.dataLen += got;
      return true;
    }
    // End of file. A live segment is final once a later one exists: then read once more,
    // since bytes may have landed between our read and the check.
    if (!this.live) {
      this.eof = true;
    } else if (existsSync(segmentPath(this.dir, this.seg + 1))) {
      const again = readSync(this.fd, this.data, this.dataLen, want, this.base + this.dataLen);
      if (again > 0) {
        this.dataLen += again;
        return true;
      }
      this.eof = fstatSync(this.fd).size === this.base + this.dataLen;
    }
    return false;
  }
}

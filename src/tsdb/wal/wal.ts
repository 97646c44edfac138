/**
 * The WAL writer (Prometheus `tsdb/wlog.WL`): records are cut into fragments that fill
 * 32 KiB pages of segment files (docs/format/wal.md). `log()` builds the fragments in
 * memory; `commit()` hands them to the file and, with `fsync: 'commit'`, to the disk.
 * @module
 */

import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
  close as closeFd,
} from 'node:fs';
import { compressSync } from 'snappy';
import { StorageError } from '../../model/errors.js';
import { crc32c } from '../crc32c.js';
import {
  DEFAULT_SEGMENT_SIZE,
  FRAGMENT_HEADER_SIZE,
  FragmentType,
  PAGE_SIZE,
  SNAPPY_FLAG,
  fsyncDir,
  listSegments,
  segmentName,
  segmentPath,
} from './segment.js';
import type { WalCorruptionError } from './reader.js';

/**
 * When data reaches the disk. `'segment'` (the default, Prometheus's behaviour): a commit
 * writes to the OS; segments are fsynced when closed, at checkpoints and on close, so a
 * resolved commit survives a process crash but not a machine crash. `'commit'`: a commit
 * resolves only after an fdatasync, so it survives a machine crash too.
 */
export type FsyncMode = 'segment' | 'commit';

/**
 * How records are stored: `'snappy'` (Prometheus 2.42's default,
 * `--storage.tsdb.wal-compression`) compresses each record with Snappy's block format
 * and keeps the compressed form when it is smaller; `'none'` stores records as they are.
 */
export type WalCompression = 'none' | 'snappy';

/** Options of {@link WAL.open}. */
export interface WALOptions {
  /** Largest size of a segment file; a multiple of 32 KiB. Default 128 MiB. */
  segmentSizeBytes?: number;
  /** See {@link FsyncMode}. Default `'segment'`. */
  fsync?: FsyncMode;
  /**
   * See {@link WalCompression}. Default `'none'` at this level (byte layouts stay
   * predictable); the database passes its own default, `'snappy'` as Prometheus 2.42.
   */
  compression?: WalCompression;
  /** Receives the one-line reports of repairs. Default: console.warn. */
  logger?: (line: string) => void;
}

/** What a {@link WAL.repair} dropped. */
export interface RepairResult {
  segment: number;
  /** Size the damaged segment was truncated to. */
  truncatedTo: number;
  droppedBytes: number;
  deletedSegments: number;
}

/** Bytes waiting for a commit before log() writes them out anyway. */
const FLUSH_THRESHOLD = 1024 * 1024;

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

function closeAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => closeFd(fd, (err) => (err ? reject(err) : resolve())));
}

/**
 * A write-ahead log in one folder. Not safe for use by two processes at once. Calls are
 * synchronous except {@link commit} and {@link close}; `log()` and `commit()` may
 * interleave freely between concurrent appenders, since each record is logged whole.
 */
export class WAL {
  /** The folder holding the segments. */
  readonly dir: string;
  readonly segmentSizeBytes: number;
  readonly fsyncMode: FsyncMode;
  readonly compression: WalCompression;
  private readonly logger: (line: string) => void;

  /** File descriptor of the active segment, -1 before the first write. */
  private fd: number;
  /** Index of the active segment, or of the one the next write creates. */
  private segIndex: number;
  /** Bytes of the active segment, counting those still pending in memory. */
  private segOffset: number;
  /** Bytes logged but not yet written to the file. */
  private pending: Buffer;
  private pendingLen: number;
  /** Settles when every fdatasync and close issued so far has finished. */
  private syncChain: Promise<void>;
  /** A commit's fdatasync waiting for the one in flight to finish; commits share it. */
  private syncWaiting: Promise<void> | null;
  private closed: boolean;

  private constructor(dir: string, opts: WALOptions, nextIndex: number) {
    this.dir = dir;
    this.segmentSizeBytes = opts.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE;
    this.fsyncMode = opts.fsync ?? 'segment';
    this.compression = opts.compression ?? 'none';
    this.logger = opts.logger ?? ((line) => console.warn(line));
    this.fd = -1;
    this.segIndex = nextIndex;
    this.segOffset = 0;
    this.pending = Buffer.alloc(2 * PAGE_SIZE);
    this.pendingLen = 0;
    this.syncChain = Promise.resolve();
    this.syncWaiting = null;
    this.closed = false;
  }

  /**
   * Opens the WAL in `dir`, creating the folder. Nothing is read: replay (and repair)
   * come first, then the first write starts a new segment after the last one found.
   */
  static open(dir: string, opts: WALOptions = {}): WAL {
    const size = opts.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE;
    if (size < PAGE_SIZE || size % PAGE_SIZE !== 0) {
      throw new StorageError(
        'ERR_WAL_CONFIG',
        `wal segment size ${size} must be a positive multiple of the page size ${PAGE_SIZE}`,
      );
    }
    mkdirSync(dir, { recursive: true });
    const segs = listSegments(dir);
    return new WAL(dir, opts, segs.length > 0 ? segs[segs.length - 1] + 1 : 0);
  }

  /** First and last segment on disk, or [-1, -1] when there is none. */
  segmentRange(): [number, number] {
    const segs = listSegments(this.dir);
    return segs.length === 0 ? [-1, -1] : [segs[0], segs[segs.length - 1]];
  }

  /** Index of the segment being written, or -1 before the first write. */
  activeSegment(): number {
    return this.fd < 0 ? -1 : this.segIndex;
  }

  /** Index of the segment being written, or of the one the next write will create. */
  writeSegment(): number {
    return this.segIndex;
  }

  /** Appends records; they reach the file at the next {@link commit}. */
  log(...recs: Uint8Array[]): void {
    if (this.closed) throw new StorageError('ERR_WAL_CLOSED', `wal ${this.dir}: log after close`);
    for (let i = 0; i < recs.length; i++) this.logOne(recs[i]);
    if (this.pendingLen >= FLUSH_THRESHOLD) this.flush();
  }

  /**
   * Writes what was logged to the active segment and, in `'commit'` mode, waits until it
   * is on disk. Concurrent commits share one fdatasync.
   */
  async commit(): Promise<void> {
    this.flush();
    if (this.fsyncMode === 'commit' && this.fd >= 0) await this.syncActive();
  }

  /**
   * Closes the active segment (padding its last page) and starts the next one. Returns
   * the index of the new active segment. A checkpoint can then cover every earlier one.
   */
  nextSegment(): number {
    if (this.fd >= 0) this.closeSegment();
    this.openSegment();
    return this.segIndex;
  }

  /** Writes, pads and fsyncs the active segment and closes the WAL. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.fd >= 0) this.closeSegment();
    this.closed = true;
    await this.syncChain;
  }

  /**
   * Deletes segments with index ≤ `to`. The active segment is never deleted: a caller
   * that wants it gone calls {@link nextSegment} first.
   */
  deleteSegmentsThrough(to: number): number {
    let n = 0;
    for (const i of listSegments(this.dir)) {
      if (i > to) break;
      if (this.fd >= 0 && i === this.segIndex) break;
      unlinkSync(segmentPath(this.dir, i));
      n++;
    }
    return n;
  }

  /**
   * Repairs the log after a corruption found by a reader: truncates the damaged segment at
   * the end of the last good record, deletes every later segment, and logs one line
   * saying what was dropped. The next write starts a new segment after the damaged one.
   */
  repair(cerr: WalCorruptionError): RepairResult {
    if (this.fd >= 0) {
      // Never keep writing a segment the repair may delete.
      this.closeSegment();
    }
    const seg = cerr.segment;
    const path = segmentPath(this.dir, seg);
    let size = 0;
    try {
      size = statSync(path).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const truncatedTo = Math.min(cerr.lastGoodEnd, size);
    let droppedBytes = size - truncatedTo;
    let deletedSegments = 0;
    for (const i of listSegments(this.dir)) {
      if (i <= seg) continue;
      const p = segmentPath(this.dir, i);
      droppedBytes += statSync(p).size;
      rmSync(p);
      deletedSegments++;
    }
    if (size > truncatedTo) {
      const fd = openSync(path, 'r+');
      try {
        ftruncateSync(fd, truncatedTo);
        fdatasyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    fsyncDir(this.dir);
    this.segIndex = seg + 1;
    this.logger(
      `wal: repaired corruption in segment ${segmentName(seg)} at offset ${cerr.offset} ` +
        `(${cerr.reason}): dropped ${droppedBytes} bytes ` +
        `(truncated segment ${segmentName(seg)} to ${truncatedTo} bytes, ` +
        `deleted ${deletedSegments} later segment${deletedSegments === 1 ? '' : 's'})`,
    );
    return { segment: seg, truncatedTo, droppedBytes, deletedSegments };
  }

  // --- fragments and pages ---

  private logOne(raw: Uint8Array): void {
    let rec = raw;
    let flag = 0;
    if (this.compression === 'snappy' && raw.length > 0) {
      // As Prometheus: keep the compressed form only when it is smaller.
      const c = compressSync(raw);
      if (c.length < raw.length) {
        rec = c;
        flag = SNAPPY_FLAG;
      }
    }
    if (this.fd < 0) this.openSegment();
    this.padIfPageFull();
    // Free space in this page and in the pages left in the segment: a record never
    // spans two segments, so one that does not fit starts the next segment.
    const pageOff = this.segOffset % PAGE_SIZE;
    const pagesLeft =
      this.segmentSizeBytes / PAGE_SIZE - Math.floor(this.segOffset / PAGE_SIZE) - 1;
    const left =
      PAGE_SIZE - pageOff - FRAGMENT_HEADER_SIZE + (PAGE_SIZE - FRAGMENT_HEADER_SIZE) * pagesLeft;
    if (rec.length > left && this.segOffset > 0) this.nextSegment();

    let off = 0;
    let first = true;
    do {
      const room = PAGE_SIZE - (this.segOffset % PAGE_SIZE) - FRAGMENT_HEADER_SIZE;
      const rest = rec.length - off;
      const l = rest < room ? rest : room;
      const last = l === rest;
      const type = first
        ? last
          ? FragmentType.Full
          : FragmentType.First
        : last
          ? FragmentType.Last
          : FragmentType.Middle;
      this.reserve(FRAGMENT_HEADER_SIZE + l);
      const b = this.pending;
      const o = this.pendingLen;
      const crc = crc32c(rec, off, off + l);
      b[o] = type | flag;
      b[o + 1] = l >>> 8;
      b[o + 2] = l;
      b[o + 3] = crc >>> 24;
      b[o + 4] = crc >>> 16;
      b[o + 5] = crc >>> 8;
      b[o + 6] = crc;
      b.set(rec.subarray(off, off + l), o + FRAGMENT_HEADER_SIZE);
      this.pendingLen = o + FRAGMENT_HEADER_SIZE + l;
      this.segOffset += FRAGMENT_HEADER_SIZE + l;
      off += l;
      first = false;
      this.padIfPageFull();
    } while (off < rec.length);
  }

  /** Pads the page with zeros when no fragment header fits in what is left of it. */
  private padIfPageFull(): void {
    const pageOff = this.segOffset % PAGE_SIZE;
    if (pageOff !== 0 && PAGE_SIZE - pageOff < FRAGMENT_HEADER_SIZE) this.padPage();
  }

  /** Fills the rest of the current page with zeros. */
  private padPage(): void {
    const pageOff = this.segOffset % PAGE_SIZE;
    if (pageOff === 0) return;
    const n = PAGE_SIZE - pageOff;
    this.reserve(n);
    this.pending.fill(0, this.pendingLen, this.pendingLen + n);
    this.pendingLen += n;
    this.segOffset += n;
  }

  private reserve(n: number): void {
    const need = this.pendingLen + n;
    if (need <= this.pending.length) return;
    let cap = this.pending.length * 2;
    while (cap < need) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.pending.copy(nb, 0, 0, this.pendingLen);
    this.pending = nb;
  }

  /** Writes the pending bytes to the active segment (to the OS, not the disk). */
  private flush(): void {
    let done = 0;
    try {
      while (done < this.pendingLen) {
        done += writeSync(this.fd, this.pending, done, this.pendingLen - done);
      }
    } catch (err) {
      // Keep what was not written, so that a later commit retries it in order.
      this.pending.copy(this.pending, 0, done, this.pendingLen);
      this.pendingLen -= done;
      throw new StorageError(
        'ERR_WAL_WRITE',
        `cannot write wal segment ${segmentPath(this.dir, this.segIndex)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    this.pendingLen = 0;
  }

  // --- segments and fsync ---

  private openSegment(): void {
    const path = segmentPath(this.dir, this.segIndex);
    // 'wx': a segment is never appended to after it was closed.
    this.fd = openSync(path, 'wx');
    this.segOffset = 0;
    fsyncDir(this.dir);
  }

  /** Pads, writes and schedules the fsync and close of the active segment. */
  private closeSegment(): void {
    this.padPage();
    this.flush();
    const old = this.fd;
    this.fd = -1;
    this.segIndex++;
    this.segOffset = 0;
    if (this.fsyncMode === 'commit') {
      // Commits waiting on a shared sync may have bytes in this segment: make them
      // durable now, whatever file that shared sync ends up on.
      fdatasyncSync(old);
      this.syncChain = this.syncChain.then(() => closeAsync(old)).catch(() => undefined);
    } else {
      this.syncChain = this.syncChain
        .then(() => fdatasyncAsync(old))
        .then(() => closeAsync(old))
        .catch((err: Error) => this.logger(`wal: cannot fsync closed segment: ${err.message}`));
    }
  }

  /** An fdatasync of the active segment that covers every byte written before this call. */
  private syncActive(): Promise<void> {
    if (this.syncWaiting !== null) return this.syncWaiting;
    const p = this.syncChain.then(() => {
      // From here on, new commits need a sync of their own.
      this.syncWaiting = null;
      return this.fd >= 0 ? fdatasyncAsync(this.fd) : undefined;
    });
    this.syncWaiting = p;
    this.syncChain = p.catch(() => undefined);
    return p;
  }
}

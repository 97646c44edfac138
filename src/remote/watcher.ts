/**
 * The WAL watcher (Prometheus `wlog.Watcher`): tails the database's WAL for one remote
 * endpoint. It reads the newest checkpoint, then the segments after it, live; series
 * records go to {@link WatcherSink.series}, samples records not yet sent (past the saved
 * {@link WalPosition}) to {@link WatcherSink.samples} as columns.
 *
 * Position semantics: `{segment, offset}` says every record of segments below `segment`,
 * and every record of `segment` that ends at or before `offset`, has been sent.
 * @module
 */

import { existsSync, statSync } from 'node:fs';
import {
  RecordType,
  SampleBatch,
  decodeSamples,
  decodeSeries,
  recordType,
  type RefSeries,
} from '../tsdb/record.js';
import { WalReader, lastCheckpoint, listSegments, segmentPath } from '../tsdb/wal/index.js';

/** A read position in the WAL (see the module comment). */
export interface WalPosition {
  segment: number;
  offset: number;
}

/** A round in flight when a position was saved: where it ends, and what is acknowledged. */
export interface SavedRound extends WalPosition {
  /** Samples in the round (a rebuilt round that differs is sent whole). */
  samples: number;
  /** Samples per request (`max_samples_per_send` when it was read). */
  perRequest: number;
  /** Samples of each shard's part of the round acknowledged (from its start). */
  done: number[];
}

/**
 * A saved position, plus the rounds in flight after it: they were split over `shards`
 * shards, round `k` holds the records up to `rounds[k]` (each round starts where the
 * previous one ends, the first at the position), and shard `s` of it had its first
 * `rounds[k].done[s]` samples acknowledged, in requests of `rounds[k].perRequest`. A restart
 * rebuilds the same rounds (same records, same split, same request boundaries) and skips
 * those, so a receiver never
 * sees an old sample mixed into a request with new ones.
 */
export interface SavedPosition extends WalPosition {
  shards?: number;
  rounds?: SavedRound[];
}

/** -1, 0 or 1 as position `a` is before, at or after `b`. */
export function comparePositions(a: WalPosition, b: WalPosition): number {
  if (a.segment !== b.segment) return a.segment < b.segment ? -1 : 1;
  return a.offset === b.offset ? 0 : a.offset < b.offset ? -1 : 1;
}

/** Receives what the watcher reads. */
export interface WatcherSink {
  /** A series record entry: the head's ref and its labels. */
  series(s: RefSeries): void;
  /** Samples of one record, to be sent; the batch is reused after the call. */
  samples(batch: SampleBatch): void;
  /**
   * Whether the samples of the next record may be handed over now. When false, the
   * watcher holds the record back (its position not passed) and offers it again on the
   * next {@link WalWatcher.read}; see {@link WalWatcher.heldBack}. Absent: always.
   * Records of a checkpoint are never held back.
   */
  fits?(batch: SampleBatch): boolean;
}

/** Tails one WAL folder; pull-driven through {@link read}. */
export class WalWatcher {
  readonly walDir: string;
  private readonly sink: WatcherSink;
  /** Already sent: samples at or before it are skipped. Null: send everything on disk. */
  private sentUpTo: WalPosition | null;
  private reader: WalReader | null;
  private readonly batch: SampleBatch;
  private readonly series: RefSeries[];
  /** Position after the last record read. */
  private pos: WalPosition;
  /** Corruption met while reading; the watcher stops there until restarted. */
  private error: Error | null;
  private lastGapCheck = 0;
  /** The end of a samples record decoded into {@link batch} but held back, or null. */
  private held: WalPosition | null = null;
  /** WAL bytes passed over so far (segments' records; for the backlog estimate). */
  bytesRead = 0;

  constructor(walDir: string, sentUpTo: WalPosition | null, sink: WatcherSink) {
    this.walDir = walDir;
    this.sink = sink;
    this.sentUpTo = sentUpTo;
    this.reader = null;
    this.batch = new SampleBatch(4096);
    this.series = [];
    this.pos = sentUpTo ?? { segment: 0, offset: 0 };
    this.error = null;
  }

  /** Position just after the last record read (copy). */
  position(): WalPosition {
    return { segment: this.pos.segment, offset: this.pos.offset };
  }

  /** True when the last read stopped at a record the sink said does not fit yet. */
  heldBack(): boolean {
    return this.held !== null;
  }

  /** The error that stopped reading, if any. */
  err(): Error | null {
    return this.error;
  }

  /**
   * Reads records until at least `maxSamples` samples were handed to the sink, the
   * position reached `until` (when given), or nothing more is there for now. Returns the
   * number of samples handed over.
   */
  read(maxSamples: number, until: WalPosition | null = null): number {
    if (this.error !== null) return 0;
    if (this.reader === null) this.open();
    const r = this.reader as WalReader;
    let handed = 0;
    while (handed < maxSamples) {
      if (until !== null && comparePositions(this.pos, until) >= 0) return handed;
      if (this.held !== null) {
        if (this.sink.fits?.(this.batch) === false) return handed;
        handed += this.handOver(this.held);
        continue;
      }
      if (!r.next()) {
        const e = r.err();
        if (e !== null) {
          this.error = e;
          return handed;
        }
        // A gap (segments deleted past us, e.g. beyond the max age): start over from the
        // newest checkpoint; samples already sent are skipped by position.
        if (this.gapCheckDue() && this.skippedAhead(r.segment())) {
          r.close();
          this.sentUpTo = this.position();
          this.open();
          return handed + this.read(maxSamples - handed, until);
        }
        return handed;
      }
      handed += this.handle(r.record(), r.segment(), r.offset(), true);
    }
    return handed;
  }

  /**
   * WAL bytes not read yet: the rest of the current segment and every later one (one
   * folder listing and a stat per segment: call it seldom, e.g. when rescaling shards).
   */
  pendingBytes(): number {
    let n = 0;
    for (const seg of listSegments(this.walDir)) {
      if (seg < this.pos.segment) continue;
      try {
        const size = statSync(segmentPath(this.walDir, seg)).size;
        n += seg === this.pos.segment ? Math.max(0, size - this.pos.offset) : size;
      } catch {
        // removed meanwhile
      }
    }
    return n;
  }

  /** Stops reading and releases the open segment. */
  close(): void {
    this.reader?.close();
    this.reader = null;
  }

  private open(): void {
    const cp = lastCheckpoint(this.walDir);
    let first = 0;
    if (cp !== null) {
      first = cp.index + 1;
      // Samples of the checkpoint are sent only when not sent before (a fresh endpoint or
      // one whose position fell behind the checkpoint).
      const sendSamples = this.sentUpTo === null || this.sentUpTo.segment <= cp.index;
      const cr = new WalReader(cp.dir);
      try {
        while (cr.next()) this.handle(cr.record(), -1, 0, sendSamples);
        if (cr.err() !== null) this.error = cr.err();
      } finally {
        cr.close();
      }
      if (this.pos.segment < first) this.pos = { segment: first, offset: 0 };
    }
    this.reader = new WalReader(this.walDir, { live: true, first });
  }

  /** At most one folder listing per second while idle. */
  private gapCheckDue(): boolean {
    const now = performance.now();
    if (now - this.lastGapCheck < 1000) return false;
    this.lastGapCheck = now;
    return true;
  }

  /** True when the segment after `seg` is gone but later ones exist. */
  private skippedAhead(seg: number): boolean {
    if (seg >= 0 && existsSync(segmentPath(this.walDir, seg + 1))) return false;
    const segs = listSegments(this.walDir);
    return segs.length > 0 && segs[segs.length - 1] > seg + 1 && seg >= 0;
  }

  /** Moves the position past the record ending at `seg`/`end` (not for a checkpoint). */
  private passed(seg: number, end: number): void {
    this.bytesRead += seg === this.pos.segment ? end - this.pos.offset : end;
    this.pos = { segment: seg, offset: end };
  }

  /** Hands the samples in {@link batch}, of the record ending at `at`, to the sink. */
  private handOver(at: WalPosition): number {
    this.held = null;
    this.passed(at.segment, at.offset);
    this.sink.samples(this.batch);
    return this.batch.length;
  }

  /**
   * Handles one record ending at `seg`/`end` (`seg` -1: of the checkpoint). Samples are
   * decoded into {@link batch}; a segment's samples the sink has no room for are held
   * back, the position left before them.
   */
  private handle(rec: Uint8Array, seg: number, end: number, mayShip: boolean): number {
    const type = recordType(rec);
    const isSamples = type === RecordType.Samples && mayShip;
    if (seg >= 0 && !isSamples) this.passed(seg, end);
    if (type === RecordType.Series) {
      this.series.length = 0;
      decodeSeries(rec, this.series);
      for (let i = 0; i < this.series.length; i++) this.sink.series(this.series[i]);
      return 0;
    }
    if (!isSamples) return 0;
    const s = this.sentUpTo;
    if (seg >= 0 && s !== null && (seg < s.segment || (seg === s.segment && end <= s.offset))) {
      this.passed(seg, end);
      return 0;
    }
    this.batch.reset();
    decodeSamples(rec, this.batch);
    if (seg < 0) {
      this.sink.samples(this.batch);
      return this.batch.length;
    }
    const at = { segment: seg, offset: end };
    if (this.sink.fits?.(this.batch) === false) {
      this.held = at;
      return 0;
    }
    return this.handOver(at);
  }
}

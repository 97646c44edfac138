/**
 * Deletions in the head, as Prometheus's head tombstones: `deleteSeries` records deleted
 * intervals per head series ref (and logs them to the WAL); queriers over the head skip
 * those samples, and head compaction leaves them out of the block it writes. Once the
 * data is in a block the intervals no longer matter (the head has dropped it).
 * @module
 */

import type { Matcher } from '../model/matcher.js';
import {
  ValueType,
  type Querier,
  type SampleIterator,
  type SelectHints,
  type Series,
  type SeriesSet,
} from '../storage/interface.js';
import { XORChunk } from './chunkenc/index.js';
import { encodeXORChunks } from './block-writer.js';
import type { HeadChunk, HeadSource } from './compact.js';
import type { Head, HeadCompactionSeries } from './head.js';
import { isDeleted, type Tombstones } from './tombstones.js';

/** Samples of `inner` outside the deleted `intervals`. */
class DeletedSkippingIterator implements SampleIterator {
  private readonly inner: SampleIterator;
  private readonly intervals: readonly number[];

  constructor(inner: SampleIterator, intervals: readonly number[]) {
    this.inner = inner;
    this.intervals = intervals;
  }

  next(): ValueType {
    for (;;) {
      const vt = this.inner.next();
      if (vt === ValueType.None || !isDeleted(this.intervals, this.inner.atT())) return vt;
    }
  }

  seek(t: number): ValueType {
    const vt = this.inner.seek(t);
    if (vt === ValueType.None || !isDeleted(this.intervals, this.inner.atT())) return vt;
    return this.next();
  }

  atT(): number {
    return this.inner.atT();
  }

  atV(): number {
    return this.inner.atV();
  }

  err(): Error | null {
    return this.inner.err();
  }
}

class DeletedSkippingSeries implements Series {
  readonly labels;
  private readonly inner: Series;
  private readonly intervals: readonly number[];

  constructor(inner: Series, intervals: readonly number[]) {
    this.labels = inner.labels;
    this.inner = inner;
    this.intervals = intervals;
  }

  iterator(): SampleIterator {
    return new DeletedSkippingIterator(this.inner.iterator(), this.intervals);
  }
}

/** A series set that hides deleted samples, and series left with none. */
class DeletedSkippingSeriesSet implements SeriesSet {
  private readonly inner: SeriesSet;
  private readonly head: Head;
  private readonly stones: Tombstones;
  private cur: Series | null = null;

  constructor(inner: SeriesSet, head: Head, stones: Tombstones) {
    this.inner = inner;
    this.head = head;
    this.stones = stones;
  }

  next(): boolean {
    while (this.inner.next()) {
      const s = this.inner.at();
      const ref = this.head.seriesByLabels(s.labels)?.ref;
      const iv = ref === undefined ? undefined : this.stones.get(ref);
      if (iv === undefined) {
        this.cur = s;
        return true;
      }
      const wrapped = new DeletedSkippingSeries(s, iv);
      // A series whose samples in range are all deleted is left out, as for blocks.
      if (wrapped.iterator().next() === ValueType.None) continue;
      this.cur = wrapped;
      return true;
    }
    return false;
  }

  at(): Series {
    return this.cur!;
  }

  err(): Error | null {
    return this.inner.err();
  }

  warnings(): readonly string[] {
    return this.inner.warnings();
  }
}

/** A head querier that honours the head's tombstones. */
export class HeadDeletionQuerier implements Querier {
  private readonly inner: Querier;
  private readonly head: Head;
  private readonly stones: Tombstones;

  constructor(inner: Querier, head: Head, stones: Tombstones) {
    this.inner = inner;
    this.head = head;
    this.stones = stones;
  }

  select(sorted: boolean, hints: SelectHints | null, matchers: readonly Matcher[]): SeriesSet {
    const set = this.inner.select(sorted, hints, matchers);
    return this.stones.size === 0 ? set : new DeletedSkippingSeriesSet(set, this.head, this.stones);
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    return this.inner.labelValues(name, matchers);
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    return this.inner.labelNames(matchers);
  }

  close(): void {
    this.inner.close();
  }
}

/** Re-encodes chunks without the deleted samples (chunks of up to 120 samples). */
function withoutDeleted(chunks: readonly HeadChunk[], intervals: readonly number[]): HeadChunk[] {
  const ts: number[] = [];
  const vs = new Float64Array(chunks.reduce((n, c) => n + new XORChunk(c.bytes).numSamples(), 0));
  let n = 0;
  for (const c of chunks) {
    const it = new XORChunk(c.bytes).iterator();
    while (it.next() !== ValueType.None) {
      const t = it.atT();
      if (isDeleted(intervals, t)) continue;
      ts.push(t);
      vs[n++] = it.atV();
    }
  }
  return encodeXORChunks(ts, vs, n).map((c) => ({ mint: c.mint, maxt: c.maxt, bytes: c.data }));
}

/** The head as compaction sees it, with the deleted samples left out. */
export function headWithoutDeleted(head: Head, stones: Tombstones): HeadSource {
  return {
    compactionSeries(mint: number, maxt: number): HeadCompactionSeries[] {
      const all = head.compactionSeries(mint, maxt);
      if (stones.size === 0) return all;
      const out: HeadCompactionSeries[] = [];
      for (const s of all) {
        const iv = stones.get(s.ref);
        if (iv === undefined) {
          out.push(s);
          continue;
        }
        const chunks = withoutDeleted(s.chunks, iv);
        if (chunks.length > 0) out.push({ ref: s.ref, labels: s.labels, chunks });
      }
      return out;
    },
  };
}

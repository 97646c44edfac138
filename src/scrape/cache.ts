/**
 * The scrape cache (Prometheus `scrapeCache`): maps the raw text of a series line,
 * `name{labels}` exactly as the target wrote it, to the series it becomes after target
 * labels and metric relabeling, with the storage ref. A warm scrape does one `Map.get` per
 * line and no label work. It also tracks which series the last scrapes had, for staleness.
 *
 * Two raw texts can give one label set (`a{x="1"}` and `a{x="1",}`, or a label renamed by
 * relabeling); both keys then share one {@link CachedSeries}, so duplicate detection and
 * staleness work per series, not per line.
 * @module
 */

import type { Labels } from '../model/labels.js';
import type { SeriesRef } from '../storage/interface.js';

/** One series a target exposes, as stored. */
export class CachedSeries {
  /** Labels after target labels and metric relabeling. */
  readonly labels: Labels;
  /** Storage ref; 0 until an append returned one. */
  ref: SeriesRef;
  /** Iteration (scrape number) in which the series was last seen. */
  lastIter: number;
  /** Timestamp of its sample in that iteration, to spot a line repeated in one scrape. */
  lastT: number;

  constructor(labels: Labels) {
    this.labels = labels;
    this.ref = 0;
    this.lastIter = 0;
    this.lastT = 0;
  }
}

/** A raw series text; `series` is null when metric relabeling dropped it. */
export class CacheEntry {
  readonly series: CachedSeries | null;
  lastIter: number;

  constructor(series: CachedSeries | null) {
    this.series = series;
    this.lastIter = 0;
  }
}

/** The cache of one scrape loop; see the module comment. */
export class ScrapeCache {
  /** Raw series text (latin1 string of the bytes) to entry. */
  readonly entries = new Map<string, CacheEntry>();
  /** Label set key to series, so aliases share one series. */
  private readonly byLabels = new Map<string, CachedSeries>();
  /** Current iteration; bumped by {@link beginIteration}. */
  iter = 0;
  /** Keys and series seen in the current iteration. */
  seenEntries = 0;
  seenSeries = 0;
  /** Tracked (no explicit timestamp) series of the current and the previous successful scrape. */
  private cur: CachedSeries[] = [];
  private prev: CachedSeries[] = [];

  /** Starts a scrape; returns its iteration number. */
  beginIteration(): number {
    this.seenEntries = 0;
    this.seenSeries = 0;
    this.cur.length = 0;
    return ++this.iter;
  }

  /** The series for `labels`, shared with other raw texts of the same set. */
  seriesFor(labels: Labels): CachedSeries {
    const k = labels.key();
    let s = this.byLabels.get(k);
    if (s === undefined) {
      s = new CachedSeries(labels);
      this.byLabels.set(k, s);
    }
    return s;
  }

  /** Records that `s` (without an explicit timestamp) was in this scrape: staleness tracks it. */
  track(s: CachedSeries): void {
    this.cur.push(s);
  }

  /**
   * Series of the previous successful scrape that the current one did not have: each
   * needs a stale marker. Valid until {@link endIteration}.
   */
  disappeared(out: CachedSeries[]): CachedSeries[] {
    out.length = 0;
    const iter = this.iter;
    const prev = this.prev;
    for (let i = 0; i < prev.length; i++) if (prev[i].lastIter !== iter) out.push(prev[i]);
    return out;
  }

  /**
   * Ends a scrape that was committed: the current series become the previous ones. With
   * `flush` (a successful, non-empty scrape) entries not seen in it are evicted, as
   * Prometheus flushes its cache; the empty scrape written after a failure keeps them, so
   * an outage does not cost the cache. The sweep runs only when something went unseen,
   * so a steady scrape costs nothing here. A scrape that was rolled back is not ended.
   */
  endIteration(flush: boolean): void {
    const t = this.prev;
    this.prev = this.cur;
    this.cur = t;
    this.cur.length = 0;
    if (!flush) return;
    const iter = this.iter;
    if (this.entries.size > this.seenEntries) {
      for (const [k, e] of this.entries) if (e.lastIter !== iter) this.entries.delete(k);
    }
    if (this.byLabels.size > this.seenSeries) {
      for (const [k, s] of this.byLabels) if (s.lastIter !== iter) this.byLabels.delete(k);
    }
  }

  /** Every series of the previous successful scrape (for end-of-run staleness). */
  previous(): readonly CachedSeries[] {
    return this.prev;
  }

  /** Number of distinct series cached. */
  get seriesCount(): number {
    return this.byLabels.size;
  }
}

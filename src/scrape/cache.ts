/**
 * The scrape cache (Prometheus `scrapeCache`): maps the raw text of a series line,
 * `name{labels}` exactly as the target wrote it, to the series it becomes after target
 * labels and metric relabeling, with the storage ref. A warm scrape does one `Map.get` per
 * line and no label work. It also tracks which series the last scrapes had, for staleness.
 *
 * One label set per series: the storage keeps it, the cache keeps the ref. A series holds
 * its labels only while pending, until an append returned its ref; after that appends go
 * by ref alone (`Labels.EMPTY`), and the rare caller that finds the ref gone (the storage
 * dropped the series) rebuilds the labels from the line.
 *
 * Two raw texts can give one label set (`a{x="1"}` and `a{x="1",}`, or a label renamed by
 * relabeling); both keys then share one {@link CachedSeries}, so duplicate detection and
 * staleness work per series, not per line. While both are pending they are matched by
 * labels; a pending series whose labels hash like a resolved one is matched when its
 * first append returns the same ref ({@link ScrapeCache.resolve}), the storage being the
 * judge of label equality.
 * @module
 */

import { hashLabelSet, type Labels } from '../model/labels.js';
import type { SeriesRef } from '../storage/interface.js';
import { MetadataStore } from './metadata.js';

/** One series a target exposes, as stored. */
export class CachedSeries {
  /**
   * Labels after target labels and metric relabeling while the series is pending (no ref
   * yet); null once the storage gave a ref and holds the labels itself.
   */
  labels: Labels | null;
  /** Storage ref; 0 until an append returned one. */
  ref: SeriesRef;
  /** Iteration (scrape number) in which the series was last seen. */
  lastIter: number;
  /** Timestamp of its sample in that iteration, to spot a line repeated in one scrape. */
  lastT: number;
  /** Hash of the labels (FNV-1a over names and values). */
  readonly hash: number;
  /** The series this one turned out to be (same ref), or null; entries follow it. */
  mergedInto: CachedSeries | null;

  constructor(labels: Labels, hash: number) {
    this.labels = labels;
    this.hash = hash;
    this.ref = 0;
    this.lastIter = 0;
    this.lastT = 0;
    this.mergedInto = null;
  }
}

/** A raw series text; `series` is null when metric relabeling dropped it. */
export class CacheEntry {
  /** Re-pointed when its series is merged into another ({@link CachedSeries.mergedInto}). */
  series: CachedSeries | null;
  lastIter: number;
  /** The raw text (the map key), or '' once evicted. */
  key: string;
  /** The entry that followed this one in the last scrape: the guess for the next line. */
  next: CacheEntry | null;

  constructor(series: CachedSeries | null, key = '') {
    this.series = series;
    this.lastIter = 0;
    this.key = key;
    this.next = null;
  }
}

/** The cache of one scrape loop; see the module comment. */
export class ScrapeCache {
  /** Raw series text (latin1 string of the bytes) to entry. */
  readonly entries = new Map<string, CacheEntry>();
  /** TYPE, HELP and UNIT per metric family, as the target wrote them. */
  readonly metadata = new MetadataStore();
  /**
   * Series by label hash (a bucket array on collisions), so aliases share one series.
   * Hashing the labels directly avoids keeping a canonical key string per series.
   */
  private readonly byHash = new Map<number, CachedSeries | CachedSeries[]>();
  private nSeries = 0;
  /** The first entry looked up in the last scrape, and the last one looked up in this one. */
  private first: CacheEntry | null = null;
  private cursor: CacheEntry | null = null;
  /** Current iteration; bumped by {@link beginIteration}. */
  iter = 0;
  /** Keys and series seen in the current iteration. */
  seenEntries = 0;
  seenSeries = 0;
  /**
   * Tracked (no explicit timestamp) series of the current and the previous successful
   * scrape, the first `curN` / `prevN` slots of each. The arrays keep their capacity from
   * one scrape to the next (setting a length of 0 would free it and regrow it every time).
   */
  private cur: (CachedSeries | null)[] = [];
  private prev: (CachedSeries | null)[] = [];
  private curN = 0;
  private prevN = 0;

  /** Starts a scrape; returns its iteration number. */
  beginIteration(): number {
    this.seenEntries = 0;
    this.seenSeries = 0;
    this.curN = 0;
    this.cursor = null;
    return ++this.iter;
  }

  /**
   * The entry for a raw series text (the parser's known-keys lookup). A target writes its
   * series in the same order every time, so the entry that followed the previous line's in
   * the last scrape is tried first: comparing against its key is a length check and a
   * memcmp, where a map lookup first hashes the whole text (~400 bytes for Linkerd lines).
   */
  get(key: string): CacheEntry | undefined {
    const c = this.cursor;
    const guess = c === null ? this.first : c.next;
    if (guess !== null && guess.key === key) {
      this.cursor = guess;
      return guess;
    }
    const e = this.entries.get(key);
    if (e !== undefined) {
      if (c === null) this.first = e;
      else c.next = e;
      this.cursor = e;
    }
    return e;
  }

  /** Adds the entry for a new raw series text. */
  add(e: CacheEntry): void {
    this.entries.set(e.key, e);
  }

  /**
   * The series for `labels` (a cache miss): a pending series with equal labels, or a new
   * pending one. Resolved series hold no labels, so they are matched later, by ref.
   */
  seriesFor(labels: Labels): CachedSeries {
    const h = hashLabelSet(labels); // on a cache miss only
    const e = this.byHash.get(h);
    if (e !== undefined) {
      if (!Array.isArray(e)) {
        if (e.labels !== null && e.labels.equals(labels)) return e;
      } else {
        for (const x of e) if (x.labels !== null && x.labels.equals(labels)) return x;
      }
    }
    const s = new CachedSeries(labels, h);
    if (e === undefined) this.byHash.set(h, s);
    else if (!Array.isArray(e)) this.byHash.set(h, [e, s]);
    else e.push(s);
    this.nSeries++;
    return s;
  }

  /**
   * Records the ref the storage returned for pending series `s`, and drops its labels
   * (the storage holds them). When another series already has that ref, the two are one
   * series: `s` is merged into it and that one is returned. A ref of 0 leaves `s` pending.
   */
  resolve(s: CachedSeries, ref: SeriesRef): CachedSeries {
    if (ref === 0) return s; // a storage without refs: stay pending, keep the labels
    const e = this.byHash.get(s.hash);
    if (Array.isArray(e)) {
      for (const x of e) {
        if (x !== s && x.ref === ref && x.mergedInto === null) {
          s.mergedInto = x;
          s.labels = null;
          s.ref = ref;
          this.dropSeries(s);
          return x;
        }
      }
    }
    s.ref = ref;
    s.labels = null;
    return s;
  }

  private dropSeries(s: CachedSeries): void {
    const e = this.byHash.get(s.hash);
    if (e === undefined) return;
    if (!Array.isArray(e)) {
      if (e === s) this.byHash.delete(s.hash);
    } else {
      const i = e.indexOf(s);
      if (i < 0) return;
      e.splice(i, 1);
      if (e.length === 1) this.byHash.set(s.hash, e[0]);
    }
    this.nSeries--;
  }

  /** Records that `s` (without an explicit timestamp) was in this scrape: staleness tracks it. */
  track(s: CachedSeries): void {
    this.cur[this.curN++] = s;
  }

  /**
   * Series of the previous successful scrape that the current one did not have: each
   * needs a stale marker. Valid until {@link endIteration}.
   */
  disappeared(out: CachedSeries[]): CachedSeries[] {
    out.length = 0;
    const iter = this.iter;
    const prev = this.prev;
    for (let i = 0; i < this.prevN; i++) {
      const s = prev[i]!;
      if (s.lastIter !== iter && s.mergedInto === null) out.push(s);
    }
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
    const done = this.cur;
    const n = this.curN;
    // Let go of series an older scrape left past the end (slots past a fill are null).
    for (let i = n; i < done.length && done[i] !== null; i++) done[i] = null;
    this.cur = this.prev;
    this.curN = 0;
    this.prev = done;
    this.prevN = n;
    if (!flush) return;
    const iter = this.iter;
    this.metadata.evict(iter);
    if (this.entries.size > this.seenEntries) {
      for (const [k, e] of this.entries) {
        if (e.lastIter === iter) continue;
        this.entries.delete(k);
        e.key = ''; // never matches a guess again
        e.next = null;
      }
      if (this.first !== null && this.first.key === '') this.first = null;
    }
    if (this.nSeries > this.seenSeries) {
      const gone: CachedSeries[] = [];
      for (const e of this.byHash.values()) {
        if (!Array.isArray(e)) {
          if (e.lastIter !== iter) gone.push(e);
        } else for (const x of e) if (x.lastIter !== iter) gone.push(x);
      }
      for (const x of gone) this.dropSeries(x);
    }
  }

  /** Every series of the previous successful scrape (for end-of-run staleness). */
  previous(): readonly CachedSeries[] {
    return this.prev.slice(0, this.prevN) as CachedSeries[];
  }

  /** Number of distinct series cached. */
  get seriesCount(): number {
    return this.nSeries;
  }
}

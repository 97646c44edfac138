/**
 * The scrape cache (Prometheus `scrapeCache`): maps the raw bytes of a series key,
 * `name{labels}` exactly as the target wrote it, to the series it becomes after target
 * labels and metric relabeling, with the storage ref. It also tracks which series the last
 * scrapes had, for staleness.
 *
 * No key is kept as a string. The parser keeps a copy of the last committed body and
 * tells, for a line that repeats the remembered line at its place, that line's index
 * ({@link ScrapeCache.getRemembered}): the cache keeps the entry of every line of that body
 * by index, so a repeat scrape finds each entry with an array read. Other lines are looked
 * up by a hash of their bytes, and every candidate is compared byte for byte with the key
 * it was made for (which lies in the current body or in the remembered copy, see
 * {@link CacheEntry.keyAt}), so two series are never mixed up whatever the hash does.
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

/** A raw series key; `series` is null when metric relabeling dropped it. */
export class CacheEntry {
  /** Re-pointed when its series is merged into another ({@link CachedSeries.mergedInto}). */
  series: CachedSeries | null;
  lastIter: number;
  /**
   * Where the key's bytes are: [keyAt, keyAt + keyLen) of the body being read when
   * `keyIter` is the cache's current iteration (an entry made in this scrape), else of the
   * remembered body (every entry was in the last committed scrape: the others are evicted).
   * -1 once evicted.
   */
  keyAt: number;
  readonly keyLen: number;
  keyIter: number;
  /** The hash the entry is filed under. */
  readonly hash: number;

  constructor(
    series: CachedSeries | null,
    keyAt: number,
    keyLen: number,
    iter: number,
    hash: number,
  ) {
    this.series = series;
    this.lastIter = 0;
    this.keyAt = keyAt;
    this.keyLen = keyLen;
    this.keyIter = iter;
    this.hash = hash;
  }
}

/** A hash of the key bytes [s, e) of `view`; a cache can take another to force collisions. */
export type KeyHash = (view: DataView, s: number, e: number) => number;

/** 30 bits of hash over every byte of the key, four at a time (a small integer for the Map). */
export const hashKeyBytes: KeyHash = (view, s, e) => {
  let h = 0x811c9dc5 ^ (e - s);
  let i = s;
  for (; i + 4 <= e; i += 4) {
    h = Math.imul(h ^ view.getInt32(i, true), 0x5bd1e995);
    h ^= h >>> 15;
  }
  for (; i < e; i++) h = Math.imul(h ^ view.getUint8(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return (h ^ (h >>> 13)) & 0x3fffffff;
};

const EMPTY = Buffer.alloc(0);
const viewOf = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.length);

/** The cache of one scrape loop; see the module comment. */
export class ScrapeCache {
  /** Entries by key hash (a bucket array on collisions). */
  private readonly entries = new Map<number, CacheEntry | CacheEntry[]>();
  private nEntries = 0;
  private readonly hash: KeyHash;
  /** The body being read and the remembered (last committed) body, with views. */
  private body: Buffer = EMPTY;
  private bodyView: DataView = viewOf(EMPTY);
  private kept: Buffer = EMPTY;
  /** The entry of each series line of the remembered body, by line. */
  private lines: CacheEntry[] = [];
  private nLines = 0;
  /** The entry and key offset of each series line of the body being read. */
  private curLines: CacheEntry[] = [];
  private curKeyAt = new Int32Array(64);
  private nCurLines = 0;
  /** Entries made in the current iteration, dropped if it is never ended (a failed scrape). */
  private readonly fresh: CacheEntry[] = [];
  private open = false;
  /** TYPE, HELP and UNIT per metric family, as the target wrote them. */
  readonly metadata = new MetadataStore();
  /**
   * Series by label hash (a bucket array on collisions), so aliases share one series.
   * Hashing the labels directly avoids keeping a canonical key string per series.
   */
  private readonly byHash = new Map<number, CachedSeries | CachedSeries[]>();
  private nSeries = 0;
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

  /** `hash` replaces the key hash (tests force collisions with it). */
  constructor(hash: KeyHash = hashKeyBytes) {
    this.hash = hash;
  }

  /**
   * Starts a scrape of `body` (empty for a failed scrape or the end of a run); returns its
   * iteration number. Entries made by an iteration that was never ended are dropped.
   */
  beginIteration(body: Buffer = EMPTY): number {
    if (this.open) this.dropFresh();
    this.open = true;
    this.body = body;
    this.bodyView = viewOf(body);
    this.seenEntries = 0;
    this.seenSeries = 0;
    this.curN = 0;
    this.nCurLines = 0;
    return ++this.iter;
  }

  /**
   * The entry for the series key buf[start, end) of the body being read, or undefined (the
   * parser's known-keys lookup, and the scrape loop's).
   */
  getRange(buf: Buffer, start: number, end: number): CacheEntry | undefined {
    const view = buf === this.body ? this.bodyView : viewOf(buf);
    const x = this.entries.get(this.hash(view, start, end));
    if (x === undefined) return undefined;
    const n = end - start;
    if (!Array.isArray(x)) return this.keyEquals(x, buf, start, n) ? x : undefined;
    for (const e of x) if (this.keyEquals(e, buf, start, n)) return e;
    return undefined;
  }

  /** The entry of series line `line` of the remembered body (the parser matched it). */
  getRemembered(line: number): CacheEntry | undefined {
    return line < this.nLines ? this.lines[line] : undefined;
  }

  private keyEquals(e: CacheEntry, buf: Buffer, start: number, n: number): boolean {
    if (e.keyLen !== n) return false;
    const src = e.keyIter === this.iter ? this.body : this.kept;
    return buf.compare(src, e.keyAt, e.keyAt + n, start, start + n) === 0;
  }

  /**
   * Adds the entry for the new series key body[start, end) of the body being read (no
   * entry has it: {@link getRange} said so).
   */
  add(series: CachedSeries | null, start: number, end: number): CacheEntry {
    const h = this.hash(this.bodyView, start, end);
    const e = new CacheEntry(series, start, end - start, this.iter, h);
    const x = this.entries.get(h);
    if (x === undefined) this.entries.set(h, e);
    else if (!Array.isArray(x)) this.entries.set(h, [x, e]);
    else x.push(e);
    this.nEntries++;
    this.fresh.push(e);
    return e;
  }

  /** Records that the next series line of the body, its key at `keyAt`, is entry `e`. */
  noteLine(e: CacheEntry, keyAt: number): void {
    const n = this.nCurLines;
    if (n === this.curKeyAt.length) {
      const a = new Int32Array(n * 2);
      a.set(this.curKeyAt);
      this.curKeyAt = a;
    }
    this.curLines[n] = e;
    this.curKeyAt[n] = keyAt;
    this.nCurLines = n + 1;
  }

  private removeEntry(e: CacheEntry): void {
    const x = this.entries.get(e.hash);
    if (x === e) this.entries.delete(e.hash);
    else if (Array.isArray(x)) {
      const i = x.indexOf(e);
      if (i < 0) return;
      x.splice(i, 1);
      if (x.length === 1) this.entries.set(e.hash, x[0]);
    } else return;
    e.keyAt = -1;
    this.nEntries--;
  }

  private dropFresh(): void {
    for (const e of this.fresh) this.removeEntry(e);
    this.fresh.length = 0;
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
   *
   * `kept` is the parser's copy of the body just read (with `flush`, the parser must have
   * remembered this body: its series lines are the ones noted): the keys of the entries
   * now lie there, at the offsets they had in the body.
   */
  endIteration(flush: boolean, kept: Buffer = EMPTY): void {
    this.open = false;
    this.fresh.length = 0;
    if (flush) {
      const iter = this.iter;
      const cur = this.curLines;
      const at = this.curKeyAt;
      const n = this.nCurLines;
      for (let i = 0; i < n; i++) {
        const e = cur[i];
        e.keyAt = at[i];
        e.keyIter = iter;
      }
      // Let go of entries an older, longer body left past the end.
      const old = this.lines;
      old.length = Math.min(old.length, n);
      this.lines = cur;
      this.nLines = n;
      this.curLines = old;
      this.nCurLines = 0;
      this.kept = kept;
    }
    this.body = EMPTY;
    this.bodyView = viewOf(EMPTY);
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
    if (this.nEntries > this.seenEntries) {
      const gone: CacheEntry[] = [];
      for (const x of this.entries.values()) {
        if (!Array.isArray(x)) {
          if (x.lastIter !== iter) gone.push(x);
        } else for (const e of x) if (e.lastIter !== iter) gone.push(e);
      }
      for (const e of gone) this.removeEntry(e);
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

  /** Number of distinct series keys cached. */
  get size(): number {
    return this.nEntries;
  }

  /** Number of distinct series cached. */
  get seriesCount(): number {
    return this.nSeries;
  }
}

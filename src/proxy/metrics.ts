/**
 * The proxy's metric recording: counters, gauges and the latency histogram, each a Map
 * from a precomputed label-set key to a series whose `name{labels}` text was encoded once
 * at creation. Recording is one `Map.get` and an add; rendering /metrics is a walk that
 * copies those bytes and formats the values. Series not updated for `retainIdleMs` are
 * evicted, as Linkerd's legacy families are (so counters restart at 0 after idling).
 * @module
 */

import { ExpositionWriter, type FamilyType } from '../exposition/index.js';

/** Milliseconds since the epoch; injectable so eviction can be tested. */
export type Clock = () => number;

/**
 * Upper bounds of `response_latency_ms`, in ms (linkerd/metrics/src/latency.rs): 25 finite
 * bounds, then +Inf.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500, 1000, 2000, 3000, 4000, 5000, 10000,
  20000, 30000, 40000, 50000,
]);

/** A flat `[name0, value0, name1, value1, …]` label list, in exposition order. */
export type LabelPairs = readonly string[];

/** One scalar series (a counter or gauge). */
export class ScalarSeries {
  readonly encoded: Buffer;
  value: number;
  touchedMs: number;
  /** Set when the family dropped this series; holders of a reference must look it up again. */
  evicted: boolean;
  constructor(encoded: Buffer, nowMs: number) {
    this.encoded = encoded;
    this.value = 0;
    this.touchedMs = nowMs;
    this.evicted = false;
  }
}

/** One histogram series: per-bucket counts (not cumulative), sum and count. */
export class HistogramSeries {
  /** `name_bucket{labels,le="…"}` for each bound and +Inf. */
  readonly encodedBuckets: Buffer[];
  readonly encodedSum: Buffer;
  readonly encodedCount: Buffer;
  /** counts[i] = observations with bounds[i-1] < v <= bounds[i]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
  touchedMs: number;
  /** Set when the family dropped this series; holders of a reference must look it up again. */
  evicted: boolean;
  constructor(encodedBuckets: Buffer[], encodedSum: Buffer, encodedCount: Buffer, nowMs: number) {
    this.encodedBuckets = encodedBuckets;
    this.encodedSum = encodedSum;
    this.encodedCount = encodedCount;
    this.counts = new Float64Array(encodedBuckets.length);
    this.sum = 0;
    this.count = 0;
    this.touchedMs = nowMs;
    this.evicted = false;
  }
}

/** Something that writes itself into an exposition and forgets idle series. */
export interface Family {
  readonly name: string;
  /** Writes HELP, TYPE and every series. */
  render(w: ExpositionWriter): void;
  /** Drops series last touched before `cutoffMs`; returns how many were dropped. */
  evict(cutoffMs: number): number;
  /** Number of live series. */
  readonly size: number;
}

/**
 * A counter or gauge family. Callers look a series up by key with {@link get}, create it
 * with {@link create} on a miss (the only place label pairs are needed), then add to
 * `value` and set `touchedMs`, so the steady state allocates nothing.
 */
export class ScalarFamily implements Family {
  readonly name: string;
  readonly type: FamilyType;
  readonly help: string;
  /** Gauges that are non-zero (open connections) are never idle. */
  private readonly keepNonZero: boolean;
  private readonly series = new Map<string, ScalarSeries>();

  constructor(name: string, type: 'counter' | 'gauge', help: string, keepNonZero = false) {
    this.name = name;
    this.type = type;
    this.help = help;
    this.keepNonZero = keepNonZero;
  }

  get size(): number {
    return this.series.size;
  }

  get(key: string): ScalarSeries | undefined {
    return this.series.get(key);
  }

  create(key: string, labels: LabelPairs, nowMs: number): ScalarSeries {
    const s = new ScalarSeries(ExpositionWriter.encodeSeries(this.name, labels), nowMs);
    this.series.set(key, s);
    return s;
  }

  /** Adds `by` to the series `key`, creating it from `labels` on first use. */
  add(
    key: string,
    labels: LabelPairs | (() => LabelPairs),
    by: number,
    nowMs: number,
  ): ScalarSeries {
    let s = this.series.get(key);
    if (s === undefined)
      s = this.create(key, typeof labels === 'function' ? labels() : labels, nowMs);
    s.value += by;
    s.touchedMs = nowMs;
    return s;
  }

  /** Keys of the live series. */
  keys(): IterableIterator<string> {
    return this.series.keys();
  }

  /** Looks up a series without creating it; for tests and diagnostics. */
  valueOf(key: string): number | undefined {
    return this.series.get(key)?.value;
  }

  render(w: ExpositionWriter): void {
    w.family(this.name, this.type, this.help);
    for (const s of this.series.values()) w.sampleEncoded(s.encoded, s.value);
  }

  evict(cutoffMs: number): number {
    let n = 0;
    for (const [k, s] of this.series) {
      if (s.touchedMs >= cutoffMs || (this.keepNonZero && s.value !== 0)) continue;
      s.evicted = true;
      this.series.delete(k);
      n++;
    }
    return n;
  }
}

/** A cumulative histogram family with fixed bounds (`response_latency_ms`). */
export class HistogramFamily implements Family {
  readonly name: string;
  readonly help: string;
  readonly bounds: readonly number[];
  private readonly leValues: string[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.bounds = bounds;
    this.leValues = bounds.map((b) => String(b)).concat('+Inf');
  }

  get size(): number {
    return this.series.size;
  }

  get(key: string): HistogramSeries | undefined {
    return this.series.get(key);
  }

  create(key: string, labels: LabelPairs, nowMs: number): HistogramSeries {
    const buckets = this.leValues.map((le) =>
      ExpositionWriter.encodeSeries(this.name + '_bucket', [...labels, 'le', le]),
    );
    const s = new HistogramSeries(
      buckets,
      ExpositionWriter.encodeSeries(this.name + '_sum', labels),
      ExpositionWriter.encodeSeries(this.name + '_count', labels),
      nowMs,
    );
    this.series.set(key, s);
    return s;
  }

  /** Keys of the live series. */
  keys(): IterableIterator<string> {
    return this.series.keys();
  }

  /** Records one observation `v` into series `key`, creating it from `labels` on first use. */
  observe(key: string, labels: LabelPairs | (() => LabelPairs), v: number, nowMs: number): void {
    let s = this.series.get(key);
    if (s === undefined)
      s = this.create(key, typeof labels === 'function' ? labels() : labels, nowMs);
    this.observeInto(s, v, nowMs);
  }

  /** Records one observation `v` into a series got from {@link get} or {@link create}. */
  observeInto(s: HistogramSeries, v: number, nowMs: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && v > bounds[i]) i++;
    s.counts[i]++;
    s.sum += v;
    s.count++;
    s.touchedMs = nowMs;
  }

  render(w: ExpositionWriter): void {
    w.family(this.name, 'histogram', this.help);
    for (const s of this.series.values()) {
      let cum = 0;
      for (let i = 0; i < s.counts.length; i++) {
        cum += s.counts[i];
        w.sampleEncoded(s.encodedBuckets[i], cum);
      }
      w.sampleEncoded(s.encodedSum, s.sum);
      w.sampleEncoded(s.encodedCount, s.count);
    }
  }

  evict(cutoffMs: number): number {
    let n = 0;
    for (const [k, s] of this.series) {
      if (s.touchedMs >= cutoffMs) continue;
      s.evicted = true;
      this.series.delete(k);
      n++;
    }
    return n;
  }
}

/** A family whose samples are computed at render time (process_*, build info). */
export class CallbackFamily implements Family {
  readonly name: string;
  readonly size = 1;
  private readonly write: (w: ExpositionWriter) => void;
  constructor(name: string, write: (w: ExpositionWriter) => void) {
    this.name = name;
    this.write = write;
  }
  render(w: ExpositionWriter): void {
    this.write(w);
  }
  evict(): number {
    return 0;
  }
}

/** The ordered set of families one /metrics answer is made of. */
export class Registry {
  private readonly families: Family[] = [];
  private readonly writer = new ExpositionWriter('text');
  readonly clock: Clock;
  readonly retainIdleMs: number;
  /** Called after a pass that evicted something, so callers can drop their references. */
  onEvicted: (() => void) | null = null;

  constructor(clock: Clock = Date.now, retainIdleMs = 10 * 60_000) {
    this.clock = clock;
    this.retainIdleMs = retainIdleMs;
  }

  register<F extends Family>(f: F): F {
    this.families.push(f);
    return f;
  }

  /** Drops every series idle for longer than the retain-idle period; returns the count. */
  evictIdle(): number {
    if (!(this.retainIdleMs > 0) || !Number.isFinite(this.retainIdleMs)) return 0;
    const cutoff = this.clock() - this.retainIdleMs;
    let n = 0;
    for (const f of this.families) n += f.evict(cutoff);
    if (n > 0 && this.onEvicted !== null) this.onEvicted();
    return n;
  }

  /** Renders the whole exposition (text 0.0.4) after evicting idle series. */
  render(): Buffer {
    this.evictIdle();
    const w = this.writer.reset();
    for (const f of this.families) f.render(w);
    return w.take();
  }
}

/**
 * A small in-memory {@link Queryable} for engine tests: sorted series, samples in
 * growable Float64Arrays (which keep the stale marker's NaN payload), matchers applied
 * per series. Start timestamps live in a third parallel array that a series gets with its
 * first non-zero one; only such series hand out iterators with `atST`. Test code, not a
 * product store: the TSDB head takes its place in production.
 * @module
 */

import { Labels, compareLabels } from '../../model/labels.js';
import type { Matcher } from '../../model/matcher.js';
import {
  ValueType,
  type Querier,
  type Queryable,
  type SampleIterator,
  type Series,
  type SeriesSet,
  type SelectHints,
} from '../../storage/interface.js';

class MemSeries implements Series {
  readonly labels: Labels;
  ts = new Float64Array(16);
  vs = new Float64Array(16);
  /** Start timestamps parallel to `ts` (0: none), or null while the series has none. */
  st: Float64Array | null = null;
  n = 0;

  constructor(labels: Labels) {
    this.labels = labels;
  }

  /**
   * Adds a sample with start timestamp `st` (0: none); samples may arrive out of order and
   * are kept sorted. Returns false if t is taken.
   */
  add(t: number, v: number, st = 0): boolean {
    if (st !== 0 && this.st === null) this.st = new Float64Array(this.ts.length);
    if (this.n === this.ts.length) {
      const nt = new Float64Array(this.n * 2);
      nt.set(this.ts);
      this.ts = nt;
      const nv = new Float64Array(this.n * 2);
      nv.set(this.vs);
      this.vs = nv;
      if (this.st !== null) {
        const ns = new Float64Array(this.n * 2);
        ns.set(this.st);
        this.st = ns;
      }
    }
    let i = this.n;
    if (i > 0 && this.ts[i - 1] >= t) {
      // Rare path: find the insertion point.
      let lo = 0;
      let hi = this.n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (this.ts[mid] < t) lo = mid + 1;
        else hi = mid;
      }
      if (lo < this.n && this.ts[lo] === t) return false;
      this.ts.copyWithin(lo + 1, lo, this.n);
      this.vs.copyWithin(lo + 1, lo, this.n);
      this.st?.copyWithin(lo + 1, lo, this.n);
      i = lo;
    }
    this.ts[i] = t;
    this.vs[i] = v;
    if (this.st !== null) this.st[i] = st;
    this.n++;
    return true;
  }

  iterator(reuse?: SampleIterator): SampleIterator {
    const kind = this.st === null ? MemIterator : MemSTIterator;
    const it =
      reuse !== undefined && reuse.constructor === kind ? (reuse as MemIterator) : new kind();
    it.reset(this);
    return it;
  }
}

class MemIterator implements SampleIterator {
  protected s: MemSeries | null = null;
  protected i = -1;

  reset(s: MemSeries): void {
    this.s = s;
    this.i = -1;
  }

  next(): ValueType {
    const s = this.s!;
    if (this.i < s.n) this.i++;
    return this.i < s.n ? ValueType.Float : ValueType.None;
  }

  seek(t: number): ValueType {
    const s = this.s!;
    if (this.i < 0) this.i = 0;
    if (this.i < s.n && s.ts[this.i] >= t) return ValueType.Float;
    let lo = this.i;
    let hi = s.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (s.ts[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    this.i = lo;
    return this.i < s.n ? ValueType.Float : ValueType.None;
  }

  atT(): number {
    return this.s!.ts[this.i];
  }

  atV(): number {
    return this.s!.vs[this.i];
  }

  err(): Error | null {
    return null;
  }
}

/** The iterator of a series that has start timestamps. */
class MemSTIterator extends MemIterator {
  atST(): number {
    return this.s!.st![this.i];
  }
}

class ListSeriesSet implements SeriesSet {
  private readonly list: Series[];
  private i = -1;
  constructor(list: Series[]) {
    this.list = list;
  }
  next(): boolean {
    return ++this.i < this.list.length;
  }
  at(): Series {
    return this.list[this.i];
  }
  err(): Error | null {
    return null;
  }
  warnings(): readonly string[] {
    return [];
  }
}

/** An in-memory store of float series. */
export class MemStorage implements Queryable {
  private readonly series = new Map<string, MemSeries>();
  private sorted: MemSeries[] | null = null;
  /** Sorted series by metric name, built with {@link sorted}: `name="x"` selects scan only these. */
  private byName = new Map<string, MemSeries[]>();

  /**
   * Adds one sample, with start timestamp `st` (ms, 0: none). Returns false when the
   * series already holds a sample at `t`.
   */
  append(labels: Labels, t: number, v: number, st = 0): boolean {
    const key = labels.key();
    let s = this.series.get(key);
    if (!s) {
      s = new MemSeries(labels);
      this.series.set(key, s);
      this.sorted = null;
    }
    return s.add(t, v, st);
  }

  /**
   * Loads a whole series: `ts[i]` → `vs[i]` (start timestamp `st[i]` when given),
   * skipping timestamps already filled.
   */
  load(labels: Labels, ts: ArrayLike<number>, vs: ArrayLike<number>, st?: ArrayLike<number>): void {
    for (let i = 0; i < ts.length; i++) this.append(labels, ts[i], vs[i], st ? st[i] : 0);
  }

  /** Drops everything. */
  clear(): void {
    this.series.clear();
    this.sorted = null;
  }

  /** Number of series held. */
  get size(): number {
    return this.series.size;
  }

  async querier(_mint: number, _maxt: number): Promise<Querier> {
    if (!this.sorted) {
      this.sorted = [...this.series.values()].sort((a, b) => compareLabels(a.labels, b.labels));
      this.byName = new Map();
      for (const s of this.sorted) {
        const name = s.labels.get('__name__');
        const list = this.byName.get(name);
        if (list) list.push(s);
        else this.byName.set(name, [s]);
      }
    }
    const all = this.sorted;
    const byName = this.byName;
    const q: Querier = {
      select(
        _sorted: boolean,
        _hints: SelectHints | null,
        matchers: readonly Matcher[],
      ): SeriesSet {
        const out: Series[] = [];
        const byNameMatcher = matchers.find((m) => m.type === '=' && m.name === '__name__');
        const candidates = byNameMatcher ? (byName.get(byNameMatcher.value) ?? []) : all;
        for (const s of candidates) {
          let ok = true;
          for (const m of matchers) {
            if (!m.matches(s.labels.get(m.name))) {
              ok = false;
              break;
            }
          }
          if (ok && s.n > 0) out.push(s);
        }
        return new ListSeriesSet(out);
      },
      labelValues(name: string, matchers?: readonly Matcher[]): string[] {
        const set = new Set<string>();
        for (const s of all) {
          if (matchers && !matchers.every((m) => m.matches(s.labels.get(m.name)))) continue;
          const v = s.labels.get(name);
          if (v !== '') set.add(v);
        }
        return [...set].sort();
      },
      labelNames(matchers?: readonly Matcher[]): string[] {
        const set = new Set<string>();
        for (const s of all) {
          if (matchers && !matchers.every((m) => m.matches(s.labels.get(m.name)))) continue;
          s.labels.forEach((n) => set.add(n));
        }
        return [...set].sort();
      },
      close(): void {},
    };
    return q;
  }
}

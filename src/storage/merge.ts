/**
 * Merging reads over several sources (the head and the blocks), as Prometheus's
 * `storage/merge.go`: series with equal label sets are one series whose samples are
 * merged by timestamp, and a timestamp present in several sources is returned once, with
 * the value of the earliest source in the list. This module sees only the contracts.
 * @module
 */

import { compareLabels, type Labels } from '../model/labels.js';
import type { Matcher } from '../model/matcher.js';
import {
  ValueType,
  type Querier,
  type Queryable,
  type SampleIterator,
  type SelectHints,
  type Series,
  type SeriesSet,
} from './interface.js';

/** Merges the sample iterators of one series from several sources. */
export class ChainSampleIterator implements SampleIterator {
  private its: SampleIterator[];
  /** Whether its[i] stands on a sample. */
  private live: boolean[];
  private started = false;
  private done = false;
  private t = 0;
  private v = 0;
  private error: Error | null = null;

  constructor(its: SampleIterator[]) {
    this.its = its;
    this.live = its.map(() => false);
  }

  /** Picks the smallest current timestamp; ties go to the earliest source. */
  private pick(): ValueType {
    let best = -1;
    let bt = Infinity;
    for (let i = 0; i < this.its.length; i++) {
      if (this.live[i] && this.its[i].atT() < bt) {
        bt = this.its[i].atT();
        best = i;
      }
    }
    if (best < 0) {
      this.done = true;
      return ValueType.None;
    }
    this.t = bt;
    this.v = this.its[best].atV();
    return ValueType.Float;
  }

  private step(i: number, r: ValueType): void {
    this.live[i] = r !== ValueType.None;
    if (r === ValueType.None && this.error === null) this.error = this.its[i].err();
  }

  next(): ValueType {
    if (this.done) return ValueType.None;
    if (!this.started) {
      this.started = true;
      for (let i = 0; i < this.its.length; i++) this.step(i, this.its[i].next());
    } else {
      // Move every source standing on the sample just returned (that drops duplicates).
      const t = this.t;
      for (let i = 0; i < this.its.length; i++) {
        if (this.live[i] && this.its[i].atT() <= t) this.step(i, this.its[i].next());
      }
    }
    return this.pick();
  }

  seek(t: number): ValueType {
    if (this.done) return ValueType.None;
    if (this.started && this.t >= t) return ValueType.Float;
    for (let i = 0; i < this.its.length; i++) {
      if (!this.started || this.live[i]) this.step(i, this.its[i].seek(t));
    }
    this.started = true;
    return this.pick();
  }

  atT(): number {
    return this.t;
  }

  atV(): number {
    return this.v;
  }

  err(): Error | null {
    return this.error;
  }
}

/** One series present in several sources. */
class MergedSeries implements Series {
  readonly labels: Labels;
  private readonly parts: Series[];
  constructor(labels: Labels, parts: Series[]) {
    this.labels = labels;
    this.parts = parts;
  }
  iterator(): SampleIterator {
    return new ChainSampleIterator(this.parts.map((p) => p.iterator()));
  }
}

/** Merges series sets that are each sorted by labels into one sorted set. */
export class MergeSeriesSet implements SeriesSet {
  private readonly sets: SeriesSet[];
  /** Whether sets[i] stands on a series not yet returned. */
  private readonly live: boolean[];
  private started = false;
  private cur: Series | null = null;
  private error: Error | null = null;

  constructor(sets: SeriesSet[]) {
    this.sets = sets;
    this.live = sets.map(() => false);
  }

  private advance(i: number): void {
    const ok = this.sets[i].next();
    this.live[i] = ok;
    if (!ok && this.error === null) this.error = this.sets[i].err();
  }

  next(): boolean {
    if (!this.started) {
      this.started = true;
      for (let i = 0; i < this.sets.length; i++) this.advance(i);
    }
    if (this.error !== null) return false;
    let min: Labels | null = null;
    for (let i = 0; i < this.sets.length; i++) {
      if (!this.live[i]) continue;
      const ls = this.sets[i].at().labels;
      if (min === null || compareLabels(ls, min) < 0) min = ls;
    }
    if (min === null) {
      this.cur = null;
      return false;
    }
    const parts: Series[] = [];
    for (let i = 0; i < this.sets.length; i++) {
      if (!this.live[i]) continue;
      const s = this.sets[i].at();
      if (compareLabels(s.labels, min) !== 0) continue;
      parts.push(s);
      this.advance(i);
    }
    // Series objects stay valid after their set moves on: implementations here hold
    // their own snapshot (the SeriesSet contract only promises the at() call site).
    this.cur = parts.length === 1 ? parts[0] : new MergedSeries(min, parts);
    return true;
  }

  at(): Series {
    return this.cur!;
  }

  err(): Error | null {
    return this.error;
  }

  warnings(): readonly string[] {
    const out: string[] = [];
    for (const s of this.sets) out.push(...s.warnings());
    return out;
  }
}

/** Sorted union of sorted string lists. */
function unionSorted(lists: string[][]): string[] {
  const set = new Set<string>();
  for (const l of lists) for (const s of l) set.add(s);
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Reads several queriers as one. */
export class MergeQuerier implements Querier {
  private readonly queriers: Querier[];

  constructor(queriers: Querier[]) {
    this.queriers = queriers;
  }

  select(sorted: boolean, hints: SelectHints | null, matchers: readonly Matcher[]): SeriesSet {
    if (this.queriers.length === 1) return this.queriers[0].select(sorted, hints, matchers);
    // Merging needs sorted inputs, and its output is then sorted whatever was asked.
    return new MergeSeriesSet(this.queriers.map((q) => q.select(true, hints, matchers)));
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    return unionSorted(this.queriers.map((q) => q.labelValues(name, matchers)));
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    return unionSorted(this.queriers.map((q) => q.labelNames(matchers)));
  }

  close(): void {
    for (const q of this.queriers) q.close();
  }
}

/** Opens a {@link MergeQuerier} over several sources. */
export class MergeQueryable implements Queryable {
  private readonly sources: Queryable[];

  constructor(sources: Queryable[]) {
    this.sources = sources;
  }

  async querier(mint: number, maxt: number): Promise<Querier> {
    const qs = await Promise.all(this.sources.map((s) => s.querier(mint, maxt)));
    return new MergeQuerier(qs);
  }
}

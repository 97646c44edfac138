/**
 * Label sets: immutable, sorted by name, with a canonical key and a hash computed once.
 *
 * A `Labels` keeps its pairs in one flat array `[name0, value0, name1, value1, …]`,
 * sorted by name with no duplicates and no empty values (an empty value means the
 * label is absent, as in Prometheus). Strings are whatever the caller passed; the
 * TSDB interns them before keeping a label set for long.
 * @module
 */

import { LabelError } from './errors.js';

/** The label that holds the metric name. */
export const METRIC_NAME = '__name__';

/** An immutable, sorted label set. Build one with {@link Labels.from} or a {@link LabelsBuilder}. */
export class Labels {
  /** The empty label set. */
  static readonly EMPTY: Labels = new Labels([]);

  /** Flat sorted pairs; never mutated after construction. */
  private readonly pairs: readonly string[];
  private keyCache: string | undefined;
  private hashCache: number;

  private constructor(pairs: readonly string[]) {
    this.pairs = pairs;
    this.keyCache = undefined;
    this.hashCache = -1;
  }

  /**
   * Wraps pairs that are already sorted by name, unique and without empty values.
   * The array is taken over: the caller must not change it afterwards.
   */
  static fromSortedPairs(pairs: string[]): Labels {
    return pairs.length === 0 ? Labels.EMPTY : new Labels(pairs);
  }

  /**
   * Builds a label set from an object or from alternating name/value strings. Empty
   * values are dropped; a repeated name throws a LabelError.
   */
  static from(src: Record<string, string> | readonly string[]): Labels {
    const b = new LabelsBuilder();
    if (Array.isArray(src)) {
      const arr = src as readonly string[];
      if (arr.length % 2 !== 0) throw new LabelError('label pairs need an even number of strings');
      for (let i = 0; i < arr.length; i += 2) b.addUnique(arr[i], arr[i + 1]);
    } else {
      for (const [n, v] of Object.entries(src as Record<string, string>)) b.addUnique(n, v);
    }
    return b.labels();
  }

  /** Number of labels. */
  get size(): number {
    return this.pairs.length >> 1;
  }

  /** Name of the i-th label in sorted order. */
  name(i: number): string {
    return this.pairs[i << 1];
  }

  /** Value of the i-th label in sorted order. */
  value(i: number): string {
    return this.pairs[(i << 1) + 1];
  }

  /** The value of `name`, or '' when absent. */
  get(name: string): string {
    const p = this.pairs;
    // Label sets are small; a linear scan beats binary search up to a few dozen labels.
    for (let i = 0; i < p.length; i += 2) {
      if (p[i] === name) return p[i + 1];
    }
    return '';
  }

  /** Reports whether the label `name` is present. */
  has(name: string): boolean {
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) if (p[i] === name) return true;
    return false;
  }

  /** The metric name (`__name__`), or ''. */
  metricName(): string {
    return this.get(METRIC_NAME);
  }

  /** Calls `fn` for every label in sorted order. */
  forEach(fn: (name: string, value: string) => void): void {
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) fn(p[i], p[i + 1]);
  }

  /** A copy of the flat sorted pairs. */
  toPairs(): string[] {
    return this.pairs.slice();
  }

  /** The labels as a plain object (for JSON output). */
  toObject(): Record<string, string> {
    const o: Record<string, string> = {};
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) o[p[i]] = p[i + 1];
    return o;
  }

  /**
   * The canonical key: injective over label sets, so equal keys mean equal sets. Each
   * string is length-prefixed, which keeps it unambiguous whatever bytes values hold.
   */
  key(): string {
    let k = this.keyCache;
    if (k === undefined) {
      k = '';
      const p = this.pairs;
      for (let i = 0; i < p.length; i++) k += p[i].length.toString(36) + ':' + p[i];
      this.keyCache = k;
    }
    return k;
  }

  /** A 32-bit hash of the canonical key (FNV-1a over UTF-16 code units), computed once. */
  hash(): number {
    let h = this.hashCache;
    if (h < 0) {
      h = fnv1a32(this.key());
      this.hashCache = h;
    }
    return h;
  }

  /** Reports whether both sets hold the same labels. */
  equals(o: Labels): boolean {
    if (this === o) return true;
    const a = this.pairs;
    const b = o.pairs;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** Prometheus's text form: `{a="1", b="2"}` with Go-style escaping of values. */
  toString(): string {
    const p = this.pairs;
    let s = '{';
    for (let i = 0; i < p.length; i += 2) {
      if (i > 0) s += ', ';
      s += p[i] + '=' + JSON.stringify(p[i + 1]);
    }
    return s + '}';
  }

  /** A copy without the named labels. */
  without(...names: string[]): Labels {
    const out: string[] = [];
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) {
      if (!names.includes(p[i])) out.push(p[i], p[i + 1]);
    }
    return out.length === p.length ? this : Labels.fromSortedPairs(out);
  }

  /** A copy with only the named labels. */
  keep(...names: string[]): Labels {
    const out: string[] = [];
    const p = this.pairs;
    for (let i = 0; i < p.length; i += 2) {
      if (names.includes(p[i])) out.push(p[i], p[i + 1]);
    }
    return out.length === p.length ? this : Labels.fromSortedPairs(out);
  }
}

/** Orders label sets as Prometheus's `labels.Compare`: pairwise by name, then value, then length. */
export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.size, b.size);
  for (let i = 0; i < n; i++) {
    const an = a.name(i);
    const bn = b.name(i);
    if (an !== bn) return an < bn ? -1 : 1;
    const av = a.value(i);
    const bv = b.value(i);
    if (av !== bv) return av < bv ? -1 : 1;
  }
  return a.size - b.size;
}

/**
 * Builds label sets by setting and deleting labels; reusable with {@link reset}.
 * Setting a label to '' deletes it, as in Prometheus's `labels.Builder`.
 */
export class LabelsBuilder {
  private names: string[] = [];
  private values: string[] = [];

  /** Starts over from `base` (or from nothing). */
  reset(base?: Labels): this {
    this.names.length = 0;
    this.values.length = 0;
    if (base) base.forEach((n, v) => (this.names.push(n), this.values.push(v)));
    return this;
  }

  /** Sets `name` to `value`; '' deletes the label. */
  set(name: string, value: string): this {
    const i = this.names.indexOf(name);
    if (value === '') {
      if (i >= 0) {
        this.names.splice(i, 1);
        this.values.splice(i, 1);
      }
    } else if (i >= 0) {
      this.values[i] = value;
    } else {
      this.names.push(name);
      this.values.push(value);
    }
    return this;
  }

  /** Adds a label that must not be present yet; throws a LabelError for a duplicate name. */
  addUnique(name: string, value: string): this {
    if (this.names.includes(name)) throw new LabelError(`duplicate label name "${name}"`);
    if (value !== '') {
      this.names.push(name);
      this.values.push(value);
    }
    return this;
  }

  /** Deletes the named labels. */
  del(...names: string[]): this {
    for (const n of names) this.set(n, '');
    return this;
  }

  /** The current value of `name`, or ''. */
  get(name: string): string {
    const i = this.names.indexOf(name);
    return i >= 0 ? this.values[i] : '';
  }

  /** Calls `fn` for every label currently set, in insertion order. */
  forEach(fn: (name: string, value: string) => void): void {
    for (let i = 0; i < this.names.length; i++) fn(this.names[i], this.values[i]);
  }

  /** The sorted, immutable label set. The builder stays usable. */
  labels(): Labels {
    const n = this.names.length;
    if (n === 0) return Labels.EMPTY;
    const idx = new Array<number>(n);
    for (let i = 0; i < n; i++) idx[i] = i;
    const names = this.names;
    idx.sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
    const pairs = new Array<string>(n * 2);
    for (let i = 0; i < n; i++) {
      pairs[2 * i] = names[idx[i]];
      pairs[2 * i + 1] = this.values[idx[i]];
    }
    return Labels.fromSortedPairs(pairs);
  }
}

/** 32-bit FNV-1a over the UTF-16 code units of `s`. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * FNV-1a over a label set's names and values with separators, for in-memory hash maps
 * (the head's and the scrape cache's series by labels). Unlike {@link Labels.hash} it does
 * not build and cache the set's key string, which for long-lived sets would cost as much as
 * the labels. The result is a signed 32-bit integer, so V8 keeps it as a small integer and
 * `Map` lookups stay on the fast path; it is never written anywhere.
 */
export function hashLabelSet(ls: Labels): number {
  let h = 0x811c9dc5;
  const n = ls.size;
  for (let i = 0; i < n; i++) {
    const name = ls.name(i);
    for (let j = 0; j < name.length; j++) h = Math.imul(h ^ name.charCodeAt(j), 0x01000193);
    h = Math.imul(h ^ 0xfffe, 0x01000193);
    const value = ls.value(i);
    for (let j = 0; j < value.length; j++) h = Math.imul(h ^ value.charCodeAt(j), 0x01000193);
    h = Math.imul(h ^ 0xffff, 0x01000193);
  }
  return h | 0;
}

/** Reports whether `s` is a legacy metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export function isValidMetricName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      c === 95 ||
      c === 58 ||
      (i > 0 && c >= 48 && c <= 57);
    if (!ok) return false;
  }
  return true;
}

/** Reports whether `s` is a legacy label name: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function isValidLabelName(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (i > 0 && c >= 48 && c <= 57);
    if (!ok) return false;
  }
  return true;
}

/** Throws a LabelError naming the problem when `s` is not a valid label name. */
export function checkLabelName(s: string): void {
  if (!isValidLabelName(s)) {
    throw new LabelError(
      s === ''
        ? 'empty label name'
        : `invalid label name ${JSON.stringify(s)}: must match [a-zA-Z_][a-zA-Z0-9_]*`,
    );
  }
}

/** Throws a LabelError naming the problem when `s` is not a valid metric name. */
export function checkMetricName(s: string): void {
  if (!isValidMetricName(s)) {
    throw new LabelError(
      s === ''
        ? 'empty metric name'
        : `invalid metric name ${JSON.stringify(s)}: must match [a-zA-Z_:][a-zA-Z0-9_:]*`,
    );
  }
}

/**
 * Postings: for every label pair, the sorted list of series refs that carry it, as
 * `Uint32Array`s; the set operations over them; and the selection of series by label
 * matchers, as Prometheus's `tsdb/index/postings.go` and `PostingsForMatchers`.
 *
 * Lists returned by the functions here are never mutated afterwards, so callers may keep
 * them; they may share memory with a {@link MemPostings} list (views of a prefix).
 * @module
 */

import type { Labels } from '../../model/labels.js';
import type { Matcher } from '../../model/matcher.js';

/** The empty postings list. */
export const EMPTY_POSTINGS: Uint32Array = new Uint32Array(0);

/**
 * Name and value of the implicit label pair every series carries, whose postings are
 * all series (Prometheus `AllPostingsKey`).
 */
export const ALL_POSTINGS_NAME = '';
export const ALL_POSTINGS_VALUE = '';

/** When one list is this many times longer than the other, walk the long one by galloping. */
const GALLOP_RATIO = 16;

/** First index `i >= lo` with `a[i] >= x` (exponential then binary search), or `a.length`. */
export function seekIndex(a: Uint32Array, lo: number, x: number): number {
  const n = a.length;
  if (lo >= n || a[lo] >= x) return lo;
  let step = 1;
  let hi = lo + 1;
  while (hi < n && a[hi] < x) {
    lo = hi;
    step <<= 1;
    hi = lo + step;
  }
  if (hi > n) hi = n;
  // Invariant: a[lo] < x, and a[hi] >= x or hi === n.
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** Refs present in both sorted lists. */
export function intersect2(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length > b.length) {
    const t = a;
    a = b;
    b = t;
  }
  const na = a.length;
  const nb = b.length;
  if (na === 0) return EMPTY_POSTINGS;
  const out = new Uint32Array(na);
  let k = 0;
  if (nb > na * GALLOP_RATIO) {
    let j = 0;
    for (let i = 0; i < na && j < nb; i++) {
      const x = a[i];
      j = seekIndex(b, j, x);
      if (j < nb && b[j] === x) out[k++] = x;
    }
  } else {
    let i = 0;
    let j = 0;
    while (i < na && j < nb) {
      const x = a[i];
      const y = b[j];
      if (x === y) {
        out[k++] = x;
        i++;
        j++;
      } else if (x < y) i++;
      else j++;
    }
  }
  return k === na ? out : out.slice(0, k);
}

/** Refs present in every list; empty for no lists. Starts from the shortest. */
export function intersect(lists: readonly Uint32Array[]): Uint32Array {
  if (lists.length === 0) return EMPTY_POSTINGS;
  if (lists.length === 1) return lists[0];
  const sorted = lists.slice().sort((x, y) => x.length - y.length);
  let acc = sorted[0];
  for (let i = 1; i < sorted.length && acc.length > 0; i++) acc = intersect2(acc, sorted[i]);
  return acc;
}

/** Refs present in either sorted list. */
export function merge2(a: Uint32Array, b: Uint32Array): Uint32Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const na = a.length;
  const nb = b.length;
  const out = new Uint32Array(na + nb);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < na && j < nb) {
    const x = a[i];
    const y = b[j];
    if (x === y) {
      out[k++] = x;
      i++;
      j++;
    } else if (x < y) {
      out[k++] = x;
      i++;
    } else {
      out[k++] = y;
      j++;
    }
  }
  while (i < na) out[k++] = a[i++];
  while (j < nb) out[k++] = b[j++];
  return k === out.length ? out : out.slice(0, k);
}

/** Refs present in any of the lists (a union), sorted and unique. */
export function merge(lists: readonly Uint32Array[]): Uint32Array {
  const n = lists.length;
  if (n === 0) return EMPTY_POSTINGS;
  if (n === 1) return lists[0];
  if (n === 2) return merge2(lists[0], lists[1]);
  // Many lists (a regex over many values): concatenate, sort numerically, drop repeats.
  let total = 0;
  for (let i = 0; i < n; i++) total += lists[i].length;
  const all = new Uint32Array(total);
  let off = 0;
  for (let i = 0; i < n; i++) {
    all.set(lists[i], off);
    off += lists[i].length;
  }
  all.sort();
  let k = 0;
  for (let i = 0; i < total; i++) {
    if (k === 0 || all[k - 1] !== all[i]) all[k++] = all[i];
  }
  return k === total ? all : all.slice(0, k);
}

/** Refs of `a` that are not in `b` (a subtraction). */
export function without(a: Uint32Array, b: Uint32Array): Uint32Array {
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) return a;
  const out = new Uint32Array(na);
  let k = 0;
  let j = 0;
  const gallop = nb > na * GALLOP_RATIO;
  for (let i = 0; i < na; i++) {
    const x = a[i];
    if (gallop) j = seekIndex(b, j, x);
    else while (j < nb && b[j] < x) j++;
    if (j >= nb || b[j] !== x) out[k++] = x;
  }
  return k === na ? a : out.slice(0, k);
}

/** A growable sorted list of refs. */
class PostingsList {
  refs: Uint32Array;
  len: number;
  constructor(first: number) {
    this.refs = new Uint32Array(2);
    this.refs[0] = first;
    this.len = 1;
  }

  add(ref: number): void {
    const n = this.len;
    if (n > 0 && this.refs[n - 1] >= ref) {
      this.insertSorted(ref);
      return;
    }
    if (n === this.refs.length) this.grow();
    this.refs[n] = ref;
    this.len = n + 1;
  }

  /** Rare path: a ref arriving out of order (e.g. replay); keeps the list sorted and unique. */
  private insertSorted(ref: number): void {
    const i = seekIndex(this.refs.subarray(0, this.len), 0, ref);
    if (i < this.len && this.refs[i] === ref) return;
    if (this.len === this.refs.length) this.grow();
    this.refs.copyWithin(i + 1, i, this.len);
    this.refs[i] = ref;
    this.len++;
  }

  private grow(): void {
    const nb = new Uint32Array(this.refs.length * 2);
    nb.set(this.refs);
    this.refs = nb;
  }

  /**
   * A stable snapshot: later adds write past `len` (never into the view) or into a new
   * array, and deletes build a new array, so the view never changes.
   */
  view(): Uint32Array {
    return this.refs.subarray(0, this.len);
  }
}

/**
 * In-memory postings of the head: label name → value → sorted refs, plus the
 * all-series list. Refs are normally added in increasing order, which appends.
 */
export class MemPostings {
  private readonly byName = new Map<string, Map<string, PostingsList>>();
  /** Sorted values per name, rebuilt lazily after a value appears or disappears. */
  private readonly sortedValues = new Map<string, string[]>();
  private sortedNames: string[] | null = null;
  private all: PostingsList | null = null;

  /** Adds series `ref` under each of its labels. */
  add(ref: number, labels: Labels): void {
    const n = labels.size;
    for (let i = 0; i < n; i++) this.addFor(labels.name(i), labels.value(i), ref);
    if (this.all === null) this.all = new PostingsList(ref);
    else this.all.add(ref);
  }

  private addFor(name: string, value: string, ref: number): void {
    let values = this.byName.get(name);
    if (values === undefined) {
      values = new Map();
      this.byName.set(name, values);
      this.sortedNames = null;
    }
    const list = values.get(value);
    if (list === undefined) {
      values.set(value, new PostingsList(ref));
      this.sortedValues.delete(name);
    } else {
      list.add(ref);
    }
  }

  /**
   * Removes the given series. `affected` lists the labels of the removed series so only
   * their lists are rewritten (Prometheus passes the same hint).
   */
  delete(deleted: ReadonlySet<number>, affected: readonly Labels[]): void {
    if (deleted.size === 0) return;
    const seen = new Set<string>();
    for (const ls of affected) {
      for (let i = 0; i < ls.size; i++) {
        const name = ls.name(i);
        const value = ls.value(i);
        const key = name + '\xff' + value;
        if (seen.has(key)) continue;
        seen.add(key);
        const values = this.byName.get(name);
        const list = values?.get(value);
        if (values === undefined || list === undefined) continue;
        const kept = filterOut(list.view(), deleted);
        if (kept.length === 0) {
          values.delete(value);
          this.sortedValues.delete(name);
          if (values.size === 0) {
            this.byName.delete(name);
            this.sortedNames = null;
          }
        } else {
          list.refs = kept;
          list.len = kept.length;
        }
      }
    }
    if (this.all !== null) {
      const kept = filterOut(this.all.view(), deleted);
      this.all.refs = kept;
      this.all.len = kept.length;
    }
  }

  /** The refs carrying `name="value"` (all series for the all-postings key). */
  get(name: string, value: string): Uint32Array {
    if (name === ALL_POSTINGS_NAME && value === ALL_POSTINGS_VALUE) return this.allPostings();
    const list = this.byName.get(name)?.get(value);
    return list === undefined ? EMPTY_POSTINGS : list.view();
  }

  /** Every series ref, sorted. */
  allPostings(): Uint32Array {
    return this.all === null ? EMPTY_POSTINGS : this.all.view();
  }

  /** Sorted values of label `name`. The array is shared: do not change it. */
  labelValues(name: string): readonly string[] {
    let v = this.sortedValues.get(name);
    if (v === undefined) {
      const values = this.byName.get(name);
      if (values === undefined) return [];
      v = [...values.keys()].sort(compareStrings);
      this.sortedValues.set(name, v);
    }
    return v;
  }

  /** Sorted label names present in any series. The array is shared: do not change it. */
  labelNames(): readonly string[] {
    if (this.sortedNames === null) this.sortedNames = [...this.byName.keys()].sort(compareStrings);
    return this.sortedNames;
  }

  /** Number of distinct label pairs (for metrics and memory accounting). */
  numPairs(): number {
    let n = 0;
    for (const values of this.byName.values()) n += values.size;
    return n;
  }
}

function filterOut(a: Uint32Array, deleted: ReadonlySet<number>): Uint32Array {
  const out = new Uint32Array(a.length);
  let k = 0;
  for (let i = 0; i < a.length; i++) if (!deleted.has(a[i])) out[k++] = a[i];
  return k === a.length ? out : out.slice(0, k);
}

/** Orders strings by UTF-16 code units (as Go's byte order for the ASCII that labels use). */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What {@link postingsForMatchers} needs from an index: the head's or a block's. */
export interface PostingsIndex {
  /** The union of the postings of `name=v` for every v of `values`. */
  postings(name: string, values: readonly string[]): Uint32Array;
  /** Sorted values of label `name`. */
  labelValues(name: string): readonly string[];
  /** Every series ref, sorted. */
  allPostings(): Uint32Array;
}

/** Adapts a {@link MemPostings} to the {@link PostingsIndex} contract. */
export function memPostingsIndex(p: MemPostings): PostingsIndex {
  return {
    postings(name, values) {
      if (values.length === 1) return p.get(name, values[0]);
      const lists: Uint32Array[] = [];
      for (const v of values) {
        const l = p.get(name, v);
        if (l.length > 0) lists.push(l);
      }
      return merge(lists);
    },
    labelValues: (name) => p.labelValues(name),
    allPostings: () => p.allPostings(),
  };
}

/** The literal values a regex matcher can match (`a|b|c`), or null when unknown. */
function setMatchesOf(m: Matcher): readonly string[] | null {
  const s = m.setMatches();
  return s !== null && s.length > 0 ? s : null;
}

/** The matcher that selects what `m` rejects, among present labels. */
function inverseType(m: Matcher): Matcher['type'] {
  switch (m.type) {
    case '=':
      return '!=';
    case '!=':
      return '=';
    case '=~':
      return '!~';
    case '!~':
      return '=~';
  }
}

/**
 * Refs of the series matching every matcher, sorted (Prometheus `PostingsForMatchers`):
 * `=` looks one value up, `=~` over a set of literals looks each up, other regexes run
 * over the label's values (never over series); `!=` and `!~` subtract. A matcher that
 * matches the empty string also selects the series without the label, so `{a=""}` is
 * "series without a" and `{a!=""}` is "series with a". No matchers select nothing.
 */
export function postingsForMatchers(ix: PostingsIndex, matchers: readonly Matcher[]): Uint32Array {
  const its: Uint32Array[] = [];
  const notIts: Uint32Array[] = [];
  // Labels some matcher requires to be set: then the others on that label can skip
  // the "missing label" case (e.g. {l=~".+", l!="1"}).
  const mustBeSet = new Set<string>();
  for (const m of matchers) if (!m.matches('')) mustBeSet.add(m.name);

  for (const m of matchers) {
    const isNot = m.type === '!=' || m.type === '!~';
    if (mustBeSet.has(m.name)) {
      const matchesEmpty = m.matches('');
      if (isNot && matchesEmpty) {
        // l!="foo": subtract the series where l="foo" at the end.
        notIts.push(valuesMatching(ix, m, false, inverseType(m)));
      } else if (isNot && !matchesEmpty) {
        // l!="": the series with l set to a value that the inverse rejects.
        its.push(valuesMatching(ix, m, true, inverseType(m)));
      } else {
        its.push(valuesMatching(ix, m, false, m.type));
      }
    } else {
      // The matcher accepts a missing label: subtract the series whose value it rejects.
      notIts.push(valuesMatching(ix, m, true, m.type));
    }
  }
  if (its.length === 0 && notIts.length > 0) its.push(ix.allPostings());
  let res = intersect(its);
  for (const n of notIts) {
    if (res.length === 0) break;
    res = without(res, n);
  }
  return res;
}

/**
 * Postings of the series that have label `m.name` set to a value that a matcher of type
 * `type` with m's name and value accepts (or rejects, when `rejecting`).
 */
function valuesMatching(
  ix: PostingsIndex,
  m: Matcher,
  rejecting: boolean,
  type: Matcher['type'],
): Uint32Array {
  // Direct lookups where the value set is known without scanning.
  if (!rejecting) {
    if (type === '=') return ix.postings(m.name, [m.value]);
    if (type === '=~') {
      const set = setMatchesOf(m);
      if (set !== null) return ix.postings(m.name, set);
    }
  }
  const vals = ix.labelValues(m.name);
  if (vals.length === 0) return EMPTY_POSTINGS;
  // `m.matches` answers for m's own type; an inverted type flips the answer.
  const flip = type !== m.type;
  const want = !rejecting;
  if (rejecting && type === '=' && m.value === '') return ix.postings(m.name, vals);
  const res: string[] = [];
  for (const v of vals) {
    const ok = m.matches(v) !== flip;
    if (ok === want) res.push(v);
  }
  if (res.length === 0) return EMPTY_POSTINGS;
  return ix.postings(m.name, res);
}

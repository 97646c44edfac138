/**
 * String interning for label names and values kept by the head: each distinct string is
 * held once, however many series carry it. The pool has no reference counts; the head
 * rebuilds it from the live series after a truncation removed some (see {@link Interner.rebuild}).
 * @module
 */

import { Labels } from '../model/labels.js';

/** A pool of canonical strings. */
export class Interner {
  private pool = new Map<string, string>();

  /** The pooled copy of `s`, adding it when new. */
  intern(s: string): string {
    const have = this.pool.get(s);
    if (have !== undefined) return have;
    // Flatten sliced or concatenated strings so the pool does not pin a large parent string.
    const flat = flatten(s);
    this.pool.set(flat, flat);
    return flat;
  }

  /** A label set whose strings all come from the pool. */
  internLabels(ls: Labels): Labels {
    const pairs = ls.toPairs();
    for (let i = 0; i < pairs.length; i++) pairs[i] = this.intern(pairs[i]);
    return Labels.fromSortedPairs(pairs);
  }

  /** Number of pooled strings. */
  get size(): number {
    return this.pool.size;
  }

  /** Replaces the pool by the strings of the given live label sets (drops the dead ones). */
  rebuild(live: Iterable<Labels>): void {
    const next = new Map<string, string>();
    for (const ls of live) {
      for (let i = 0; i < ls.size; i++) {
        const n = ls.name(i);
        const v = ls.value(i);
        next.set(n, n);
        next.set(v, v);
      }
    }
    this.pool = next;
  }
}

/**
 * A copy of `s` that does not share memory with a larger string. V8 keeps substrings as
 * slices of their parent; a round trip through a Buffer gives a flat, standalone copy for
 * the short strings labels are.
 */
function flatten(s: string): string {
  if (s.length === 0) return s;
  return Buffer.from(s, 'utf8').toString('utf8');
}

/**
 * The working label set of a relabeling pass, with the exact semantics of Prometheus's
 * `labels.Builder`: a base set plus a list of additions (in insertion order) and a list of
 * deletions. The order matters: `labelmap` walks the base labels (sorted) and then the
 * additions, and when two source labels map to one target the later write wins.
 * @module
 */

import { Labels } from '../model/labels.js';

/** A reusable label builder over a base label set; reset it for each label set. */
export class RelabelBuilder {
  private base: Labels = Labels.EMPTY;
  private readonly addNames: string[] = [];
  private readonly addValues: string[] = [];
  private readonly delNames: string[] = [];

  /** Starts over from `base`. */
  reset(base: Labels): this {
    this.base = base;
    this.addNames.length = 0;
    this.addValues.length = 0;
    this.delNames.length = 0;
    return this;
  }

  /** The current value of `name`, or '' when absent. */
  get(name: string): string {
    // Del() removes from the additions but Set() does not remove from the deletions,
    // so the additions are checked first.
    const i = this.addNames.indexOf(name);
    if (i >= 0) return this.addValues[i];
    if (this.delNames.length > 0 && this.delNames.includes(name)) return '';
    return this.base.get(name);
  }

  /** Sets `name` to `value`; '' deletes the label, as an empty value means absent. */
  set(name: string, value: string): void {
    if (value === '') {
      this.del(name);
      return;
    }
    const i = this.addNames.indexOf(name);
    if (i >= 0) {
      this.addValues[i] = value;
      return;
    }
    this.addNames.push(name);
    this.addValues.push(value);
  }

  /** Deletes `name`. */
  del(name: string): void {
    const i = this.addNames.indexOf(name);
    if (i >= 0) {
      this.addNames.splice(i, 1);
      this.addValues.splice(i, 1);
    }
    this.delNames.push(name);
  }

  /**
   * Calls `fn` for every current label: base labels (sorted) not deleted or overridden,
   * then additions in insertion order. It iterates over a snapshot, so `fn` may call
   * `set` and `del`.
   */
  range(fn: (name: string, value: string) => void): void {
    const base = this.base;
    if (this.unchanged()) {
      // Nothing to snapshot: the base is immutable and additions made by fn are not visited.
      for (let i = 0; i < base.size; i++) fn(base.name(i), base.value(i));
      return;
    }
    const addNames = this.addNames.slice();
    const addValues = this.addValues.slice();
    const delNames = this.delNames.slice();
    for (let i = 0; i < base.size; i++) {
      const n = base.name(i);
      if (delNames.includes(n) || addNames.includes(n)) continue;
      fn(n, base.value(i));
    }
    for (let i = 0; i < addNames.length; i++) fn(addNames[i], addValues[i]);
  }

  /** Reports whether nothing was set or deleted since the last reset. */
  unchanged(): boolean {
    return this.addNames.length === 0 && this.delNames.length === 0;
  }

  /** The resulting label set; the base itself when nothing changed. */
  labels(): Labels {
    if (this.unchanged()) return this.base;
    const pairs: string[] = [];
    const base = this.base;
    for (let i = 0; i < base.size; i++) {
      const n = base.name(i);
      if (this.delNames.includes(n) || this.addNames.includes(n)) continue;
      pairs.push(n, base.value(i));
    }
    if (this.addNames.length === 0) return Labels.fromSortedPairs(pairs);
    const idx = this.addNames
      .map((_, i) => i)
      .sort((a, b) => (this.addNames[a] < this.addNames[b] ? -1 : 1));
    // Merge the sorted base remainder with the sorted additions.
    const out: string[] = [];
    let b = 0;
    for (const i of idx) {
      const n = this.addNames[i];
      while (b < pairs.length && pairs[b] < n) {
        out.push(pairs[b], pairs[b + 1]);
        b += 2;
      }
      out.push(n, this.addValues[i]);
    }
    for (; b < pairs.length; b += 2) out.push(pairs[b], pairs[b + 1]);
    return Labels.fromSortedPairs(out);
  }
}

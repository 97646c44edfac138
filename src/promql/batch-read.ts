/**
 * Reading a series' samples a decoded chunk at a time, through the optional
 * {@link SampleIterator.readBatch}: one call per chunk copies its samples into the
 * caller's typed arrays, instead of three iterator calls per sample.
 * @module
 */

import { isStaleNaN } from '../model/stale.js';
import type { SampleIterator } from '../storage/interface.js';

/** Growable scratch arrays one series at a time is read into. */
export interface SampleScratch {
  ts: Float64Array<ArrayBuffer>;
  vs: Float64Array<ArrayBuffer>;
}

/**
 * Reads the samples of `it` in `[mint, maxt]` into `buf` from index `at` (growing its
 * arrays by doubling, keeping `[0, at)`), and returns the new end index. The iterator must
 * have {@link SampleIterator.readBatch}. Stale markers are dropped when `dropStale`
 * (range selectors never see them). Throws the iterator's error.
 */
export function readBatched(
  it: SampleIterator,
  mint: number,
  maxt: number,
  dropStale: boolean,
  buf: SampleScratch,
  at: number,
): number {
  const from = at;
  let n = at;
  for (let vt = it.seek(mint); vt !== 0; vt = it.next()) {
    if (n === buf.ts.length) grow(buf, n);
    const c = it.readBatch!(maxt, buf.ts, buf.vs, n);
    if (c === 0) break;
    n += c;
  }
  const err = it.err();
  if (err) throw err;
  return dropStale ? dropStaleMarkers(buf.ts, buf.vs, from, n) : n;
}

/** {@link SampleScratch} with room for start timestamps. */
export interface SeriesScratch extends SampleScratch {
  st: Float64Array<ArrayBuffer>;
}

/**
 * Reads one series' samples in `[mint, maxt]` into `buf` from index 0 and returns their
 * count: a chunk at a time when the iterator can, else sample by sample, with the start
 * timestamps into `buf.st` when the iterator has them (`it.atST`). Stale markers are
 * dropped when `dropStale`. Throws the iterator's error.
 */
export function readSeries(
  it: SampleIterator,
  mint: number,
  maxt: number,
  dropStale: boolean,
  buf: SeriesScratch,
): number {
  const withST = it.atST !== undefined;
  if (!withST && it.readBatch !== undefined) return readBatched(it, mint, maxt, dropStale, buf, 0);
  let n = 0;
  for (let vt = it.seek(mint); vt !== 0; vt = it.next()) {
    const t = it.atT();
    if (t > maxt) break;
    const v = it.atV();
    if (dropStale && v !== v && isStaleNaN(v)) continue;
    if (n === buf.ts.length) grow(buf, n);
    buf.ts[n] = t;
    buf.vs[n] = v;
    if (withST) {
      if (n === buf.st.length) {
        const st = new Float64Array(buf.st.length * 2);
        st.set(buf.st);
        buf.st = st;
      }
      buf.st[n] = it.atST!();
    }
    n++;
  }
  const err = it.err();
  if (err) throw err;
  return n;
}

/** Whether `vs[from, to)` holds a stale marker. */
export function hasStaleMarker(vs: Float64Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const v = vs[i];
    if (v !== v && isStaleNaN(v)) return true;
  }
  return false;
}

/** Removes stale markers from `[from, to)` of the parallel arrays; returns the new end. */
export function dropStaleMarkers(
  ts: Float64Array,
  vs: Float64Array,
  from: number,
  to: number,
): number {
  let i = from;
  while (i < to && !(vs[i] !== vs[i] && isStaleNaN(vs[i]))) i++;
  let out = i;
  for (; i < to; i++) {
    const v = vs[i];
    if (v !== v && isStaleNaN(v)) continue;
    ts[out] = ts[i];
    vs[out] = v;
    out++;
  }
  return out;
}

function grow(buf: SampleScratch, keep: number): void {
  const size = Math.max(1024, buf.ts.length * 2);
  const ts = new Float64Array(size);
  ts.set(buf.ts.subarray(0, keep));
  const vs = new Float64Array(size);
  vs.set(buf.vs.subarray(0, keep));
  buf.ts = ts;
  buf.vs = vs;
}

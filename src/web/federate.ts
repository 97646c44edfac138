/**
 * `/federate`, as Prometheus 2.42's `web/federate.go`: the union of the `match[]`
 * selectors, each series' newest sample in `[now − lookback, now]`, stale series left out,
 * external labels (and `instance=""`) appended where missing, families sorted by name and
 * typed `untyped`, text 0.0.4 only.
 *
 * Unlike Prometheus, which gathers every sample into one vector and sorts it, this streams:
 * the select is sorted by labels, so series whose first label is `__name__` arrive grouped
 * by metric name in name order. The only series that sort elsewhere are those with a label
 * name below `__name__` (upper case, say); they all come first in the stream, so they are
 * held aside and written when their family comes up. The output goes out in pieces with the
 * writer's `flushTo`, which waits for the socket to drain.
 * @module
 */

import { ExpositionWriter, type ByteSink } from '../exposition/index.js';
import {
  isStaleNaN,
  isValidMetricName,
  METRIC_NAME,
  type Labels,
  type Matcher,
} from '../model/index.js';
import { ValueType, type Queryable, type SampleIterator } from '../storage/interface.js';
import { selectUnion } from './api/v1/api.js';

const FLUSH_BYTES = 256 * 1024;

/** What a federation request needs besides the matchers. */
export interface FederateOptions {
  queryable: Queryable;
  /** Request time (ms). */
  now: number;
  lookbackDeltaMs: number;
  /** `global.external_labels`. */
  externalLabels: Record<string, string>;
}

/** Counts of what one federation answer held. */
export interface FederateStats {
  series: number;
  families: number;
}

/** One series held aside until its family is written. */
interface Held {
  labels: Labels;
  t: number;
  v: number;
}

/**
 * Writes the federation answer for `matcherSets` to `sink` as text 0.0.4. Resolves once
 * everything was handed to the sink (the caller ends the response).
 */
export async function writeFederation(
  sink: ByteSink,
  matcherSets: readonly Matcher[][],
  o: FederateOptions,
): Promise<FederateStats> {
  const stats: FederateStats = { series: 0, families: 0 };
  if (matcherSets.length === 0) return stats;
  // The external labels, with instance="" unless one is configured, sorted by name.
  const ext: Record<string, string> = { ...o.externalLabels };
  if (!('instance' in ext)) ext.instance = '';
  const extNames = Object.keys(ext).sort();

  const mint = o.now - o.lookbackDeltaMs;
  const maxt = o.now;
  const q = await o.queryable.querier(mint, maxt);
  try {
    const ss = selectUnion(q, matcherSets, { start: mint, end: maxt, step: 0, func: '', range: 0 });
    const w = new ExpositionWriter('text');
    const pairs: string[] = [];
    const heldByName = new Map<string, Held[]>();
    let family = '';
    let it: SampleIterator | undefined = undefined;
    let badName = '';

    const writeSeries = (ls: Labels, t: number, v: number): void => {
      pairs.length = 0;
      for (let i = 0; i < ls.size; i++) {
        const n = ls.name(i);
        if (n !== METRIC_NAME) pairs.push(n, ls.value(i));
      }
      for (const n of extNames) if (!ls.has(n)) pairs.push(n, ext[n]);
      w.sample(ls.metricName(), pairs, v, t);
      stats.series++;
    };
    const startFamily = (name: string): void => {
      w.family(name, 'untyped');
      family = name;
      stats.families++;
    };
    /** Writes held families whose name sorts before `upTo` (all of them for null). */
    const writeHeldBefore = (upTo: string | null): void => {
      if (heldByName.size === 0) return;
      for (const name of [...heldByName.keys()].sort()) {
        if (upTo !== null && name >= upTo) break;
        startFamily(name);
        for (const h of heldByName.get(name)!) writeSeries(h.labels, h.t, h.v);
        heldByName.delete(name);
      }
    };

    while (ss.next()) {
      const s = ss.at();
      const ls = s.labels;
      const name = ls.metricName();
      // Nameless series are skipped, as are names the text format cannot carry (one bad
      // series must not cut off the whole answer).
      if (name === '' || name === badName) continue;
      if (name !== family && !isValidMetricName(name)) {
        badName = name;
        continue;
      }
      // Newest sample at or before now within the window.
      it = s.iterator(it);
      let vt = it.seek(mint);
      let t = 0;
      let v = 0;
      let found = false;
      while (vt !== ValueType.None) {
        const st = it.atT();
        if (st > maxt) break;
        t = st;
        v = it.atV();
        found = true;
        vt = it.next();
      }
      if (!found || isStaleNaN(v)) continue;
      if (ls.size > 0 && ls.name(0) !== METRIC_NAME) {
        let l = heldByName.get(name);
        if (l === undefined) heldByName.set(name, (l = []));
        l.push({ labels: ls, t, v });
        continue;
      }
      if (name !== family) {
        writeHeldBefore(name);
        startFamily(name);
        const held = heldByName.get(name);
        if (held !== undefined) {
          for (const h of held) writeSeries(h.labels, h.t, h.v);
          heldByName.delete(name);
        }
      }
      writeSeries(ls, t, v);
      if (w.size >= FLUSH_BYTES) await w.flushTo(sink);
    }
    const err = ss.err();
    if (err !== null) throw err;
    writeHeldBefore(null);
    await w.flushTo(sink);
  } finally {
    q.close();
  }
  return stats;
}

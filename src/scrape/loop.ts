/**
 * The scrape loop of one target (Prometheus `scrapeLoop`): fetch, then parse and append in
 * one pass through the scrape cache, then the report series, all in one commit; stale
 * markers for series that disappeared; rollback and `up=0` when anything fails the scrape.
 *
 * ```
 *  tick ─▶ fetch (timeout, body limit) ─▶ parse+append (cache, limits) ─▶ staleness ─▶ report ─▶ commit
 *             │ error                        │ error: rollback
 *             └──────────────▶ empty scrape: stale markers for the last good series ─▶ report up=0
 * ```
 * @module
 */

import type { CompiledRelabelConfig } from '../relabel/index.js';
import { relabel, RelabelBuilder } from '../relabel/index.js';
import { EntryType, ExpositionParser, parserFormatFor } from '../exposition/index.js';
import { PromError } from '../model/errors.js';
import { Labels, LabelsBuilder, METRIC_NAME } from '../model/labels.js';
import { STALE_NAN } from '../model/stale.js';
import {
  ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP,
  ERR_NOT_FOUND,
  ERR_OUT_OF_BOUNDS,
  ERR_OUT_OF_ORDER_SAMPLE,
} from '../storage/errors.js';
import type { Appendable, Appender, SeriesRef } from '../storage/interface.js';
import { CachedSeries, CacheEntry, ScrapeCache } from './cache.js';
import { ScrapeError, type FetchResult } from './http.js';
import type { Logger } from './log.js';
import type { MetadataStore } from './metadata.js';
import type { ScrapeMetrics } from './metrics.js';
import type { Target } from './target.js';

/** Fetches a target's body; the HTTP implementation is {@link TargetFetcher}. */
export interface Fetcher {
  /** The body stays valid until {@link release} or the next fetch. */
  fetch(signal: AbortSignal): Promise<FetchResult>;
  /** Called once the last body is parsed: the fetcher may reuse its memory. */
  release?(): void;
  /** The loop has stopped: close what the fetcher keeps open (its connection). */
  close?(): void;
}

/** Per-scrape limits of a job; 0 means no limit. */
export interface ScrapeLimits {
  sampleLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
}

/** Everything a loop needs; the pool builds it from the job's config. */
export interface ScrapeLoopOptions {
  target: Target;
  appendable: Appendable;
  fetcher: Fetcher;
  honorLabels: boolean;
  honorTimestamps: boolean;
  metricRelabel: readonly CompiledRelabelConfig[];
  limits: ScrapeLimits;
  metrics: ScrapeMetrics;
  logger: Logger;
  /** Per-process seed mixed into the target's offset. */
  jitterSeed: number;
  /** Wall clock in ms; injectable for tests. */
  now?: () => number;
}

/** What a loop does with its series when it stops. */
export type StopStaleness =
  /** Write nothing (Prometheus's behaviour on shutdown). */
  | 'none'
  /** Write stale markers now, at the current time. */
  | 'now'
  /**
   * As Prometheus when a target goes away: wait until about two intervals and 10 % after
   * the last scrape, then write markers stamped at the next scrape time. If the target came
   * back meanwhile, its new samples are newer and the late markers are rejected as out of order.
   */
  | 'delayed';

/** Counts of one scrape, reported as `scrape_*` series. */
interface AppendCounts {
  total: number;
  added: number;
  seriesAdded: number;
}

const REPORT_NAMES = [
  'up',
  'scrape_duration_seconds',
  'scrape_samples_scraped',
  'scrape_samples_post_metric_relabeling',
  'scrape_series_added',
] as const;

const EMPTY_BODY = Buffer.alloc(0);

/** Outcomes of {@link ScrapeLoop.appendPending}. */
const PENDING_APPENDED = 0;
const PENDING_DUPLICATE = 1;
const PENDING_REJECTED = 2;
const EXPORTED_PREFIX = 'exported_';

/** A scrape loop; see the module comment. Start it once, stop it once. */
export class ScrapeLoop {
  readonly target: Target;
  private readonly appendable: Appendable;
  private readonly fetcher: Fetcher;
  private readonly honorLabels: boolean;
  private readonly honorTimestamps: boolean;
  private readonly metricRelabel: readonly CompiledRelabelConfig[];
  private readonly limits: ScrapeLimits;
  private readonly metrics: ScrapeMetrics;
  private readonly logger: Logger;
  private readonly jitterSeed: number;
  private readonly now: () => number;

  readonly cache = new ScrapeCache();
  private textParser: ExpositionParser<CacheEntry> | null = null;
  private omParser: ExpositionParser<CacheEntry> | null = null;
  /** The parser that read the last committed body (the one the cache's lines come from). */
  private committedParser: ExpositionParser<CacheEntry> | null = null;
  private readonly relabelBuilder = new RelabelBuilder();
  private readonly labelsBuilder = new LabelsBuilder();
  private readonly reportLabels: Labels[];
  private readonly reportRefs: SeriesRef[] = [0, 0, 0, 0, 0];
  private readonly staleScratch: CachedSeries[] = [];

  /** Set by the pool when target_limit is exceeded: every scrape fails with it. */
  forcedError: string | null = null;
  /** Duplicate lines dropped in the last scrape (same series, same timestamp). */
  lastDuplicates = 0;

  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly abort = new AbortController();
  private stopped = false;
  /** Scheduled time of the next scrape (ms). */
  private nextAt = 0;

  constructor(o: ScrapeLoopOptions) {
    this.target = o.target;
    this.appendable = o.appendable;
    this.fetcher = o.fetcher;
    this.honorLabels = o.honorLabels;
    this.honorTimestamps = o.honorTimestamps;
    this.metricRelabel = o.metricRelabel;
    this.limits = o.limits;
    this.metrics = o.metrics;
    this.logger = o.logger;
    this.jitterSeed = o.jitterSeed;
    this.now = o.now ?? Date.now;
    this.reportLabels = REPORT_NAMES.map((n) => {
      const b = new LabelsBuilder().reset(o.target.labels);
      return b.set(METRIC_NAME, n).labels();
    });
  }

  /** Schedules the first scrape at the target's offset within the interval. */
  start(): void {
    if (this.stopped || this.timer !== null) return;
    const now = this.now();
    const delay = this.target.offsetMs(now, this.jitterSeed);
    this.nextAt = now + delay;
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    const scheduled = this.nextAt;
    // A tick that fires half the timeout late finds the event loop that far behind: a
    // scrape started now would likely time out and throw its work away, adding to the
    // backlog. Skipping it (as a tick is skipped while a slow scrape runs) lets the scrapes
    // in flight finish, so an overloaded collector stores what it can instead of collapsing.
    // Half, not less: a short pause (a GC, a reload) must not cost a sample.
    const late = this.now() - scheduled;
    if (late > this.target.timeoutMs / 2 && this.target.lastScrapeMs !== 0) {
      this.metrics.scrapesSkippedLate++;
      this.scheduleAfter(scheduled);
      return;
    }
    this.running = this.scrapeAndReport().finally(() => {
      this.running = null;
      if (this.stopped) return;
      this.scheduleAfter(scheduled);
    });
  }

  /**
   * Schedules the next tick at the next slot after now, on the grid of this target's
   * offset: a slow or skipped scrape skips ticks rather than bunching them, as Go's ticker does.
   */
  private scheduleAfter(scheduled: number): void {
    const interval = this.target.intervalMs;
    const now = this.now();
    let next = scheduled + interval;
    if (next <= now) next += Math.ceil((now - next + 1) / interval) * interval;
    this.nextAt = next;
    this.timer = setTimeout(() => this.tick(), next - now);
  }

  /**
   * Stops the loop: no new scrape starts, an in-flight one is aborted (and writes nothing).
   * Resolves once the chosen staleness handling is done. `signal` cuts a 'delayed' wait
   * short, the markers then being written at once.
   */
  async stop(staleness: StopStaleness, signal?: AbortSignal): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    if (this.running !== null) await this.running;
    this.fetcher.close?.();
    if (staleness === 'none' || this.target.lastScrapeMs === 0) return;
    let staleAt = this.now();
    if (staleness === 'delayed') {
      const interval = this.target.intervalMs;
      staleAt = this.target.lastScrapeMs + interval;
      const until = this.target.lastScrapeMs + 2 * interval + interval / 10;
      await sleepUntil(until - this.now(), signal);
    }
    await this.writeEndOfRunStaleness(staleAt);
  }

  /** Stale markers for every series of the last successful scrape and for the report series. */
  private async writeEndOfRunStaleness(t: number): Promise<void> {
    const app = this.appendable.appender();
    this.cache.beginIteration();
    this.appendStaleMarkers(app, t);
    this.cache.endIteration(false);
    for (let i = 0; i < this.reportLabels.length; i++) this.appendReport(app, i, t, STALE_NAN);
    try {
      await app.commit();
    } catch (err) {
      this.logger('warn', 'Writing stale markers failed', { target: this.target.scrapeUrl, err });
    }
  }

  /**
   * One scrape: fetch, append, report, commit. Never throws: failures go to the target's
   * health and the log. Exposed for tests and for one-off scrapes.
   */
  async scrapeAndReport(): Promise<void> {
    const target = this.target;
    const start = this.now();
    let err: Error | null = null;
    let res: FetchResult | null = null;
    if (this.forcedError !== null)
      err = new ScrapeError('ERR_SCRAPE_TARGET_LIMIT', this.forcedError);
    else {
      try {
        res = await this.fetcher.fetch(this.abort.signal);
      } catch (e) {
        err = e as Error;
      }
    }
    if (this.stopped) {
      this.fetcher.release?.();
      return; // aborted by stop(): a shutdown is not a failed scrape
    }
    let app = this.appendable.appender();
    const counts: AppendCounts = { total: 0, added: 0, seriesAdded: 0 };
    if (err === null && res !== null) {
      try {
        this.appendBody(app, res.body, res.contentType, start, counts);
      } catch (e) {
        err = e as Error;
        app.rollback();
        app = this.appendable.appender();
      }
    }
    // The body is parsed (the parser let it go): its buffer can serve another target.
    this.fetcher.release?.();
    if (err !== null) {
      // An empty scrape: every series of the last good scrape goes stale.
      this.appendBody(app, EMPTY_BODY, '', start, { total: 0, added: 0, seriesAdded: 0 });
    }
    const durationMs = this.now() - start;
    const up = err === null ? 1 : 0;
    this.appendReport(app, 0, start, up);
    this.appendReport(app, 1, start, durationMs / 1000);
    this.appendReport(app, 2, start, counts.total);
    this.appendReport(app, 3, start, counts.added);
    this.appendReport(app, 4, start, counts.seriesAdded);
    try {
      await app.commit();
    } catch (e) {
      if (err === null) err = e as Error;
    }
    target.lastScrapeMs = start;
    target.lastScrapeDurationMs = durationMs;
    target.health = err === null ? 'up' : 'down';
    target.lastError = err === null ? '' : err.message;
    this.metrics.scrapes++;
    if (err !== null) {
      this.metrics.scrapesFailed++;
      if (errorCode(err) === 'ERR_SCRAPE_BODY_SIZE_LIMIT') this.metrics.exceededBodySizeLimit++;
      this.logger('debug', 'Scrape failed', { target: target.scrapeUrl, err });
    }
  }

  /** Appends one report series, ignoring rejections (a restarted loop may be behind). */
  private appendReport(app: Appender, i: number, t: number, v: number): void {
    try {
      this.reportRefs[i] = app.append(this.reportRefs[i], this.reportLabels[i], t, v);
    } catch (e) {
      if (!isSampleRejection(e)) throw e;
    }
  }

  /**
   * The hot path: parses `body` and appends every sample through the cache, then stale
   * markers for the series that disappeared. Throws (leaving `app` to be rolled back) on
   * a parse error, a limit, or a sample without a metric name after relabeling; `counts`
   * holds what was parsed until then.
   */
  appendBody(
    app: Appender,
    body: Buffer,
    contentType: string,
    ts: number,
    counts: AppendCounts,
  ): void {
    const cache = this.cache;
    const iter = cache.beginIteration(body);
    const honorTs = this.honorTimestamps;
    const sampleLimit = this.limits.sampleLimit;
    const metrics = this.metrics;
    let total = 0;
    let added = 0;
    let seriesAdded = 0;
    let duplicates = 0;
    let p: ExpositionParser<CacheEntry> | null = null;
    try {
      if (body.length > 0) {
        p = this.parserFor(contentType, body);
        for (let et = p.next(); et !== EntryType.EOF; et = p.next()) {
          if (et !== EntryType.Series) {
            if (et !== EntryType.Comment) recordMetadata(cache.metadata, p, et, iter);
            continue;
          }
          total++;
          // Text mode finds the entry of a line that repeats the last body's by its index,
          // or of a known line from its end, with no label scan (p.known()).
          let e = p.known();
          let isNew = false;
          const keyStart = p.seriesKeyStart();
          if (e === undefined) {
            const keyEnd = p.seriesKeyEnd();
            e = cache.getRange(body, keyStart, keyEnd);
            if (e === undefined) {
              e = this.newEntry(p, keyStart, keyEnd);
              isNew = true;
            }
          }
          cache.noteLine(e, keyStart);
          if (e.lastIter !== iter) {
            e.lastIter = iter;
            cache.seenEntries++;
          }
          let s = e.series;
          if (s === null) continue; // dropped by metric_relabel_configs
          if (s.mergedInto !== null) s = e.series = s.mergedInto;
          added++;
          if (sampleLimit > 0 && added > sampleLimit) continue; // keep counting for the message
          let t = ts;
          let explicitTs = false;
          if (honorTs) {
            const pt = p.timestamp();
            if (pt !== null) {
              t = pt;
              explicitTs = true;
            }
          }
          if (s.ref === 0) {
            // Pending: the first append gives the ref (and may reveal an alias) before the
            // duplicate and staleness bookkeeping.
            const r = this.appendPending(app, e, s, t, p.value(), explicitTs);
            if (r === PENDING_DUPLICATE) duplicates++;
            else if (r === PENDING_APPENDED && isNew) seriesAdded++;
            continue;
          }
          if (s.lastIter === iter) {
            if (s.lastT === t) {
              // The same series twice in one scrape: the first value stays.
              duplicates++;
              metrics.sampleDuplicateTimestamp++;
              continue;
            }
          } else {
            s.lastIter = iter;
            cache.seenSeries++;
            if (!explicitTs) cache.track(s);
          }
          s.lastT = t;
          try {
            s.ref = app.append(s.ref, Labels.EMPTY, t, p.value());
            if (isNew) seriesAdded++;
          } catch (err) {
            if (err === ERR_NOT_FOUND) this.appendLost(app, s, p, t);
            else if (!this.countRejection(err)) throw err;
          }
        }
      }
      if (sampleLimit > 0 && added > sampleLimit) {
        metrics.exceededSampleLimit++;
        throw new ScrapeError(
          'ERR_SCRAPE_SAMPLE_LIMIT',
          `sample_limit exceeded: ${added} samples after metric relabeling, limit ${sampleLimit}`,
        );
      }
      this.appendStaleMarkers(app, ts);
      if (p !== null) {
        // The parser and the cache take this body as the remembered one together (a scrape
        // that fails keeps the last good one in both).
        p.rememberBody();
        cache.endIteration(true, p.rememberedBody());
        this.committedParser = p;
      } else cache.endIteration(false);
    } finally {
      // The parser outlives the scrape: let the body go (it keeps its own copy).
      p?.reset(EMPTY_BODY);
      counts.total = total;
      counts.added = added;
      counts.seriesAdded = seriesAdded;
      this.lastDuplicates = duplicates;
    }
  }

  /**
   * Appends the sample of a pending series (no ref yet) by its labels, resolves the ref,
   * then does the bookkeeping of the series it turned out to be: a repeat in this scrape
   * at the same timestamp is counted as a duplicate (the storage keeps the first sample of
   * a batch), otherwise it is marked seen and tracked for staleness.
   */
  private appendPending(
    app: Appender,
    e: CacheEntry,
    s: CachedSeries,
    t: number,
    v: number,
    explicitTs: boolean,
  ): number {
    const cache = this.cache;
    const iter = cache.iter;
    let ref: SeriesRef;
    try {
      ref = app.append(0, s.labels!, t, v);
    } catch (err) {
      if (!this.countRejection(err)) throw err;
      if (s.lastIter !== iter) {
        s.lastIter = iter;
        cache.seenSeries++;
      }
      return PENDING_REJECTED;
    }
    const x = cache.resolve(s, ref);
    e.series = x;
    if (x.lastIter === iter) {
      if (x.lastT === t) {
        this.metrics.sampleDuplicateTimestamp++;
        return PENDING_DUPLICATE;
      }
    } else {
      x.lastIter = iter;
      cache.seenSeries++;
      if (!explicitTs) cache.track(x);
    }
    x.lastT = t;
    return PENDING_APPENDED;
  }

  /**
   * The storage no longer knows the ref of series `s` (it dropped the series): rebuilds
   * the labels from the current line and appends by them, as on first sight.
   */
  private appendLost(
    app: Appender,
    s: CachedSeries,
    p: ExpositionParser<CacheEntry>,
    t: number,
  ): void {
    const lset = this.seriesLabels(p);
    if (lset === null) return;
    try {
      s.ref = app.append(0, lset, t, p.value());
    } catch (err) {
      if (!this.countRejection(err)) throw err;
      s.ref = 0;
      s.labels = lset;
    }
  }

  /** Stale markers at `t` for the series of the previous scrape not seen in this one. */
  private appendStaleMarkers(app: Appender, t: number): void {
    const gone = this.cache.disappeared(this.staleScratch);
    for (let i = 0; i < gone.length; i++) {
      const s = gone[i];
      try {
        s.ref = app.append(s.ref, s.labels ?? Labels.EMPTY, t, STALE_NAN);
      } catch (err) {
        // A series the storage dropped needs no marker.
        if (err !== ERR_NOT_FOUND && !isSampleRejection(err)) throw err;
      }
    }
    gone.length = 0;
  }

  /** Counts a per-sample rejection by kind; false for any other error. */
  private countRejection(err: unknown): boolean {
    if (err === ERR_OUT_OF_ORDER_SAMPLE) this.metrics.sampleOutOfOrder++;
    else if (err === ERR_OUT_OF_BOUNDS) this.metrics.sampleOutOfBounds++;
    else if (err === ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP) this.metrics.sampleDuplicateTimestamp++;
    else return false;
    return true;
  }

  private parserFor(contentType: string, body: Buffer): ExpositionParser<CacheEntry> {
    let p: ExpositionParser<CacheEntry>;
    if (parserFormatFor(contentType) === 'openmetrics') {
      if (this.omParser === null) {
        this.omParser = new ExpositionParser<CacheEntry>(body, {
          format: 'openmetrics',
          strict: false,
        });
        this.omParser.setAutoRemember(false);
      } else this.omParser.reset(body);
      p = this.omParser;
    } else {
      if (this.textParser === null) {
        this.textParser = new ExpositionParser<CacheEntry>(body, { format: 'text' });
        this.textParser.setAutoRemember(false);
      } else this.textParser.reset(body);
      p = this.textParser;
      // A first scrape finds nothing from the end of a line: go straight to the forward parse.
      p.setKnownKeys(this.cache.size > 0 ? this.cache : null);
    }
    // The cache's entries by line are those of the body the committed parser remembers.
    if (p !== this.committedParser) p.forgetBody();
    return p;
  }

  /**
   * The slow path, on a cache miss: full labels, target labels merged in, metric
   * relabeling, label limits. Throws a ScrapeError that fails the scrape when the series
   * has no metric name or breaks a label limit; such a line is not cached.
   */
  private newEntry(p: ExpositionParser<CacheEntry>, keyStart: number, keyEnd: number): CacheEntry {
    const lset = this.seriesLabels(p);
    if (lset === null) return this.cache.add(null, keyStart, keyEnd);
    if (!lset.has(METRIC_NAME)) {
      throw new ScrapeError(
        'ERR_SCRAPE_NO_NAME',
        `metric name label missing after relabeling: ${lset.toString()}`,
      );
    }
    this.checkLabelLimits(lset);
    return this.cache.add(this.cache.seriesFor(lset), keyStart, keyEnd);
  }

  /**
   * The labels of the current line after target labels and metric relabeling; null when
   * relabeling dropped the series.
   */
  private seriesLabels(p: ExpositionParser<CacheEntry>): Labels | null {
    let lset: Labels | null = this.mutateSampleLabels(p.labels(), p);
    if (this.metricRelabel.length > 0)
      lset = relabel(lset, this.metricRelabel, this.relabelBuilder);
    return lset === null || lset.size === 0 ? null : lset;
  }

  /** Merges the target labels into exposed ones, as Prometheus's `mutateSampleLabels`. */
  private mutateSampleLabels(exposed: Labels, p: ExpositionParser<CacheEntry>): Labels {
    const target = this.target.labels;
    const lb = this.labelsBuilder.reset(exposed);
    if (this.honorLabels) {
      // A label the body wrote empty counts as exposed: 2.42 neither adds the target's
      // value nor keeps the empty one (`instance=""` leaves the series without instance).
      for (let i = 0; i < target.size; i++) {
        const name = target.name(i);
        if (!exposed.has(name) && !p.exposedEmpty(name)) lb.set(name, target.value(i));
      }
      return lb.labels();
    }
    let conflicts: [string, string][] | null = null;
    for (let i = 0; i < target.size; i++) {
      const name = target.name(i);
      const existing = exposed.get(name);
      if (existing !== '') (conflicts ??= []).push([name, existing]);
      lb.set(name, target.value(i));
    }
    if (conflicts !== null) {
      // Shortest name first (stable); each takes `exported_` prefixes until the name is
      // free among exposed labels, target labels and the conflicts already renamed.
      conflicts.sort((a, b) => a[0].length - b[0].length);
      for (let i = 0; i < conflicts.length; i++) {
        let newName = conflicts[i][0];
        for (;;) {
          newName = EXPORTED_PREFIX + newName;
          let taken = exposed.has(newName) || target.has(newName);
          for (let j = 0; j < i && !taken; j++) taken = conflicts[j][0] === newName;
          if (!taken) break;
        }
        conflicts[i][0] = newName;
        lb.set(newName, conflicts[i][1]);
      }
    }
    return lb.labels();
  }

  /** label_limit, label_name_length_limit, label_value_length_limit (Prometheus's messages). */
  private checkLabelLimits(lset: Labels): void {
    const { labelLimit, labelNameLengthLimit, labelValueLengthLimit } = this.limits;
    if (labelLimit === 0 && labelNameLengthLimit === 0 && labelValueLengthLimit === 0) return;
    const met = lset.get(METRIC_NAME).slice(0, 50);
    const fail = (msg: string): never => {
      this.metrics.exceededLabelLimits++;
      throw new ScrapeError('ERR_SCRAPE_LABEL_LIMIT', msg);
    };
    if (labelLimit > 0 && lset.size > labelLimit) {
      fail(
        `label_limit exceeded (metric: ${met}, number of labels: ${lset.size}, limit: ${labelLimit})`,
      );
    }
    for (let i = 0; i < lset.size; i++) {
      const name = lset.name(i);
      const value = lset.value(i);
      const nameLen = Buffer.byteLength(name);
      if (labelNameLengthLimit > 0 && nameLen > labelNameLengthLimit) {
        fail(
          `label_name_length_limit exceeded (metric: ${met}, label name: ${name.slice(0, 50)}, length: ${nameLen}, limit: ${labelNameLengthLimit})`,
        );
      }
      const valueLen = Buffer.byteLength(value);
      if (labelValueLengthLimit > 0 && valueLen > labelValueLengthLimit) {
        fail(
          `label_value_length_limit exceeded (metric: ${met}, label name: ${name.slice(0, 50)}, value: ${JSON.stringify(value.slice(0, 50))}, length: ${valueLen}, limit: ${labelValueLengthLimit})`,
        );
      }
    }
  }
}

/** Records a TYPE, HELP or UNIT entry in the target's metadata, as Prometheus's scrape loop. */
function recordMetadata(
  md: MetadataStore,
  p: ExpositionParser<CacheEntry>,
  et: EntryType,
  iter: number,
): void {
  if (et === EntryType.Type) md.setType(p.family(), p.type(), iter);
  else if (et === EntryType.Help) md.setHelp(p.family(), p.help(), iter);
  else if (et === EntryType.Unit) md.setUnit(p.family(), p.unit(), iter);
}

/** True for the per-sample rejections that never fail a scrape. */
export function isSampleRejection(err: unknown): boolean {
  return (
    err === ERR_OUT_OF_ORDER_SAMPLE ||
    err === ERR_OUT_OF_BOUNDS ||
    err === ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP
  );
}

/** Resolves after `ms` (at once when ≤ 0), or early when `signal` aborts. */
function sleepUntil(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Whether an error is one of ours (for logs that want the code). */
export function errorCode(err: unknown): string {
  return err instanceof PromError ? err.code : 'ERR_UNKNOWN';
}

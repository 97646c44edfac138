/**
 * The Prometheus HTTP API, `/api/v1/*`, as Prometheus 2.42's `web/api/v1/api.go`: the
 * envelope, error types and their status codes, parameter parsing with its messages, and
 * the result shapes. Handlers return an {@link ApiResult}; the server writes it.
 * @module
 */

import { QueryError } from '../../../model/errors.js';
import { isValidLabelName, Labels, Matcher } from '../../../model/index.js';
import {
  Engine,
  parseExpr,
  PromQLParseError,
  type Expr,
  type QueryResult,
} from '../../../promql/index.js';
import { MergeSeriesSet } from '../../../storage/merge.js';
import type { Querier, Queryable, SelectHints, SeriesSet } from '../../../storage/interface.js';
import {
  formatJsonTimestamp,
  formatJsonValue,
  formatRFC3339Nano,
  formatScalarTimestamp,
  formatScalarValue,
} from '../../format.js';
import type {
  HeadStatsSource,
  MetadataRetriever,
  TargetRetriever,
  TSDBAdmin,
  WalReplayStatus,
} from '../../interfaces.js';
import { jsonString, type JsonOut } from '../../json-out.js';
import {
  MAX_TIME_MS,
  MIN_TIME_MS,
  ParamError,
  parseDuration,
  parseTime,
  type Params,
} from '../../params.js';
import { formatPromDuration } from '../../promql-print.js';
import { prettyExpr } from '../../promql-pretty.js';
import { hasNonEmptyMatcher, parseMetricSelector } from '../../selector.js';

/** Most points a range query may return per series (`(end-start)/step`, integer division). */
export const MAX_POINTS = 11000;

/** What a handler produced. */
export type ApiResult =
  | { kind: 'data'; data: unknown; warnings?: readonly string[]; infos?: readonly string[] }
  | {
      kind: 'stream';
      /** Writes the `data` value. */
      write: (out: JsonOut) => Promise<void>;
      warnings?: readonly string[];
      infos?: readonly string[];
    }
  | { kind: 'noContent' };

/** HTTP status of each errorType, as 2.42 (`unavailable` falls to the 500 default). */
export function statusOfErrorType(t: string): number {
  switch (t) {
    case 'bad_data':
      return 400;
    case 'execution':
      return 422;
    case 'canceled':
    case 'timeout':
      return 503;
    case 'not_found':
      return 404;
    case 'not_acceptable':
      return 406;
    default:
      return 500;
  }
}

/** Build facts for `/status/buildinfo`. */
export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  goVersion: string;
}

/** What the API reads; everything but `queryable` and `engine` is optional. */
export interface ApiOptions {
  queryable: Queryable;
  engine: Engine;
  now?: () => number;
  targets?: TargetRetriever | null;
  metadata?: MetadataRetriever | null;
  head?: HeadStatsSource | null;
  admin?: TSDBAdmin | null;
  enableAdminApi?: boolean;
  /** The configuration as `/status/config` shows it (YAML with defaults). */
  configYaml?: () => string;
  flags?: () => Record<string, string>;
  buildInfo?: BuildInfo;
  /** Extra facts of `/status/runtimeinfo` (reload state, retention). */
  runtimeInfo?: () => {
    reloadConfigSuccess: boolean;
    lastConfigTimeMs: number;
    storageRetention: string;
    corruptionCount?: number;
  };
  walReplay?: () => WalReplayStatus;
}

type Handler = (p: Params, signal: AbortSignal, pathArg: string) => Promise<ApiResult> | ApiResult;

/** One API route: its methods and handler. */
export interface ApiRoute {
  methods: readonly string[];
  handler: Handler;
}

const GET_POST = ['GET', 'POST'] as const;
const GET = ['GET'] as const;
const POST_PUT = ['POST', 'PUT'] as const;

function badData(message: string): QueryError {
  return new QueryError('bad_data', message);
}

function wrapParam(param: string, fn: () => number): number {
  try {
    return fn();
  } catch (e) {
    throw new ParamError(param, (e as Error).message);
  }
}

/** The `/api/v1` handlers over the objects passed in. */
export class Api {
  private readonly o: ApiOptions;
  private readonly now: () => number;
  private readonly startTimeMs: number;
  /** Routes by path below `/api/v1` (`/label/:name/values` is matched apart). */
  readonly routes: ReadonlyMap<string, ApiRoute>;
  readonly labelValuesRoute: ApiRoute;

  constructor(o: ApiOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.startTimeMs = Date.now();
    const r = new Map<string, ApiRoute>();
    const add = (path: string, methods: readonly string[], h: Handler): void => {
      r.set(path, { methods, handler: h });
    };
    add('/query', GET_POST, (p, s) => this.query(p, s));
    add('/query_range', GET_POST, (p, s) => this.queryRange(p, s));
    add('/query_exemplars', GET_POST, (p) => this.queryExemplars(p));
    add('/format_query', GET_POST, (p) => this.formatQuery(p));
    add('/series', GET_POST, (p) => this.series(p));
    add('/labels', GET_POST, (p) => this.labelNames(p));
    add('/metadata', GET, (p) => this.metricMetadata(p));
    add('/targets', GET, (p) => this.targets(p));
    add('/targets/metadata', GET, (p) => this.targetMetadata(p));
    add('/scrape_pools', GET, () => this.scrapePools());
    add('/rules', GET, () => ({ kind: 'data', data: { groups: [] } }));
    add('/alerts', GET, () => ({ kind: 'data', data: { alerts: [] } }));
    add('/alertmanagers', GET, () => ({
      kind: 'data',
      data: { activeAlertmanagers: [], droppedAlertmanagers: [] },
    }));
    add('/status/buildinfo', GET, () => ({
      kind: 'data',
      data: this.o.buildInfo ?? DEFAULT_BUILD_INFO,
    }));
    add('/status/config', GET, () => ({
      kind: 'data',
      data: { yaml: this.o.configYaml?.() ?? '' },
    }));
    add('/status/flags', GET, () => ({ kind: 'data', data: this.o.flags?.() ?? {} }));
    add('/status/runtimeinfo', GET, () => this.runtimeInfo());
    add('/status/tsdb', GET, () => this.tsdbStatus());
    add('/status/walreplay', GET, () => ({
      kind: 'data',
      data: this.o.walReplay?.() ?? { min: 0, max: 0, current: 0 },
    }));
    add('/admin/tsdb/delete_series', POST_PUT, (p) => this.deleteSeries(p));
    add('/admin/tsdb/clean_tombstones', POST_PUT, () => this.cleanTombstones());
    add('/admin/tsdb/snapshot', POST_PUT, (p) => this.snapshot(p));
    this.routes = r;
    this.labelValuesRoute = { methods: GET, handler: (p, _s, name) => this.labelValues(p, name) };
  }

  // --- queries -------------------------------------------------------------------------

  private async query(p: Params, signal: AbortSignal): Promise<ApiResult> {
    const t = p.time('time', this.now());
    const timeoutMs = this.timeoutParam(p);
    const q = p.get('query');
    let expr: Expr;
    try {
      expr = parseExpr(q, { stepMs: 0, rangeMs: 0 });
    } catch (e) {
      if (e instanceof PromQLParseError) throw new ParamError('query', e.message);
      throw e;
    }
    const started = performance.now();
    const res = await this.run(q, expr, t, t, 0, timeoutMs, signal);
    return this.queryResult(res, p.get('stats') !== '', performance.now() - started);
  }

  private async queryRange(p: Params, signal: AbortSignal): Promise<ApiResult> {
    const start = wrapParam('start', () => parseTime(p.get('start')));
    const end = wrapParam('end', () => parseTime(p.get('end')));
    if (end < start) throw new ParamError('end', 'end timestamp must not be before start time');
    const step = wrapParam('step', () => parseDuration(p.get('step')));
    if (!(step > 0)) {
      throw new ParamError(
        'step',
        'zero or negative query resolution step widths are not accepted. Try a positive integer',
      );
    }
    // Go divides two time.Durations: integer division, so 11000·step (11001 points) passes.
    if (Math.floor((end - start) / step) > MAX_POINTS) {
      throw badData(
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      );
    }
    const timeoutMs = this.timeoutParam(p);
    const q = p.get('query');
    let expr: Expr;
    try {
      expr = parseExpr(q, { stepMs: step, rangeMs: end - start });
    } catch (e) {
      // 2.42 returns range-query parse errors without the parameter prefix.
      if (e instanceof PromQLParseError) throw badData(e.message);
      throw e;
    }
    const started = performance.now();
    const res = await this.run(q, expr, start, end, step, timeoutMs, signal);
    return this.queryResult(res, p.get('stats') !== '', performance.now() - started);
  }

  private timeoutParam(p: Params): number {
    const to = p.get('timeout');
    if (to === '') return 0;
    return wrapParam('timeout', () => parseDuration(to));
  }

  /** Runs the engine with the request's cancellation and optional timeout. */
  private async run(
    q: string,
    expr: Expr,
    start: number,
    end: number,
    step: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<QueryResult> {
    const ac = new AbortController();
    let timedOut = false;
    const onAbort = (): void => ac.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            ac.abort();
          }, timeoutMs)
        : null;
    // A shorter per-request timeout gets an engine of its own: its deadline is checked deep
    // inside evaluation, where no timer callback can run.
    const base = this.o.engine;
    const engine =
      timeoutMs > 0 && timeoutMs < base.timeoutMs
        ? new Engine({
            lookbackDeltaMs: base.lookbackDeltaMs,
            maxSamples: base.maxSamples,
            timeoutMs,
            defaultEvalIntervalMs: base.defaultEvalIntervalMs,
          })
        : base;
    try {
      return await engine.execExpr(this.o.queryable, q, expr, start, end, step, ac.signal);
    } catch (e) {
      if (timedOut && e instanceof QueryError && e.type === 'canceled') {
        throw new QueryError('timeout', 'query timed out in expression evaluation', { cause: e });
      }
      throw e;
    } finally {
      if (timer !== null) clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  private queryResult(res: QueryResult, stats: boolean, elapsedMs: number): ApiResult {
    const v = res.value;
    return {
      kind: 'stream',
      warnings: res.warnings,
      infos: res.infos,
      write: async (out) => {
        out.raw(`{"resultType":"${v.type}","result":`);
        switch (v.type) {
          case 'scalar':
            out.raw(`[${formatScalarTimestamp(v.t)},"${formatScalarValue(v.v)}"]`);
            break;
          case 'string':
            out.raw(`[${formatScalarTimestamp(v.t)},${jsonString(v.v)}]`);
            break;
          case 'vector': {
            out.raw('[');
            const ss = v.samples;
            for (let i = 0; i < ss.length; i++) {
              const s = ss[i];
              out.raw(
                `${i > 0 ? ',' : ''}{"metric":${labelsJson(s.metric)},"value":[${formatJsonTimestamp(s.t)},"${formatJsonValue(s.v)}"]}`,
              );
              if (out.full) await out.flush();
            }
            out.raw(']');
            break;
          }
          case 'matrix': {
            out.raw('[');
            const series = v.series;
            for (let i = 0; i < series.length; i++) {
              const s = series[i];
              out.raw(`${i > 0 ? ',' : ''}{"metric":${labelsJson(s.metric)}`);
              const n = s.ts.length;
              if (n > 0) {
                let pts = ',"values":[';
                for (let j = 0; j < n; j++) {
                  pts += `${j > 0 ? ',' : ''}[${formatJsonTimestamp(s.ts[j])},"${formatJsonValue(s.vs[j])}"]`;
                }
                out.raw(pts + ']');
              }
              out.raw('}');
              if (out.full) await out.flush();
            }
            out.raw(']');
            break;
          }
        }
        if (stats) {
          const sec = elapsedMs / 1000;
          out.raw(
            `,"stats":{"timings":{"evalTotalTime":${sec},"resultSortTime":0,"queryPreparationTime":0,"innerEvalTime":${sec},"execQueueTime":0,"execTotalTime":${sec}},"samples":{"totalQueryableSamples":0,"peakSamples":0}}`,
          );
        }
        out.raw('}');
      },
    };
  }

  private queryExemplars(p: Params): ApiResult {
    p.time('start', MIN_TIME_MS);
    p.time('end', MAX_TIME_MS);
    try {
      parseExpr(p.get('query'));
    } catch (e) {
      if (e instanceof PromQLParseError) throw new ParamError('query', e.message);
      throw e;
    }
    // Exemplars are not stored yet.
    return { kind: 'data', data: [] };
  }

  private formatQuery(p: Params): ApiResult {
    const query = p.get('query');
    let expr: Expr;
    try {
      expr = parseExpr(query);
    } catch (e) {
      if (e instanceof PromQLParseError) throw new ParamError('query', e.message);
      throw e;
    }
    return { kind: 'data', data: prettyExpr(expr, { source: query }) };
  }

  // --- series metadata -----------------------------------------------------------------

  /**
   * `match[]` values as matcher sets, with 2.42's checks and messages: /series (and the admin
   * API) name the parameter in errors, /labels and /label/…/values do not.
   */
  private matcherSets(values: readonly string[], nameParam = true): Matcher[][] {
    const fail = (msg: string): QueryError =>
      nameParam ? new ParamError('match[]', msg) : badData(msg);
    const sets: Matcher[][] = [];
    for (const s of values) {
      try {
        sets.push(parseMetricSelector(s));
      } catch (e) {
        if (e instanceof PromQLParseError) throw fail(e.message);
        throw e;
      }
    }
    for (const ms of sets) {
      if (!hasNonEmptyMatcher(ms))
        throw fail('match[] must contain at least one non-empty matcher');
    }
    return sets;
  }

  private async series(p: Params): Promise<ApiResult> {
    const values = p.all('match[]');
    if (values.length === 0) throw badData('no match[] parameter provided');
    const start = p.time('start', MIN_TIME_MS);
    const end = p.time('end', MAX_TIME_MS);
    const sets = this.matcherSets(values);
    const q = await this.o.queryable.querier(start, end);
    let ss: SeriesSet;
    try {
      ss = selectUnion(q, sets, { start, end, step: 0, func: 'series', range: 0 });
    } catch (e) {
      q.close();
      throw e;
    }
    return {
      kind: 'stream',
      write: async (out) => {
        try {
          out.raw('[');
          let first = true;
          while (ss.next()) {
            out.raw((first ? '' : ',') + labelsJson(ss.at().labels));
            first = false;
            if (out.full) await out.flush();
          }
          const err = ss.err();
          if (err !== null) throw err;
          out.raw(']');
        } finally {
          q.close();
        }
      },
      warnings: ss.warnings(),
    };
  }

  private async labelNames(p: Params): Promise<ApiResult> {
    const start = p.time('start', MIN_TIME_MS);
    const end = p.time('end', MAX_TIME_MS);
    const sets = this.matcherSets(p.all('match[]'), false);
    const q = await this.o.queryable.querier(start, end);
    try {
      if (sets.length === 0) return { kind: 'data', data: q.labelNames() };
      const names = new Set<string>();
      for (const ms of sets) for (const n of q.labelNames(ms)) names.add(n);
      return { kind: 'data', data: sortedStrings(names) };
    } finally {
      q.close();
    }
  }

  private async labelValues(p: Params, name: string): Promise<ApiResult> {
    if (!isValidLabelName(name)) throw badData(`invalid label name: ${JSON.stringify(name)}`);
    const start = p.time('start', MIN_TIME_MS);
    const end = p.time('end', MAX_TIME_MS);
    const sets = this.matcherSets(p.all('match[]'), false);
    const q = await this.o.queryable.querier(start, end);
    try {
      if (sets.length === 0) return { kind: 'data', data: q.labelValues(name) };
      const vals = new Set<string>();
      for (const ms of sets) for (const v of q.labelValues(name, ms)) vals.add(v);
      return { kind: 'data', data: sortedStrings(vals) };
    } finally {
      q.close();
    }
  }

  // --- targets and metadata ------------------------------------------------------------

  private targets(p: Params): ApiResult {
    const state = p.get('state').toLowerCase();
    const pool = p.get('scrapePool');
    const showActive = state === '' || state === 'any' || state === 'active';
    const showDropped = state === '' || state === 'any' || state === 'dropped';
    const activeTargets: unknown[] = [];
    const droppedTargets: unknown[] = [];
    for (const pt of this.o.targets?.targets() ?? []) {
      if (pool !== '' && pt.scrapePool !== pool) continue;
      if (showActive) {
        for (const t of pt.active) {
          activeTargets.push({
            discoveredLabels: t.discoveredLabels.toObject(),
            labels: t.labels.toObject(),
            scrapePool: t.scrapePool,
            scrapeUrl: t.scrapeUrl,
            globalUrl: t.scrapeUrl,
            lastError: t.lastError,
            lastScrape: formatRFC3339Nano(t.lastScrapeMs),
            lastScrapeDuration: t.lastScrapeDurationMs / 1000,
            health: t.health,
            scrapeInterval: formatPromDuration(t.scrapeIntervalMs),
            scrapeTimeout: formatPromDuration(t.scrapeTimeoutMs),
          });
        }
      }
      if (showDropped) {
        for (const d of pt.dropped)
          droppedTargets.push({ discoveredLabels: d.discoveredLabels.toObject() });
      }
    }
    return { kind: 'data', data: { activeTargets, droppedTargets } };
  }

  private scrapePools(): ApiResult {
    const scrapePools = (this.o.targets?.targets() ?? []).map((t) => t.scrapePool).sort();
    return { kind: 'data', data: { scrapePools } };
  }

  private targetMetadata(p: Params): ApiResult {
    const limit = limitParam(p);
    const metric = p.get('metric');
    let matchers: Matcher[] = [];
    const mt = p.get('match_target');
    if (mt !== '') {
      try {
        matchers = parseMetricSelector(mt);
      } catch (e) {
        if (e instanceof PromQLParseError) throw new ParamError('match_target', e.message);
        throw e;
      }
    }
    const res: unknown[] = [];
    let lastTarget: Labels | null = null;
    for (const m of this.o.metadata?.metadata() ?? []) {
      // 2.42 checks the limit before each target, not each row: a target's rows all go in.
      if (m.target !== lastTarget) {
        lastTarget = m.target;
        if (limit >= 0 && res.length >= limit) break;
      }
      if (!matchers.every((x) => x.matches(m.target.get(x.name)))) continue;
      if (metric !== '' && m.metric !== metric) continue;
      const target = m.target.toObject();
      if (metric === '')
        res.push({ target, metric: m.metric, type: m.type, help: m.help, unit: m.unit });
      else res.push({ target, type: m.type, help: m.help, unit: m.unit });
    }
    return { kind: 'data', data: res };
  }

  private metricMetadata(p: Params): ApiResult {
    const limit = limitParam(p);
    const metric = p.get('metric');
    const byMetric = new Map<string, Map<string, { type: string; help: string; unit: string }>>();
    for (const m of this.o.metadata?.metadata() ?? []) {
      if (metric !== '' && m.metric !== metric) continue;
      let set = byMetric.get(m.metric);
      if (set === undefined) {
        if (limit >= 0 && byMetric.size >= limit) continue;
        set = new Map();
        byMetric.set(m.metric, set);
      }
      set.set(`${m.type}\x00${m.help}\x00${m.unit}`, { type: m.type, help: m.help, unit: m.unit });
    }
    const data: Record<string, unknown[]> = {};
    for (const [name, set] of byMetric) data[name] = [...set.values()];
    return { kind: 'data', data };
  }

  // --- status --------------------------------------------------------------------------

  private runtimeInfo(): ApiResult {
    const extra = this.o.runtimeInfo?.();
    return {
      kind: 'data',
      data: {
        startTime: new Date(this.startTimeMs).toISOString(),
        CWD: process.cwd(),
        reloadConfigSuccess: extra?.reloadConfigSuccess ?? true,
        lastConfigTime: new Date(extra?.lastConfigTimeMs ?? this.startTimeMs).toISOString(),
        corruptionCount: extra?.corruptionCount ?? 0,
        goroutineCount: 1,
        GOMAXPROCS: 1,
        GOGC: '',
        GODEBUG: '',
        storageRetention: extra?.storageRetention ?? '15d',
      },
    };
  }

  private async tsdbStatus(): Promise<ApiResult> {
    const head = this.o.head;
    const q = await this.o.queryable.querier(MIN_TIME_MS, MAX_TIME_MS);
    const byName = new Map<string, number>();
    const byPair = new Map<string, number>();
    const valuesByLabel = new Map<string, Set<string>>();
    let numSeries = 0;
    try {
      const ss = q.select(
        false,
        { start: MIN_TIME_MS, end: MAX_TIME_MS, step: 0, func: 'series', range: 0 },
        [new Matcher('=~', '__name__', '.+')],
      );
      while (ss.next()) {
        const ls = ss.at().labels;
        numSeries++;
        for (let i = 0; i < ls.size; i++) {
          const n = ls.name(i);
          const v = ls.value(i);
          const pair = `${n}=${v}`;
          byPair.set(pair, (byPair.get(pair) ?? 0) + 1);
          let vs = valuesByLabel.get(n);
          if (vs === undefined) valuesByLabel.set(n, (vs = new Set()));
          vs.add(v);
          if (n === '__name__') byName.set(v, (byName.get(v) ?? 0) + 1);
        }
      }
    } finally {
      q.close();
    }
    const top = (m: Map<string, number>): { name: string; value: number }[] =>
      [...m]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .slice(0, 10)
        .map(([name, value]) => ({ name, value }));
    const valueCount = new Map<string, number>();
    const memory = new Map<string, number>();
    for (const [n, vs] of valuesByLabel) {
      valueCount.set(n, vs.size);
      let bytes = 0;
      for (const v of vs) bytes += Buffer.byteLength(v);
      memory.set(n, bytes);
    }
    const minT = head?.minTime() ?? 0;
    const maxT = head?.maxTime() ?? 0;
    return {
      kind: 'data',
      data: {
        headStats: {
          numSeries: head?.seriesCount() ?? numSeries,
          numLabelPairs: byPair.size,
          chunkCount: head?.chunkCount() ?? 0,
          minTime: Number.isFinite(minT) ? minT : 0,
          maxTime: Number.isFinite(maxT) ? maxT : 0,
        },
        seriesCountByMetricName: top(byName),
        labelValueCountByLabelName: top(valueCount),
        memoryInBytesByLabelName: top(memory),
        seriesCountByLabelValuePair: top(byPair),
      },
    };
  }

  // --- admin ---------------------------------------------------------------------------

  private adminOp<K extends keyof TSDBAdmin>(op: K): NonNullable<TSDBAdmin[K]> {
    if (!this.o.enableAdminApi) throw new QueryError('unavailable', 'admin APIs disabled');
    const fn = this.o.admin?.[op];
    if (fn === undefined)
      throw new QueryError('unavailable', `${op} is not supported by this storage`);
    return fn.bind(this.o.admin) as NonNullable<TSDBAdmin[K]>;
  }

  private async deleteSeries(p: Params): Promise<ApiResult> {
    const del = this.adminOp('deleteSeries');
    const values = p.all('match[]');
    if (values.length === 0) throw badData('no match[] parameter provided');
    const start = p.time('start', MIN_TIME_MS);
    const end = p.time('end', MAX_TIME_MS);
    const sets = this.matcherSets(values);
    await del(sets, start, end);
    return { kind: 'noContent' };
  }

  private async cleanTombstones(): Promise<ApiResult> {
    await this.adminOp('cleanTombstones')();
    return { kind: 'noContent' };
  }

  private async snapshot(p: Params): Promise<ApiResult> {
    const snap = this.adminOp('snapshot');
    const skip = p.get('skip_head');
    let skipHead = false;
    if (skip !== '') {
      if (
        !['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].includes(
          skip,
        )
      ) {
        throw badData(
          `unable to parse boolean 'skip_head' argument: strconv.ParseBool: parsing ${JSON.stringify(skip)}: invalid syntax`,
        );
      }
      skipHead = ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(skip);
    }
    const name = await snap(skipHead);
    return { kind: 'data', data: { name } };
  }
}

const DEFAULT_BUILD_INFO: BuildInfo = {
  version: '0.0.0',
  revision: '',
  branch: '',
  buildUser: '',
  buildDate: '',
  goVersion: process.version,
};

function limitParam(p: Params): number {
  const s = p.get('limit');
  if (s === '') return -1;
  const n = Number(s);
  if (!/^[+-]?\d+$/.test(s) || !Number.isSafeInteger(n)) throw badData('limit must be a number');
  return n;
}

function sortedStrings(set: Set<string>): string[] {
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A label set as a JSON object, in label order. */
export function labelsJson(ls: Labels): string {
  let s = '{';
  for (let i = 0; i < ls.size; i++) {
    if (i > 0) s += ',';
    s += jsonString(ls.name(i)) + ':' + jsonString(ls.value(i));
  }
  return s + '}';
}

/** The union of several selects, sorted by labels, each series once. */
export function selectUnion(q: Querier, sets: readonly Matcher[][], hints: SelectHints): SeriesSet {
  if (sets.length === 1) return q.select(true, hints, sets[0]);
  return new MergeSeriesSet(sets.map((ms) => q.select(true, hints, ms)));
}

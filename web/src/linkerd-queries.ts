/**
 * The PromQL the dashboard sends for Linkerd's proxy metrics, in one place, and the arithmetic
 * that turns the answers into figures. It follows `meshmetrics stat` (src/cli/stat.ts), itself
 * linkerd-viz's metrics-api, so the dashboard's numbers agree with `stat`'s:
 *
 * - SUCCESS = success / (success + failure) of `increase(response_total[W])`, by `classification`;
 * - RPS = (success + failure) / W: completed responses, not `request_total`;
 * - latency = `histogram_quantile(q, sum(irate(response_latency_ms_bucket[W])) by (le, …))`, whole ms;
 * - TCP = `sum(tcp_open_connections)`, no `peer` filter.
 *
 * W is `STAT_WINDOW` (stat's default `-t 1m`). Every function here only builds strings or reads
 * answers; `runStat` is the one that asks the API. Charts over time use `rate` over a window fitted
 * to the step (`rateWindow`), as Grafana's `$__rate_interval` does.
 */
import { api, type MatrixSeries, type QueryResult, type VectorSample } from './api.js';

/** The window of the instant figures, in seconds: `stat`'s default `-t 1m`. */
export const STAT_WINDOW_SECONDS = 60;

/** Traffic a workload's proxy accepts (`inbound`) or sends (`outbound`). */
export type Direction = 'inbound' | 'outbound';

/** A workload: a deployment in a namespace. */
export interface WorkloadRef {
  namespace: string;
  deployment: string;
}

/** A PromQL string literal (JSON's escapes are PromQL's, as `stat` writes them). */
export function promString(s: string): string {
  return JSON.stringify(s);
}

/** `{a="x", b!=""}` from matchers already written as PromQL. */
export function selector(matchers: string[]): string {
  return `{${matchers.join(', ')}}`;
}

/** A duration as PromQL writes it, in whole seconds (`90s`) or minutes (`1m`). */
export function promDuration(seconds: number): string {
  const s = Math.max(1, Math.round(seconds));
  return s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/** The matchers of one workload's own traffic in one direction. */
export function workloadMatchers(w: WorkloadRef, direction: Direction): string[] {
  return [
    `direction="${direction}"`,
    `namespace=${promString(w.namespace)}`,
    `deployment=${promString(w.deployment)}`,
  ];
}

/** The instant queries behind a table of success rate, RPS, latency and TCP figures. */
export interface StatPlan {
  /** The labels each row is keyed by, e.g. `['namespace', 'deployment']`. */
  by: string[];
  requests: string;
  /** p50, p95, p99; null for tables that show success and RPS only. */
  latency: [string, string, string] | null;
  /** Null where the traffic has no TCP figures of its own (edges). */
  tcpConnections: string | null;
}

/** The quantiles of the latency columns and charts. */
export const QUANTILES = [0.5, 0.95, 0.99] as const;

/**
 * The queries of a stat table over the traffic that `matchers` select, one row per distinct
 * value of the `by` labels (stat's StatSummary for one resource kind). Without `full`, only the
 * request query (success and RPS), for edge and pod tables.
 */
export function statPlan(matchers: string[], by: string[], full = true): StatPlan {
  const l = selector(matchers);
  const g = by.join(', ');
  const w = promDuration(STAT_WINDOW_SECONDS);
  const q = (x: number): string =>
    `histogram_quantile(${x}, sum(irate(response_latency_ms_bucket${l}[${w}])) by (le, ${g}))`;
  return {
    by,
    requests: `sum(increase(response_total${l}[${w}])) by (${g}, classification)`,
    latency: full ? [q(QUANTILES[0]), q(QUANTILES[1]), q(QUANTILES[2])] : null,
    tcpConnections: full ? `sum(tcp_open_connections${l}) by (${g})` : null,
  };
}

/** The overview: every workload's inbound traffic, by namespace and deployment (`stat deploy -A`). */
export const OVERVIEW_PLAN: StatPlan = statPlan(
  ['direction="inbound"', 'deployment!=""'],
  ['namespace', 'deployment'],
);

/**
 * Meshed pods (proxies exporting `process_start_time_seconds`) and all scraped pods (`up`) per
 * workload, as `stat`'s MESHED column counts them without a Kubernetes API.
 */
export const POD_COUNT_QUERIES = {
  meshed:
    'count(count(process_start_time_seconds{deployment!=""}) by (pod, namespace, deployment)) by (namespace, deployment)',
  total:
    'count(count(up{deployment!=""}) by (pod, namespace, deployment)) by (namespace, deployment)',
} as const;

/** The figures of one workload's traffic in one direction (`stat deploy/<name>`, or `--to`-less outbound). */
export function workloadPlan(w: WorkloadRef, direction: Direction): StatPlan {
  return statPlan(workloadMatchers(w, direction), ['namespace', 'deployment']);
}

/** The workloads that send traffic to `w` (outbound traffic of others with `dst_deployment` = w). */
export function callersPlan(w: WorkloadRef): StatPlan {
  return statPlan(
    [
      'direction="outbound"',
      `dst_namespace=${promString(w.namespace)}`,
      `dst_deployment=${promString(w.deployment)}`,
    ],
    ['namespace', 'deployment'],
    false,
  );
}

/** The workloads `w` sends traffic to (the `dst_deployment` of its outbound traffic). */
export function calleesPlan(w: WorkloadRef): StatPlan {
  return statPlan(workloadMatchers(w, 'outbound'), ['dst_namespace', 'dst_deployment'], false);
}

/** Per-pod figures of a workload's inbound traffic. */
export function podsPlan(w: WorkloadRef): StatPlan {
  return statPlan(workloadMatchers(w, 'inbound'), ['pod'], false);
}

/** One row's figures; null where there is no data (printed as '-', as `stat` does). */
export interface StatFigures {
  /** The `by` labels of the row. */
  labels: Record<string, string>;
  /** Success share in [0, 1]; null without completed responses. */
  success: number | null;
  /** Completed responses per second over the window; null without request data. */
  rps: number | null;
  /** Latency quantiles in whole ms. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  tcpConnections: number | null;
}

/** The key of a row: its `by` label values joined. */
export function rowKey(labels: Record<string, string>, by: string[]): string {
  return by.map((b) => labels[b] ?? '').join('\x00');
}

/** A sample's value; NaN counts as 0 (metrics-api does the same). */
function num(s: VectorSample): number {
  const v = Number(s.value[1]);
  return Number.isNaN(v) ? 0 : v;
}

function vector(r: QueryResult): VectorSample[] {
  return r.resultType === 'vector' ? r.result : [];
}

/** The instant answers of a plan, in the plan's order. */
export interface StatAnswers {
  requests: VectorSample[];
  latency: [VectorSample[], VectorSample[], VectorSample[]];
  tcpConnections: VectorSample[];
}

/**
 * Turns a plan's answers into rows keyed by `rowKey`, with `stat`'s rules: a row exists for
 * every group with request data or TCP connections, but only rows with request data get figures
 * (a row with connections alone shows '-' everywhere); with request data, a missing or NaN
 * latency or connection count is 0.
 */
export function statFigures(plan: StatPlan, a: StatAnswers): Map<string, StatFigures> {
  const rows = new Map<string, StatFigures & { ok: number; failed: number; seen: boolean }>();
  const at = (m: Record<string, string>, create: boolean) => {
    const key = rowKey(m, plan.by);
    let r = rows.get(key);
    if (r === undefined && create) {
      const labels: Record<string, string> = {};
      for (const b of plan.by) labels[b] = m[b] ?? '';
      r = {
        labels,
        success: null,
        rps: null,
        p50: null,
        p95: null,
        p99: null,
        tcpConnections: null,
        ok: 0,
        failed: 0,
        seen: false,
      };
      rows.set(key, r);
    }
    return r;
  };
  for (const s of a.requests) {
    const r = at(s.metric, true)!;
    r.seen = true;
    if (s.metric.classification === 'success') r.ok += num(s);
    else if (s.metric.classification === 'failure') r.failed += num(s);
  }
  for (const s of a.tcpConnections) at(s.metric, true);
  for (const r of rows.values()) {
    if (!r.seen) continue;
    const n = r.ok + r.failed;
    r.success = n > 0 ? r.ok / n : null;
    r.rps = n / STAT_WINDOW_SECONDS;
    if (plan.latency !== null) r.p50 = r.p95 = r.p99 = 0;
    if (plan.tcpConnections !== null) r.tcpConnections = 0;
  }
  const put = (xs: VectorSample[], f: (r: StatFigures, v: number) => void) => {
    for (const s of xs) {
      const r = at(s.metric, false);
      if (r?.seen) f(r, num(s));
    }
  };
  put(a.latency[0], (r, v) => (r.p50 = Math.round(v)));
  put(a.latency[1], (r, v) => (r.p95 = Math.round(v)));
  put(a.latency[2], (r, v) => (r.p99 = Math.round(v)));
  put(a.tcpConnections, (r, v) => (r.tcpConnections = Math.round(v)));
  const out = new Map<string, StatFigures>();
  for (const [k, r] of rows) {
    const { ok: _ok, failed: _failed, seen: _seen, ...figures } = r;
    out.set(k, figures);
  }
  return out;
}

/** Runs a plan's queries concurrently (one failure fails all, as in metrics-api). */
export async function runStat(plan: StatPlan, signal: AbortSignal): Promise<StatAnswers> {
  const q = async (query: string | null): Promise<VectorSample[]> =>
    query === null ? [] : vector(await api.query(query, undefined, signal));
  const [requests, p50, p95, p99, tcpConnections] = await Promise.all([
    q(plan.requests),
    q(plan.latency?.[0] ?? null),
    q(plan.latency?.[1] ?? null),
    q(plan.latency?.[2] ?? null),
    q(plan.tcpConnections),
  ]);
  return { requests, latency: [p50, p95, p99], tcpConnections };
}

/** Runs a plan and reads its rows. */
export async function loadStat(
  plan: StatPlan,
  signal: AbortSignal,
): Promise<Map<string, StatFigures>> {
  return statFigures(plan, await runStat(plan, signal));
}

/**
 * The window of `rate` for a chart with this step, as Grafana's `$__rate_interval`:
 * max(step + scrape interval, 4 × scrape interval), so each point sees several samples.
 */
export function rateWindow(stepSeconds: number, scrapeIntervalSeconds: number): number {
  return Math.max(stepSeconds + scrapeIntervalSeconds, 4 * scrapeIntervalSeconds);
}

/** The sparkline series of the overview: one query for all workloads, by namespace and deployment. */
export function trendQuery(metric: 'rps' | 'success', windowSeconds: number): string {
  const l = 'direction="inbound", deployment!=""';
  const w = promDuration(windowSeconds);
  const all = `sum(rate(response_total{${l}}[${w}])) by (namespace, deployment)`;
  if (metric === 'rps') return all;
  return `sum(rate(response_total{${l}, classification="success"}[${w}])) by (namespace, deployment) / ${all}`;
}

/** One chart of the workload page: its queries, each drawn as one or more series. */
export interface ChartPlan {
  title: string;
  /** `percent`, `rps`, `ms`, `bytes` (per second) or `count`. */
  unit: 'percent' | 'rps' | 'ms' | 'bytesPerSecond' | 'count';
  queries: {
    query: string;
    /** The legend of a series of this query's answer. */
    label: (metric: Record<string, string>) => string;
    /** A fixed colour (latency quantiles, success), else the palette's. */
    color?: string;
  }[];
  stacked?: boolean;
}

const QUANTILE_COLORS = ['#3b82f6', '#f59e0b', '#dc2626'];

/** A failure's cause: its HTTP status, gRPC status or stream error. */
function failureName(m: Record<string, string>): string {
  if (m.error) return `error: ${m.error}`;
  if (m.grpc_status && m.grpc_status !== '0') return `gRPC ${m.grpc_status}`;
  return m.status_code ? `HTTP ${m.status_code}` : 'failure';
}

/** Readable names for the `tls` label values. */
const TLS_NAMES: Record<string, string> = {
  true: 'mTLS',
  no_identity: 'no identity (plaintext)',
  disabled: 'TLS disabled',
  opaque: 'opaque',
};

/** What `peer` means for each direction's TCP metrics. */
const PEER_NAMES: Record<Direction, Record<string, string>> = {
  inbound: { src: 'from clients', dst: 'to the app' },
  outbound: { src: 'from the app', dst: 'to destinations' },
};

/**
 * The charts of a workload in one direction: success rate, request rate by TLS, failures by
 * status, latency quantiles, TCP connections and bytes, over `rate` windows of `windowSeconds`.
 */
export function workloadCharts(
  w: WorkloadRef,
  direction: Direction,
  windowSeconds: number,
): ChartPlan[] {
  const ms = workloadMatchers(w, direction);
  const l = selector(ms);
  const win = promDuration(windowSeconds);
  // Byte counters on the side of the proxy that faces the traffic, as `stat` reads them.
  const bytePeer = direction === 'inbound' ? 'src' : 'dst';
  const lb = selector([...ms, `peer="${bytePeer}"`]);
  return [
    {
      title: 'Success rate',
      unit: 'percent',
      queries: [
        {
          query: `sum(rate(response_total${selector([...ms, 'classification="success"'])}[${win}])) / sum(rate(response_total${l}[${win}]))`,
          label: () => 'success rate',
          color: '#059669',
        },
      ],
    },
    {
      title: 'Request rate by TLS',
      unit: 'rps',
      stacked: true,
      queries: [
        {
          query: `sum(rate(response_total${l}[${win}])) by (tls)`,
          label: (m) => TLS_NAMES[m.tls ?? ''] ?? (m.tls || 'unknown'),
        },
      ],
    },
    {
      title: 'Failures by status',
      unit: 'rps',
      stacked: true,
      queries: [
        {
          query: `sum(rate(response_total${selector([...ms, 'classification="failure"'])}[${win}])) by (status_code, grpc_status, error)`,
          label: failureName,
        },
      ],
    },
    {
      title: 'Latency',
      unit: 'ms',
      queries: QUANTILES.map((q, i) => ({
        query: `histogram_quantile(${q}, sum(rate(response_latency_ms_bucket${l}[${win}])) by (le))`,
        label: () => `p${Math.round(q * 100)}`,
        color: QUANTILE_COLORS[i],
      })),
    },
    {
      title: 'TCP open connections',
      unit: 'count',
      queries: [
        {
          query: `sum(tcp_open_connections${l}) by (peer)`,
          label: (m) => PEER_NAMES[direction][m.peer ?? ''] ?? (m.peer || 'all'),
        },
      ],
    },
    {
      title: `TCP bytes (${PEER_NAMES[direction][bytePeer]})`,
      unit: 'bytesPerSecond',
      queries: [
        {
          query: `sum(rate(tcp_read_bytes_total${lb}[${win}]))`,
          label: () => 'read',
          color: '#3b82f6',
        },
        {
          query: `sum(rate(tcp_write_bytes_total${lb}[${win}]))`,
          label: () => 'write',
          color: '#8b5cf6',
        },
      ],
    },
  ];
}

/** A matrix answer's series (empty for other result types). */
export function matrix(r: QueryResult): MatrixSeries[] {
  return r.resultType === 'matrix' ? r.result : [];
}

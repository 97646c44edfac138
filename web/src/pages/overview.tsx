/**
 * The overview (`#/`): every workload with its meshed pods, success rate, RPS, latency
 * quantiles and TCP connections over the last minute (the figures of `meshmetrics stat deploy
 * -A`), coloured by health, sortable and filterable, with a sparkline of the last hour.
 *
 * It costs the same few requests whatever the number of workloads: the stat queries grouped
 * `by (namespace, deployment)`, two pod counts, and one `query_range` for every sparkline at
 * once. Sort, filter and the sparkline's metric live in the URL (`?sort=rps&desc=1&q=web`).
 */
import { useMemo } from 'preact/hooks';
import { api, type MatrixSeries, type TargetsResult, type VectorSample } from '../api.js';
import {
  loadStat,
  matrix,
  OVERVIEW_PLAN,
  POD_COUNT_QUERIES,
  rowKey,
  trendQuery,
  type StatFigures,
} from '../linkerd-queries.js';
import { usePoll } from '../poll.js';
import { href, replaceParams } from '../router.js';
import {
  formatCount,
  formatMs,
  formatPercent,
  formatRps,
  healthOf,
  type Health,
} from '../components/format.js';
import { Card } from '../components/card.js';
import { Freshness } from '../components/freshness.js';
import { HealthDot } from '../components/health.js';
import { Segmented } from '../components/segmented.js';
import { Sparkline } from '../components/sparkline.js';
import { EmptyState, ErrorState, Loading, StaleBanner } from '../components/states.js';

/** One row of the table. */
export interface WorkloadRow {
  key: string;
  namespace: string;
  deployment: string;
  /** Pods whose proxy is scraped, and all scraped pods. */
  meshed: number | null;
  pods: number | null;
  figures: StatFigures | null;
  health: Health;
}

interface OverviewData {
  rows: WorkloadRow[];
  /** Only fetched when there are no rows, to say why. */
  targets: TargetsResult | null;
}

const BY = ['namespace', 'deployment'];

async function loadOverview(signal: AbortSignal): Promise<OverviewData> {
  const vec = async (q: string): Promise<VectorSample[]> => {
    const r = await api.query(q, undefined, signal);
    return r.resultType === 'vector' ? r.result : [];
  };
  const [figures, meshed, total] = await Promise.all([
    loadStat(OVERVIEW_PLAN, signal),
    vec(POD_COUNT_QUERIES.meshed),
    vec(POD_COUNT_QUERIES.total),
  ]);
  const rows = new Map<string, WorkloadRow>();
  const row = (m: Record<string, string>): WorkloadRow => {
    const key = rowKey(m, BY);
    let r = rows.get(key);
    if (r === undefined) {
      r = {
        key,
        namespace: m.namespace ?? '',
        deployment: m.deployment ?? '',
        meshed: null,
        pods: null,
        figures: null,
        health: 'idle',
      };
      rows.set(key, r);
    }
    return r;
  };
  for (const f of figures.values()) {
    const r = row(f.labels);
    r.figures = f;
    r.health = healthOf(f.success);
  }
  for (const s of meshed) row(s.metric).meshed = Number(s.value[1]);
  for (const s of total) row(s.metric).pods = Number(s.value[1]);
  for (const r of rows.values()) if (r.pods !== null && r.meshed === null) r.meshed = 0;
  const list = [...rows.values()].filter((r) => r.deployment !== '');
  const targets = list.length === 0 ? await api.targets(signal) : null;
  return { rows: list, targets };
}

/** The sparklines' span and step: the last hour, 121 points. */
const TREND_RANGE_SECONDS = 3600;
const TREND_STEP_SECONDS = 30;
type TrendMetric = 'rps' | 'success';

interface TrendData {
  /** Values per workload key, aligned on the same steps. */
  byKey: Map<string, (number | null)[]>;
}

async function loadTrend(metric: TrendMetric, signal: AbortSignal): Promise<TrendData> {
  // The next step boundary: the last point covers the latest samples, and points stay on the
  // same timestamps between refreshes.
  const end = Math.ceil(Date.now() / 1000 / TREND_STEP_SECONDS) * TREND_STEP_SECONDS;
  const start = end - TREND_RANGE_SECONDS;
  const r = await api.queryRange(
    trendQuery(metric, 60),
    start * 1000,
    end * 1000,
    TREND_STEP_SECONDS,
    signal,
  );
  const n = TREND_RANGE_SECONDS / TREND_STEP_SECONDS + 1;
  const byKey = new Map<string, (number | null)[]>();
  for (const s of matrix(r) as MatrixSeries[]) {
    const values = new Array<number | null>(n).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((t - start) / TREND_STEP_SECONDS);
      const x = Number(v);
      if (i >= 0 && i < n && Number.isFinite(x)) values[i] = x;
    }
    byKey.set(rowKey(s.metric, BY), values);
  }
  return { byKey };
}

/** The sortable columns and how each orders rows; `null` figures sort last either way. */
const COLUMNS: {
  id: string;
  title: string;
  hint: string;
  value: (r: WorkloadRow) => number | string | null;
  numeric: boolean;
}[] = [
  {
    id: 'name',
    title: 'Workload',
    hint: 'namespace / deployment',
    value: (r) => `${r.namespace}/${r.deployment}`,
    numeric: false,
  },
  {
    id: 'meshed',
    title: 'Meshed',
    hint: 'pods whose proxy is scraped / pods scraped',
    value: (r) => r.meshed,
    numeric: true,
  },
  {
    id: 'success',
    title: 'Success',
    hint: 'share of responses classified as success, last minute',
    value: (r) => r.figures?.success ?? null,
    numeric: true,
  },
  {
    id: 'rps',
    title: 'RPS',
    hint: 'completed responses per second, last minute',
    value: (r) => r.figures?.rps ?? null,
    numeric: true,
  },
  {
    id: 'p50',
    title: 'P50',
    hint: 'median latency (ms)',
    value: (r) => r.figures?.p50 ?? null,
    numeric: true,
  },
  {
    id: 'p95',
    title: 'P95',
    hint: '95th percentile latency (ms)',
    value: (r) => r.figures?.p95 ?? null,
    numeric: true,
  },
  {
    id: 'p99',
    title: 'P99',
    hint: '99th percentile latency (ms)',
    value: (r) => r.figures?.p99 ?? null,
    numeric: true,
  },
  {
    id: 'tcp',
    title: 'TCP',
    hint: 'open TCP connections',
    value: (r) => r.figures?.tcpConnections ?? null,
    numeric: true,
  },
];

/** Orders rows by a column; missing figures last, ties by name. */
export function sortRows(rows: WorkloadRow[], column: string, desc: boolean): WorkloadRow[] {
  const col = COLUMNS.find((c) => c.id === column) ?? COLUMNS[0]!;
  const name = (r: WorkloadRow) => `${r.namespace}/${r.deployment}`;
  return [...rows].sort((a, b) => {
    const x = col.value(a);
    const y = col.value(b);
    if (x === null || y === null) {
      if (x !== y) return x === null ? 1 : -1;
    } else if (x !== y) {
      const c =
        typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : 1;
      return desc ? -c : c;
    }
    return name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0;
  });
}

function NoWorkloads({ targets }: { targets: TargetsResult | null }) {
  const active = targets?.activeTargets ?? [];
  if (active.length === 0) {
    return (
      <EmptyState title="No targets yet">
        The collector scrapes nothing: <code>/api/v1/targets</code> lists no active target
        {targets && targets.droppedTargets.length > 0
          ? ` (${targets.droppedTargets.length} discovered and dropped by relabelling)`
          : ''}
        . Add the proxies' admin ports (<code>:4191/metrics</code>) to <code>scrape_configs</code>,
        or run <code>meshmetrics demo</code>. <a href={href(['targets'])}>See the targets.</a>
      </EmptyState>
    );
  }
  const up = active.filter((t) => t.health === 'up').length;
  return (
    <EmptyState title="No traffic yet">
      {active.length} target{active.length === 1 ? ' is' : 's are'} scraped ({up} up), but no series
      of <code>response_total</code> with <code>direction="inbound"</code> and a{' '}
      <code>deployment</code> label has moved in the last minute, and no pod exports{' '}
      <code>process_start_time_seconds</code> with a <code>deployment</code> label. Is traffic
      flowing through the proxies, and do targets carry <code>namespace</code> and{' '}
      <code>deployment</code> labels? <a href={href(['targets'])}>See the targets.</a>
    </EmptyState>
  );
}

const TREND_OPTIONS = [
  { value: 'rps', label: 'RPS' },
  { value: 'success', label: 'Success' },
] as const;

export function OverviewPage({ params }: { params: URLSearchParams }) {
  const sort = params.get('sort') ?? 'name';
  const desc = params.get('desc') === '1';
  const text = params.get('q') ?? '';
  const ns = params.get('ns') ?? '';
  const trendMetric: TrendMetric = params.get('trend') === 'success' ? 'success' : 'rps';

  const data = usePoll(loadOverview, []);
  const trend = usePoll((signal) => loadTrend(trendMetric, signal), [trendMetric]);

  const rows = data.data?.rows ?? [];
  const namespaces = useMemo(() => [...new Set(rows.map((r) => r.namespace))].sort(), [rows]);
  const shown = useMemo(() => {
    const needle = text.trim().toLowerCase();
    const kept = rows.filter(
      (r) =>
        (ns === '' || r.namespace === ns) &&
        (needle === '' || `${r.namespace}/${r.deployment}`.toLowerCase().includes(needle)),
    );
    return sortRows(kept, sort, desc);
  }, [rows, text, ns, sort, desc]);

  if (data.loading && data.data === undefined) {
    return (
      <section class="page">
        <PageHeader />
        <Loading what="workloads" rows={6} />
      </section>
    );
  }
  if (data.data === undefined) {
    return (
      <section class="page">
        <PageHeader />
        <ErrorState error={data.error!} title="Cannot load the workloads" />
      </section>
    );
  }
  if (rows.length === 0) {
    return (
      <section class="page">
        <PageHeader updatedAt={data.updatedAt} failed={data.error !== undefined} />
        <StaleBanner error={data.error} />
        <NoWorkloads targets={data.data.targets} />
      </section>
    );
  }

  const totalRps = rows.reduce((s, r) => s + (r.figures?.rps ?? 0), 0);
  const failing = rows.filter((r) => r.health === 'bad' || r.health === 'warn').length;
  const meshedPods = rows.reduce((s, r) => s + (r.meshed ?? 0), 0);
  const onSort = (id: string) =>
    replaceParams({ sort: id, desc: sort === id ? (desc ? '0' : '1') : id === 'name' ? '0' : '1' });

  return (
    <section class="page">
      <PageHeader updatedAt={data.updatedAt} failed={data.error !== undefined} />
      <StaleBanner error={data.error} />
      <div class="cards">
        <Card label="Workloads" value={formatCount(rows.length)} />
        <Card label="Meshed pods" value={formatCount(meshedPods)} />
        <Card label="Total RPS" value={formatRps(totalRps)} />
        <Card
          label="Below 99% success"
          value={formatCount(failing)}
          tone={failing > 0 ? 'bad' : 'good'}
        />
      </div>
      <div class="toolbar">
        <input
          type="search"
          class="filter"
          placeholder="Filter workloads…"
          aria-label="Filter workloads"
          value={text}
          onInput={(e) => replaceParams({ q: (e.target as HTMLInputElement).value })}
        />
        <select
          aria-label="Namespace"
          value={ns}
          onChange={(e) => replaceParams({ ns: (e.target as HTMLSelectElement).value })}
        >
          <option value="">All namespaces</option>
          {namespaces.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
        <span class="spacer" />
        <span class="muted">Last hour:</span>
        <Segmented
          label="Sparkline metric"
          options={TREND_OPTIONS}
          value={trendMetric}
          onChange={(v) => replaceParams({ trend: v })}
        />
      </div>
      <div class="panel flush">
        <table class="data workloads">
          <thead>
            <tr>
              {COLUMNS.map((c) => (
                <th
                  key={c.id}
                  class={`${c.numeric ? 'num' : ''} sortable ${sort === c.id ? 'sorted' : ''}`}
                  title={c.hint}
                  aria-sort={sort === c.id ? (desc ? 'descending' : 'ascending') : 'none'}
                  data-col={c.id}
                  tabIndex={0}
                  onClick={() => onSort(c.id)}
                  onKeyDown={(e) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault();
                      onSort(c.id);
                    }
                  }}
                >
                  {sort === c.id && c.numeric ? (
                    <span class="arrow">{desc ? '▼' : '▲'}</span>
                  ) : null}
                  {c.title}
                  {sort === c.id && !c.numeric ? (
                    <span class="arrow">{desc ? '▼' : '▲'}</span>
                  ) : null}
                </th>
              ))}
              <th class="trend-col">
                {trendMetric === 'rps' ? 'RPS' : 'Success'}, last hour
                {trend.error ? (
                  <span class="bad" title={trend.error.message}>
                    {' '}
                    (failed)
                  </span>
                ) : null}
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => {
              const f = r.figures;
              const link = href(['workload', r.namespace, r.deployment]);
              return (
                <tr
                  key={r.key}
                  class={`row-link health-${r.health}`}
                  data-workload={`${r.namespace}/${r.deployment}`}
                  onClick={(e) => {
                    if ((e.target as HTMLElement).closest('a') === null)
                      window.location.hash = link;
                  }}
                >
                  <td>
                    <HealthDot health={r.health} />
                    <a href={link} class="workload-name">
                      <span class="ns">{r.namespace}/</span>
                      {r.deployment}
                    </a>
                  </td>
                  <td class="num">
                    {r.meshed === null ? '-' : `${r.meshed}/${r.pods ?? r.meshed}`}
                  </td>
                  <td class={`num success ${r.health}`} data-col="success">
                    {formatPercent(f?.success)}
                  </td>
                  <td class="num" data-col="rps">
                    {formatRps(f?.rps)}
                  </td>
                  <td class="num">{formatMs(f?.p50)}</td>
                  <td class="num">{formatMs(f?.p95)}</td>
                  <td class="num">{formatMs(f?.p99)}</td>
                  <td class="num">{formatCount(f?.tcpConnections)}</td>
                  <td class="trend-col">
                    <Sparkline
                      values={trend.data?.byKey.get(r.key) ?? []}
                      range={trendMetric === 'success' ? [0, 1] : [0, 0]}
                      tone={trendMetric === 'success' ? r.health : 'accent'}
                      title={`${trendMetric === 'rps' ? 'RPS' : 'success rate'} of ${r.namespace}/${r.deployment}, last hour`}
                    />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {shown.length === 0 ? (
          <div class="state empty inline">
            No workload matches{text ? ` "${text}"` : ''}
            {ns ? ` in namespace ${ns}` : ''}.{' '}
            <button type="button" class="link" onClick={() => replaceParams({ q: '', ns: '' })}>
              Clear the filters.
            </button>
          </div>
        ) : null}
      </div>
      <p class="footnote">
        Figures over the last minute of inbound traffic, as <code>meshmetrics stat deploy -A</code>{' '}
        shows them; RPS counts completed responses. Health: success ≥ 99% good, ≥ 95% degraded,
        below that failing, grey without traffic. Refreshed every 10 s.
      </p>
    </section>
  );
}

function PageHeader({ updatedAt, failed }: { updatedAt?: number; failed?: boolean }) {
  return (
    <div class="page-header">
      <h1>Workloads</h1>
      <span class="spacer" />
      <Freshness updatedAt={updatedAt} failed={failed} />
    </div>
  );
}

/**
 * A workload (`#/workload/<namespace>/<deployment>?range=1h&dir=inbound`): its figures over the
 * last minute, charts over a chosen range (success rate, request rate by TLS, latency quantiles,
 * TCP connections and bytes) for inbound or outbound traffic, the workloads that call it and
 * that it calls, and its pods with their `/metrics` one click away.
 *
 * Callers come from the outbound metrics of other workloads with `dst_deployment` set to this
 * one: the demo's proxies (and Linkerd's without mTLS) leave inbound `client_id` empty.
 */
import { useMemo } from 'preact/hooks';
import { api, type ActiveTarget } from '../api.js';
import {
  calleesPlan,
  callersPlan,
  loadStat,
  matrix,
  podsPlan,
  rateWindow,
  rowKey,
  workloadCharts,
  workloadPlan,
  type ChartPlan,
  type Direction,
  type StatFigures,
  type WorkloadRef,
} from '../linkerd-queries.js';
import { usePoll } from '../poll.js';
import { href, replaceParams } from '../router.js';
import { Card } from '../components/card.js';
import { Chart, type ChartSeries } from '../components/chart.js';
import { alignMatrix, timeAxis, zeroBased } from '../components/chart-data.js';
import {
  formatAgo,
  formatBytes,
  formatCount,
  formatMs,
  formatPercent,
  formatRps,
  formatSeconds,
  healthOf,
  HEALTH_WORD,
} from '../components/format.js';
import { Freshness } from '../components/freshness.js';
import { HealthDot, HealthPill } from '../components/health.js';
import { Segmented } from '../components/segmented.js';
import { EmptyState, ErrorState, Loading, StaleBanner } from '../components/states.js';
import { useNow } from '../components/use-now.js';
import { parseDuration } from '../components/duration.js';

/** The time ranges of the picker. */
const RANGES = ['5m', '15m', '1h', '6h', '24h', '7d'] as const;
type RangeId = (typeof RANGES)[number];
const RANGE_OPTIONS = RANGES.map((r) => ({ value: r, label: r }));
/** Points per chart the step aims at. */
const POINTS = 300;
/** The scrape interval assumed when no target of the workload says it. */
const DEFAULT_SCRAPE_SECONDS = 15;

/** The step of a range: about `POINTS` points, in whole seconds. */
export function stepFor(rangeSeconds: number): number {
  return Math.max(1, Math.round(rangeSeconds / POINTS));
}

interface Summary {
  figures: StatFigures | null;
  callers: StatFigures[];
  callees: StatFigures[];
  /** Inbound responses per second from clients without a proxy (inbound minus meshed callers). */
  unmeshedRps: number | null;
  pods: PodRow[];
  scrapeSeconds: number;
}

interface PodRow {
  pod: string;
  target: ActiveTarget | null;
  figures: StatFigures | null;
}

async function loadSummary(
  w: WorkloadRef,
  direction: Direction,
  signal: AbortSignal,
): Promise<Summary> {
  const [mine, inbound, callers, callees, pods, targets] = await Promise.all([
    loadStat(workloadPlan(w, direction), signal),
    direction === 'inbound' ? null : loadStat(workloadPlan(w, 'inbound'), signal),
    loadStat(callersPlan(w), signal),
    loadStat(calleesPlan(w), signal),
    loadStat(podsPlan(w), signal),
    api.targets(signal),
  ]);
  const figures =
    mine.get(
      rowKey({ namespace: w.namespace, deployment: w.deployment }, ['namespace', 'deployment']),
    ) ?? null;
  const inFigures =
    direction === 'inbound'
      ? figures
      : (inbound?.get(
          rowKey({ namespace: w.namespace, deployment: w.deployment }, ['namespace', 'deployment']),
        ) ?? null);
  const callerList = [...callers.values()];
  const meshedRps = callerList.reduce((s, c) => s + (c.rps ?? 0), 0);
  const rest = (inFigures?.rps ?? 0) - meshedRps;
  // The windows of the two queries differ by a few ms: ignore small differences.
  const unmeshedRps = rest > Math.max(0.05, 0.05 * (inFigures?.rps ?? 0)) ? rest : null;

  const mineTargets = targets.activeTargets.filter(
    (t) => t.labels.namespace === w.namespace && t.labels.deployment === w.deployment,
  );
  const podRows = new Map<string, PodRow>();
  for (const t of mineTargets) {
    const pod = t.labels.pod ?? t.labels.instance ?? t.scrapeUrl;
    podRows.set(pod, { pod, target: t, figures: null });
  }
  for (const f of pods.values()) {
    const pod = f.labels.pod ?? '';
    if (pod === '') continue;
    const r = podRows.get(pod) ?? { pod, target: null, figures: null };
    r.figures = f;
    podRows.set(pod, r);
  }
  const intervals = (mineTargets.length > 0 ? mineTargets : targets.activeTargets)
    .map((t) => parseDuration(t.scrapeInterval))
    .filter((s): s is number => s !== null && s > 0)
    .sort((a, b) => a - b);
  return {
    figures,
    callers: callerList.sort((a, b) => (b.rps ?? 0) - (a.rps ?? 0)),
    callees: [...callees.values()].sort((a, b) => (b.rps ?? 0) - (a.rps ?? 0)),
    unmeshedRps: direction === 'inbound' || inFigures !== null ? unmeshedRps : null,
    pods: [...podRows.values()].sort((a, b) => (a.pod < b.pod ? -1 : 1)),
    scrapeSeconds: intervals[Math.floor(intervals.length / 2)] ?? DEFAULT_SCRAPE_SECONDS,
  };
}

interface DrawnChart {
  plan: ChartPlan;
  series: ChartSeries[];
}
interface Charts {
  times: number[];
  charts: DrawnChart[];
  stepSeconds: number;
  windowSeconds: number;
}

async function loadCharts(
  w: WorkloadRef,
  direction: Direction,
  rangeSeconds: number,
  scrapeSeconds: number,
  signal: AbortSignal,
): Promise<Charts> {
  const step = stepFor(rangeSeconds);
  const end = Math.floor(Date.now() / 1000 / step) * step;
  const start = end - rangeSeconds;
  const windowSeconds = rateWindow(step, scrapeSeconds);
  const plans = workloadCharts(w, direction, windowSeconds);
  const times = timeAxis(start, end, step);
  const charts = await Promise.all(
    plans.map(async (plan) => {
      const answers = await Promise.all(
        plan.queries.map((q) => api.queryRange(q.query, start * 1000, end * 1000, step, signal)),
      );
      const series = answers.flatMap((a, i) => {
        const q = plan.queries[i]!;
        return alignMatrix(matrix(a), times, step, q.label).map((s) =>
          q.color ? { ...s, color: q.color } : s,
        );
      });
      return { plan, series };
    }),
  );
  return { times, charts, stepSeconds: step, windowSeconds };
}

const UNIT_FORMAT: Record<ChartPlan['unit'], (v: number) => string> = {
  percent: (v) => formatPercent(v, 1),
  rps: (v) => formatRps(v),
  ms: (v) => formatMs(v),
  bytesPerSecond: (v) => `${formatBytes(v)}/s`,
  // Axis ticks of a count may fall between integers (2.5): keep their fraction.
  count: (v) => (Number.isInteger(v) ? formatCount(v) : String(+v.toFixed(2))),
};

/** The y range of a chart: success rates from a round tenth below the lowest point up to 100 %. */
function yRangeOf(c: DrawnChart): [number, number] {
  if (c.plan.unit !== 'percent') {
    if (!c.plan.stacked) return zeroBased(c.series);
    const sums: number[] = [];
    for (const s of c.series) s.values.forEach((v, i) => (sums[i] = (sums[i] ?? 0) + (v ?? 0)));
    return [0, Math.max(1e-9, ...sums) * 1.1];
  }
  let lo = 1;
  for (const s of c.series) for (const v of s.values) if (v !== null && v < lo) lo = v;
  return [Math.max(0, Math.floor(lo * 10 - 1e-9) / 10), 1];
}

function ChartPanel({ c, times }: { c: DrawnChart; times: number[] }) {
  const hasData = c.series.some((s) => s.values.some((v) => v !== null));
  return (
    <div class="panel chart-panel" data-chart={c.plan.title}>
      <h2>{c.plan.title}</h2>
      {hasData ? (
        <Chart
          times={times}
          series={c.series}
          stacked={c.plan.stacked}
          format={UNIT_FORMAT[c.plan.unit]}
          yRange={yRangeOf(c)}
          height={200}
        />
      ) : (
        <div class="chart-empty">No data in this range</div>
      )}
    </div>
  );
}

const DIRECTIONS = [
  { value: 'inbound', label: 'Inbound' },
  { value: 'outbound', label: 'Outbound' },
] as const;

export function WorkloadPage(props: { namespace: string; name: string; params: URLSearchParams }) {
  const w: WorkloadRef = useMemo(
    () => ({ namespace: props.namespace, deployment: props.name }),
    [props.namespace, props.name],
  );
  const rangeParam = props.params.get('range') ?? '1h';
  const range: RangeId = (RANGES as readonly string[]).includes(rangeParam)
    ? (rangeParam as RangeId)
    : '1h';
  const rangeSeconds = parseDuration(range)!;
  const direction: Direction = props.params.get('dir') === 'outbound' ? 'outbound' : 'inbound';
  const summary = usePoll(
    (signal) => loadSummary(w, direction, signal),
    [w.namespace, w.deployment, direction],
  );
  // Charts wait for the targets (the rate window depends on the scrape interval), unless those
  // failed to load.
  const scrapeSeconds =
    summary.data?.scrapeSeconds ?? (summary.loading ? undefined : DEFAULT_SCRAPE_SECONDS);
  const charts = usePoll(
    (signal) =>
      scrapeSeconds === undefined
        ? new Promise<never>(() => {})
        : loadCharts(w, direction, rangeSeconds, scrapeSeconds, signal),
    [w.namespace, w.deployment, direction, rangeSeconds, scrapeSeconds],
  );

  if (!w.namespace || !w.deployment) {
    return (
      <EmptyState title="No workload named">
        The address should read <code>#/workload/&lt;namespace&gt;/&lt;deployment&gt;</code>.{' '}
        <a href={href([])}>Pick one from the workloads.</a>
      </EmptyState>
    );
  }
  const f = summary.data?.figures ?? null;
  const health = healthOf(f?.success);
  const other = direction === 'inbound' ? 'outbound' : 'inbound';
  return (
    <section class="page">
      <div class="breadcrumb">
        <a href={href([])}>Workloads</a> › {w.namespace}
      </div>
      <div class="page-header">
        <h1>
          <HealthDot health={summary.data ? health : 'idle'} />
          {w.deployment}
        </h1>
        <span class="label-chip">namespace={w.namespace}</span>
        <span class="label-chip">deployment={w.deployment}</span>
        <span class="spacer" />
        <Freshness updatedAt={summary.updatedAt} failed={summary.error !== undefined} />
        <Segmented
          label="Time range"
          options={RANGE_OPTIONS}
          value={range}
          onChange={(v) => replaceParams({ range: v })}
        />
      </div>
      <div class="tabs" role="tablist">
        {DIRECTIONS.map((d) => (
          <button
            key={d.value}
            type="button"
            role="tab"
            aria-selected={direction === d.value}
            class={direction === d.value ? 'active' : ''}
            onClick={() => replaceParams({ dir: d.value })}
          >
            {d.label}
            <span class="muted">
              {' '}
              {d.value === 'inbound'
                ? `(requests to ${w.deployment})`
                : `(requests from ${w.deployment})`}
            </span>
          </button>
        ))}
      </div>
      <StaleBanner error={summary.data ? summary.error : undefined} />
      {summary.data === undefined ? (
        summary.loading ? (
          <Loading what={`${w.namespace}/${w.deployment}`} rows={2} />
        ) : (
          <ErrorState error={summary.error!} title="Cannot load the workload's figures" />
        )
      ) : (
        <>
          {f === null ? (
            <div class="banner warn">
              No {direction} requests for {w.namespace}/{w.deployment} in the last minute
              {summary.data.pods.length === 0 ? ', and no pod of it is scraped' : ''}. Try the{' '}
              <button type="button" class="link" onClick={() => replaceParams({ dir: other })}>
                {other} traffic
              </button>{' '}
              or a longer range below.
            </div>
          ) : null}
          <div class="cards">
            <Card
              label="Success"
              value={formatPercent(f?.success)}
              tone={health}
              sub={HEALTH_WORD[health]}
            />
            <Card label="RPS" value={formatRps(f?.rps)} sub="last minute" />
            <Card label="P50" value={formatMs(f?.p50)} />
            <Card label="P95" value={formatMs(f?.p95)} />
            <Card label="P99" value={formatMs(f?.p99)} />
            <Card label="TCP connections" value={formatCount(f?.tcpConnections)} sub="open now" />
            <Card
              label="Pods"
              value={formatCount(summary.data.pods.length)}
              sub={`${summary.data.pods.filter((p) => p.target?.health === 'up').length} up`}
            />
          </div>
        </>
      )}
      {charts.data === undefined ? (
        charts.error ? (
          <ErrorState error={charts.error} title="Cannot load the charts" />
        ) : (
          <Loading what="charts" rows={3} />
        )
      ) : (
        <>
          <StaleBanner error={charts.error} />
          <div class="grid-2 charts">
            {charts.data.charts.map((c) => (
              <ChartPanel key={c.plan.title} c={c} times={charts.data!.times} />
            ))}
          </div>
          <p class="footnote">
            Step {formatSeconds(charts.data.stepSeconds)}, <code>rate()</code> over{' '}
            {formatSeconds(charts.data.windowSeconds)} (step + scrape interval, at least 4 scrape
            intervals).
          </p>
        </>
      )}
      {summary.data ? (
        <>
          <div class="grid-2 section">
            <EdgePanel
              title="Called by"
              empty={`No meshed workload sent requests to ${w.deployment} in the last minute.`}
              rows={summary.data.callers}
              nsLabel="namespace"
              nameLabel="deployment"
              unmeshedRps={summary.data.unmeshedRps}
            />
            <EdgePanel
              title="Calls"
              empty={`${w.deployment} sent no requests through its proxy in the last minute.`}
              rows={summary.data.callees}
              nsLabel="dst_namespace"
              nameLabel="dst_deployment"
              unmeshedRps={null}
            />
          </div>
          <PodsPanel pods={summary.data.pods} />
        </>
      ) : null}
    </section>
  );
}

function EdgePanel(props: {
  title: string;
  empty: string;
  rows: StatFigures[];
  nsLabel: string;
  nameLabel: string;
  unmeshedRps: number | null;
}) {
  const n = props.rows.length + (props.unmeshedRps !== null ? 1 : 0);
  return (
    <div class="panel flush edges" data-edges={props.title}>
      <h2 class="panel-title">
        {props.title} <span class="count">({n})</span>
      </h2>
      {n === 0 ? (
        <div class="state empty inline">{props.empty}</div>
      ) : (
        <table class="data">
          <thead>
            <tr>
              <th>Workload</th>
              <th class="num">Success</th>
              <th class="num">RPS</th>
            </tr>
          </thead>
          <tbody>
            {props.rows.map((r) => {
              const ns = r.labels[props.nsLabel] ?? '';
              const name = r.labels[props.nameLabel] ?? '';
              const h = healthOf(r.success);
              return (
                <tr key={`${ns}/${name}`} data-edge={`${ns}/${name}`}>
                  <td>
                    <HealthDot health={h} />
                    {name ? (
                      <a class="workload-name" href={href(['workload', ns, name])}>
                        <span class="ns">{ns}/</span>
                        {name}
                      </a>
                    ) : (
                      <span class="muted">unknown workload{ns ? ` in ${ns}` : ''}</span>
                    )}
                  </td>
                  <td class={`num success ${h}`}>{formatPercent(r.success)}</td>
                  <td class="num">{formatRps(r.rps)}</td>
                </tr>
              );
            })}
            {props.unmeshedRps !== null ? (
              <tr>
                <td class="muted" title="inbound responses minus those of meshed callers">
                  <HealthDot health="idle" title="no proxy" />
                  clients without a proxy
                </td>
                <td class="num muted">-</td>
                <td class="num muted">≈ {formatRps(props.unmeshedRps)}</td>
              </tr>
            ) : null}
          </tbody>
        </table>
      )}
    </div>
  );
}

function PodsPanel({ pods }: { pods: PodRow[] }) {
  const now = useNow(1000);
  return (
    <div class="panel flush section pods">
      <h2 class="panel-title">
        Pods <span class="count">({pods.length})</span>
      </h2>
      {pods.length === 0 ? (
        <div class="state empty inline">
          No target with these <code>namespace</code> and <code>deployment</code> labels is scraped.{' '}
          <a href={href(['targets'])}>See the targets.</a>
        </div>
      ) : (
        <table class="data">
          <thead>
            <tr>
              <th>Pod</th>
              <th>Health</th>
              <th class="num">Success</th>
              <th class="num">RPS</th>
              <th>Last scrape</th>
              <th class="num">Duration</th>
              <th>Metrics</th>
            </tr>
          </thead>
          <tbody>
            {pods.map((p) => (
              <tr key={p.pod} data-pod={p.pod}>
                <td class="mono">{p.pod}</td>
                <td>
                  {p.target ? (
                    <HealthPill health={p.target.health} />
                  ) : (
                    <span class="muted">not scraped</span>
                  )}
                  {p.target?.lastError ? (
                    <span class="bad error-inline" title={p.target.lastError}>
                      {' '}
                      {p.target.lastError}
                    </span>
                  ) : null}
                </td>
                <td class={`num success ${healthOf(p.figures?.success)}`}>
                  {formatPercent(p.figures?.success)}
                </td>
                <td class="num">{formatRps(p.figures?.rps)}</td>
                <td>{p.target ? formatAgo(p.target.lastScrape, now) : '-'}</td>
                <td class="num">{p.target ? formatSeconds(p.target.lastScrapeDuration) : '-'}</td>
                <td>
                  {p.target ? (
                    <a href={p.target.scrapeUrl} target="_blank" rel="noreferrer" class="mono">
                      {p.target.scrapeUrl}
                    </a>
                  ) : (
                    '-'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

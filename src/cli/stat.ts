/**
 * The engine of `meshmetrics stat`: which PromQL to send for a set of resources, and how
 * to turn the answers into rows. It follows linkerd-viz's metrics-api (StatSummary,
 * `viz/metrics-api/stat_summary.go`) and the CLI arithmetic of `viz/cmd/stat.go`:
 *
 * - requests: `sum(increase(response_total<L>[W])) by (<G>, classification, tls)`;
 *   SUCCESS = success / (success + failure), RPS = (success + failure) / W, so RPS counts
 *   completed responses;
 * - latency: `histogram_quantile(q, sum(irate(response_latency_ms_bucket<L>[W])) by (le, <G>))`
 *   for q = 0.5, 0.95, 0.99, rounded to whole ms. `accurate` swaps irate for rate over the
 *   whole window: irate only sees the last two samples whatever the window (linkerd#3918);
 * - TCP: `sum(tcp_open_connections<L>)` and `sum(increase(tcp_{read,write}_bytes_total<L+peer>[W]))`.
 *
 * MESHED has no Kubernetes to ask here, so it counts pods through the scrape: meshed pods
 * are those whose proxy exports `process_start_time_seconds`, the total those with an
 * `up` series. NaN answers count as 0, as in metrics-api.
 * @module
 */
import { UsageError } from './flags.js';
import { sampleValue, type Metric, type PromApiClient, type VectorSample } from './prom-api.js';
import { formatFixed, formatTable } from './table.js';

/** A kind of resource `stat` can report on. */
export interface ResourceKind {
  /** The kind as printed in JSON (`deployment`, `pod`, …). */
  kind: string;
  /** The metric label naming a resource of this kind (`deployment`, `k8s_job`, …). */
  label: string;
  /** Names the user may type for it. */
  aliases: readonly string[];
}

/** The kinds, with their kubectl short names. */
export const RESOURCE_KINDS: readonly ResourceKind[] = [
  { kind: 'deployment', label: 'deployment', aliases: ['deploy', 'deployment', 'deployments'] },
  { kind: 'pod', label: 'pod', aliases: ['po', 'pod', 'pods'] },
  { kind: 'namespace', label: 'namespace', aliases: ['ns', 'namespace', 'namespaces'] },
  { kind: 'statefulset', label: 'statefulset', aliases: ['sts', 'statefulset', 'statefulsets'] },
  { kind: 'daemonset', label: 'daemonset', aliases: ['ds', 'daemonset', 'daemonsets'] },
  { kind: 'job', label: 'k8s_job', aliases: ['job', 'jobs'] },
  {
    kind: 'replicationcontroller',
    label: 'replicationcontroller',
    aliases: ['rc', 'replicationcontroller', 'replicationcontrollers'],
  },
  { kind: 'replicaset', label: 'replicaset', aliases: ['rs', 'replicaset', 'replicasets'] },
  { kind: 'authority', label: 'authority', aliases: ['au', 'authority', 'authorities'] },
  { kind: 'service', label: 'service', aliases: ['svc', 'service', 'services'] },
];

/** Finds a kind by any of its names; throws a UsageError naming the accepted ones. */
export function resourceKind(word: string): ResourceKind {
  const k = RESOURCE_KINDS.find((r) => r.aliases.includes(word.toLowerCase()));
  if (!k) {
    throw new UsageError(
      `unknown resource type "${word}"; valid types: ${RESOURCE_KINDS.map((r) => r.aliases[0]).join(', ')}`,
    );
  }
  return k;
}

/** A resource the user asked about: a kind and, optionally, one name. */
export interface ResourceRef {
  kind: ResourceKind;
  name: string;
}

/**
 * Parses the positional arguments: `deploy`, `deploy/web`, `deploy web books` and
 * several `type/name` arguments (kinds may not be mixed with bare names).
 */
export function parseResources(args: readonly string[]): ResourceRef[] {
  if (args.length === 0)
    throw new UsageError('please specify a resource type, e.g. "deploy" or "deploy/web"');
  const out: ResourceRef[] = [];
  if (!args[0].includes('/')) {
    const kind = resourceKind(args[0]);
    if (args.length === 1) return [{ kind, name: '' }];
    for (const a of args.slice(1)) {
      if (a.includes('/'))
        throw new UsageError(
          `cannot mix "${args[0]}" with "${a}": use TYPE NAME... or TYPE/NAME...`,
        );
      out.push({ kind, name: a });
    }
    return out;
  }
  for (const a of args) {
    const slash = a.indexOf('/');
    if (slash < 0)
      throw new UsageError(`"${a}" must be TYPE/NAME when other arguments are TYPE/NAME`);
    out.push({ kind: resourceKind(a.slice(0, slash)), name: a.slice(slash + 1) });
  }
  return out;
}

/** Everything that shapes the queries of one `stat` call. */
export interface StatOptions {
  resources: ResourceRef[];
  /** Namespace of the resources; ignored with `allNamespaces`. */
  namespace: string;
  allNamespaces: boolean;
  /** Window in ms. */
  windowMs: number;
  /** `--to`: only traffic sent to this resource. */
  to: ResourceRef | null;
  toNamespace: string;
  /** `--from`: only traffic received from this resource. */
  from: ResourceRef | null;
  fromNamespace: string;
  /** `-l`: a Kubernetes label selector over pod labels (copied onto the series at scrape). */
  selector: string;
  /** Latency from rate over the whole window instead of irate. */
  accurate: boolean;
  /** Cluster domain used to match service authorities. */
  clusterDomain: string;
}

/** One row of the output. Fields are null where there is no data. */
export interface StatRow {
  namespace: string;
  kind: string;
  name: string;
  meshed: string | null;
  /** Success ratio, 0..1. */
  success: number | null;
  rps: number | null;
  latencyP50: number | null;
  latencyP95: number | null;
  latencyP99: number | null;
  tcpOpenConnections: number | null;
  tcpReadBytesRate: number | null;
  tcpWriteBytesRate: number | null;
}

/** The PromQL of one resource request, with how to read a row key off a result. */
export interface StatQueries {
  ref: ResourceRef;
  requests: string;
  latency: [string, string, string];
  tcpConnections: string | null;
  tcpRead: string | null;
  tcpWrite: string | null;
  meshed: string | null;
  total: string | null;
  /** Labels of a result that hold the row's namespace and name. */
  nsLabel: string;
  nameLabel: string;
}

/** Renders a selector `{a="x", b!=""}` from matcher strings; quoting is the caller's. */
function selector(ms: readonly string[]): string {
  return `{${ms.join(', ')}}`;
}

/** A PromQL string literal. */
export function promString(s: string): string {
  return JSON.stringify(s);
}

/** A Prometheus duration literal for a window in ms, e.g. `1m`, `90s`, `1500ms`. */
export function promDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** The label name a Kubernetes label key becomes on the series (`pod-template-hash` → `pod_template_hash`). */
function sanitizeLabel(key: string): string {
  const s = key
    .replace(/^linkerd\.io\/proxy-/, '')
    .replace(/^linkerd\.io\//, '')
    .replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** Converts `app=web,tier!=db,env in (a,b),!x,y` into PromQL matchers. */
export function selectorMatchers(sel: string): string[] {
  const out: string[] = [];
  // Split on commas outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of sel) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(p))) {
      out.push(`${sanitizeLabel(m[1])}${m[2] === '!=' ? '!=' : '='}${promString(m[3])}`);
    } else if ((m = /^([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(p))) {
      const values = m[3].split(',').map((v) => v.trim().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
      out.push(
        `${sanitizeLabel(m[1])}${m[2] === 'in' ? '=~' : '!~'}${promString(values.join('|'))}`,
      );
    } else if ((m = /^!([\w./-]+)$/.exec(p))) out.push(`${sanitizeLabel(m[1])}=""`);
    else if ((m = /^([\w./-]+)$/.exec(p))) out.push(`${sanitizeLabel(m[1])}!=""`);
    else throw new UsageError(`cannot parse label selector "${sel}" at "${p}"`);
  }
  return out;
}

/** Builds the queries of one resource request (metrics-api's StatSummary for one resource). */
export function buildStatQueries(ref: ResourceRef, o: StatOptions): StatQueries {
  const w = promDuration(o.windowMs);
  const k = ref.kind;
  const sel = o.selector ? selectorMatchers(o.selector) : [];
  const ns = o.allNamespaces ? '' : o.namespace;
  /** The resource's own matchers: its namespace and name. */
  const own = (nsLabel: string, nameLabel: string, prefix = ''): string[] => {
    const ms: string[] = [];
    if (k.kind === 'namespace') {
      if (ref.name) ms.push(`${prefix}namespace=${promString(ref.name)}`);
      return ms;
    }
    if (ns) ms.push(`${nsLabel}=${promString(ns)}`);
    if (ref.name) ms.push(`${nameLabel}=${promString(ref.name)}`);
    else if (nameLabel) ms.push(`${nameLabel}!=""`);
    return ms;
  };
  let L: string[];
  let G: string[];
  let peer: string;
  let nsLabel = 'namespace';
  let nameLabel = k.label;
  if (k.kind === 'service') {
    const authority = ref.name
      ? `^${escapeRegex(`${ref.name}.${ns || '[^.]+'}.svc.${o.clusterDomain}`)}.*`
      : '.+';
    L = ['direction="outbound"', `authority=~${promString(authority)}`];
    if (ns && !ref.name) L.push(`dst_namespace=${promString(ns)}`);
    G = ['dst_namespace', 'dst_service'];
    nsLabel = 'dst_namespace';
    nameLabel = 'dst_service';
    peer = 'dst';
  } else if (o.from) {
    // The selected resource is the destination of traffic sent by the --from resource.
    const fromNs = o.fromNamespace || o.namespace;
    L = ['direction="outbound"'];
    if (o.from.kind.kind === 'namespace') L.push(`namespace=${promString(o.from.name || fromNs)}`);
    else {
      L.push(`namespace=${promString(fromNs)}`);
      if (o.from.name) L.push(`${o.from.kind.label}=${promString(o.from.name)}`);
    }
    const dstName = k.kind === 'authority' ? 'authority' : `dst_${k.label}`;
    if (ns) L.push(`dst_namespace=${promString(ns)}`);
    if (k.kind === 'namespace') {
      if (ref.name) L.push(`dst_namespace=${promString(ref.name)}`);
      G = ['dst_namespace'];
      nameLabel = 'dst_namespace';
    } else {
      L.push(ref.name ? `${dstName}=${promString(ref.name)}` : `${dstName}!=""`);
      G = ['dst_namespace', dstName];
      nameLabel = dstName;
    }
    nsLabel = 'dst_namespace';
    peer = 'dst';
  } else if (o.to) {
    const toNs = o.toNamespace || o.namespace;
    L = ['direction="outbound"', ...own('namespace', k.label)];
    if (o.to.kind.kind === 'namespace') L.push(`dst_namespace=${promString(o.to.name || toNs)}`);
    else {
      const toLabel = o.to.kind.kind === 'authority' ? 'authority' : `dst_${o.to.kind.label}`;
      L.push(`dst_namespace=${promString(toNs)}`);
      if (o.to.name) L.push(`${toLabel}=${promString(o.to.name)}`);
    }
    G = k.kind === 'namespace' ? ['namespace'] : ['namespace', k.label];
    peer = 'dst';
  } else {
    L = ['direction="inbound"', ...own('namespace', k.label)];
    G = k.kind === 'namespace' ? ['namespace'] : ['namespace', k.label];
    peer = 'src';
  }
  L.push(...sel);
  if (k.kind === 'namespace') nameLabel = G[G.length - 1];
  const by = G.join(', ');
  const l = selector(L);
  const fn = o.accurate ? 'rate' : 'irate';
  const q = (x: number): string =>
    `histogram_quantile(${x}, sum(${fn}(response_latency_ms_bucket${l}[${w}])) by (le, ${by}))`;
  const withPeer = selector([...L, `peer="${peer}"`]);
  const tcp = k.kind !== 'authority';
  // Pods are counted on the resource's own labels, without direction (process and up have none).
  const podSel = selector([...own('namespace', k.kind === 'namespace' ? '' : k.label), ...sel]);
  const podGroup = k.kind === 'namespace' ? 'namespace' : `namespace, ${k.label}`;
  const podInner = k.kind === 'pod' ? podGroup : `pod, ${podGroup}`;
  const meshedOk = k.kind !== 'authority' && k.kind !== 'service';
  return {
    ref,
    requests: `sum(increase(response_total${l}[${w}])) by (${by}, classification, tls)`,
    latency: [q(0.5), q(0.95), q(0.99)],
    tcpConnections: tcp ? `sum(tcp_open_connections${l}) by (${by})` : null,
    tcpRead: tcp ? `sum(increase(tcp_read_bytes_total${withPeer}[${w}])) by (${by})` : null,
    tcpWrite: tcp ? `sum(increase(tcp_write_bytes_total${withPeer}[${w}])) by (${by})` : null,
    meshed: meshedOk
      ? `count(count(process_start_time_seconds${podSel}) by (${podInner})) by (${podGroup})`
      : null,
    total: meshedOk ? `count(count(up${podSel}) by (${podInner})) by (${podGroup})` : null,
    nsLabel,
    nameLabel,
  };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A value as metrics-api reads it: NaN becomes 0. */
function num(s: VectorSample): number {
  const v = sampleValue(s.value);
  return Number.isNaN(v) ? 0 : v;
}

interface Acc {
  row: StatRow;
  success: number;
  failure: number;
  hasRequests: boolean;
}

/**
 * Runs the queries of every requested resource concurrently (any failure fails the whole
 * call, as in metrics-api) and returns the rows, sorted by namespace, kind and name.
 */
export async function statSummary(client: PromApiClient, o: StatOptions): Promise<StatRow[]> {
  const plans = o.resources.map((r) => buildStatQueries(r, o));
  const vec = async (q: string | null): Promise<VectorSample[]> => {
    if (q === null) return [];
    const a = await client.query(q);
    return a.data.resultType === 'vector' ? a.data.result : [];
  };
  const answers = await Promise.all(
    plans.map((p) =>
      Promise.all([
        vec(p.requests),
        ...p.latency.map(vec),
        vec(p.tcpConnections),
        vec(p.tcpRead),
        vec(p.tcpWrite),
        vec(p.meshed),
        vec(p.total),
      ]),
    ),
  );
  const windowSec = o.windowMs / 1000;
  const rows: StatRow[] = [];
  plans.forEach((p, i) => {
    const [req, p50, p95, p99, conn, read, write, meshed, total] = answers[i];
    const accs = new Map<string, Acc>();
    const at = (m: Metric, create: boolean): Acc | undefined => {
      const namespace = p.ref.kind.kind === 'namespace' ? '' : (m[p.nsLabel] ?? '');
      const name = m[p.nameLabel] ?? '';
      const key = `${namespace}\x00${name}`;
      let a = accs.get(key);
      if (!a && create) {
        a = {
          row: {
            namespace: p.ref.kind.kind === 'namespace' ? name : namespace,
            kind: p.ref.kind.kind,
            name,
            meshed: null,
            success: null,
            rps: null,
            latencyP50: null,
            latencyP95: null,
            latencyP99: null,
            tcpOpenConnections: null,
            tcpReadBytesRate: null,
            tcpWriteBytesRate: null,
          },
          success: 0,
          failure: 0,
          hasRequests: false,
        };
        accs.set(key, a);
      }
      return a;
    };
    for (const s of req) {
      const a = at(s.metric, true)!;
      a.hasRequests = true;
      if (s.metric.classification === 'success') a.success += num(s);
      else if (s.metric.classification === 'failure') a.failure += num(s);
    }
    // TCP connections and pod counts alone also make a row (printed with '-' metrics).
    for (const s of [...conn, ...meshed]) at(s.metric, true);
    for (const a of accs.values()) {
      const r = a.row;
      r.meshed = p.meshed === null ? null : meshedOf(a, meshed, total, at) || '0/0';
      if (!a.hasRequests) continue;
      const n = a.success + a.failure;
      r.success = n > 0 ? a.success / n : null;
      r.rps = n / windowSec;
      r.latencyP50 = r.latencyP95 = r.latencyP99 = 0;
      r.tcpOpenConnections = 0;
      r.tcpReadBytesRate = r.tcpWriteBytesRate = p.tcpConnections === null ? null : 0;
      if (p.tcpConnections === null) r.tcpOpenConnections = null;
    }
    const put = (xs: VectorSample[], f: (r: StatRow, v: number) => void): void => {
      for (const s of xs) {
        const a = at(s.metric, false);
        if (a?.hasRequests) f(a.row, num(s));
      }
    };
    put(p50, (r, v) => (r.latencyP50 = Math.round(v)));
    put(p95, (r, v) => (r.latencyP95 = Math.round(v)));
    put(p99, (r, v) => (r.latencyP99 = Math.round(v)));
    put(conn, (r, v) => (r.tcpOpenConnections = Math.round(v)));
    put(read, (r, v) => (r.tcpReadBytesRate = v / windowSec));
    put(write, (r, v) => (r.tcpWriteBytesRate = v / windowSec));
    for (const a of accs.values())
      if (a.row.name !== '' || p.ref.kind.kind === 'namespace') rows.push(a.row);
  });
  rows.sort((a, b) =>
    a.namespace < b.namespace
      ? -1
      : a.namespace > b.namespace
        ? 1
        : a.kind < b.kind
          ? -1
          : a.kind > b.kind
            ? 1
            : a.name < b.name
              ? -1
              : a.name > b.name
                ? 1
                : 0,
  );
  return rows;
}

/** `meshed/total` pods of a row's resource, or '' when the counts do not mention it. */
function meshedOf(
  a: Acc,
  meshed: VectorSample[],
  total: VectorSample[],
  at: (m: Metric, create: boolean) => Acc | undefined,
): string {
  let m = 0;
  let t = 0;
  for (const s of meshed) if (at(s.metric, false) === a) m = num(s);
  for (const s of total) if (at(s.metric, false) === a) t = num(s);
  if (m === 0 && t === 0) return '';
  return `${m}/${Math.max(m, t)}`;
}

/** Output formats of `stat`. */
export type StatFormat = 'table' | 'wide' | 'json';

/** Prints rows as `linkerd viz stat` does. `prefixKind` writes `deploy/web` style names. */
export function formatStat(
  rows: readonly StatRow[],
  format: StatFormat,
  allNamespaces: boolean,
  prefixKind: boolean,
): string {
  if (format === 'json') {
    const out = rows.map((r) => ({
      namespace: r.namespace,
      kind: r.kind,
      name: r.name,
      meshed: r.meshed,
      success: r.success,
      rps: r.rps,
      latency_ms_p50: r.latencyP50,
      latency_ms_p95: r.latencyP95,
      latency_ms_p99: r.latencyP99,
      tcp_open_connections: r.tcpOpenConnections,
      tcp_read_bytes_rate: r.tcpReadBytesRate,
      tcp_write_bytes_rate: r.tcpWriteBytesRate,
    }));
    return JSON.stringify(out, null, 2) + '\n';
  }
  const showTcp = rows.some((r) => r.kind !== 'authority');
  const showMeshed = rows.some((r) => r.meshed !== null);
  const header: string[] = [];
  if (allNamespaces) header.push('NAMESPACE');
  header.push('NAME');
  if (showMeshed) header.push('MESHED');
  header.push('SUCCESS', 'RPS', 'LATENCY_P50', 'LATENCY_P95', 'LATENCY_P99');
  if (showTcp) header.push('TCP_CONN');
  if (format === 'wide' && showTcp) header.push('READ_BYTES/SEC', 'WRITE_BYTES/SEC');
  const body = rows.map((r) => {
    const cells: string[] = [];
    if (allNamespaces) cells.push(r.namespace);
    cells.push(prefixKind ? `${r.kind}/${r.name}` : r.name);
    if (showMeshed) cells.push(r.meshed ?? '-');
    const has = r.rps !== null;
    cells.push(
      has && r.success !== null ? `${formatFixed(r.success * 100, 2)}%` : '-',
      has ? `${formatFixed(r.rps!, 1)}rps` : '-',
      has ? `${r.latencyP50}ms` : '-',
      has ? `${r.latencyP95}ms` : '-',
      has ? `${r.latencyP99}ms` : '-',
    );
    if (showTcp)
      cells.push(has && r.tcpOpenConnections !== null ? String(r.tcpOpenConnections) : '-');
    if (format === 'wide' && showTcp) {
      cells.push(
        has && r.tcpReadBytesRate !== null ? `${formatFixed(r.tcpReadBytesRate, 1)}B/s` : '-',
      );
      cells.push(
        has && r.tcpWriteBytesRate !== null ? `${formatFixed(r.tcpWriteBytesRate, 1)}B/s` : '-',
      );
    }
    return cells;
  });
  return formatTable(header, body);
}

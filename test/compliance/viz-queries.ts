/**
 * The PromQL linkerd-viz issues (reference/linkerd-metrics.md §3.1 and §3.3), filled in for
 * the resources of the simulated mesh (test/compliance/linkerd-data.ts):
 * - StatSummary (`viz stat`): requests by classification and tls, latency quantiles from
 *   `irate` of the histogram, TCP connections and byte increases, for the deployment, pod
 *   and namespace kinds, with the default selector, `--to` and `--from`;
 * - edges (`viz edges`) for deployments and pods, and the pod-liveness query;
 * - the Grafana boards' success rate, request rate (tls split), inbound (`irate`) and
 *   outbound (`rate`) latency, workload counts, TCP failures and connections.
 *
 * `<W>` takes each of {@link VIZ_WINDOWS}; Grafana's `$__rate_interval` is filled the same way.
 * Gateways and policy (authz) queries are left out: the data has no such families, so both
 * sides would only agree on an empty answer.
 * @module
 */

/** One viz query with where it comes from. */
export interface VizQuery {
  /** Short origin, e.g. `stat deploy/web --to deploy/emoji`. */
  origin: string;
  query: string;
}

/** The windows `<W>` takes: the CLI default, and a wider one. */
export const VIZ_WINDOWS = ['1m', '5m'] as const;
const QUANTILES = ['0.5', '0.95', '0.99'];

/** A StatSummary selection: its label matchers, grouping, and TCP peer. */
interface Selection {
  origin: string;
  /** Matchers without braces, e.g. `direction="inbound", namespace="emojivoto"`. */
  l: string;
  g: string;
  peer: 'src' | 'dst';
}

function statSummary(s: Selection): VizQuery[] {
  const out: VizQuery[] = [];
  const q = (query: string): void => void out.push({ origin: s.origin, query });
  q(`sum(tcp_open_connections{${s.l}}) by (${s.g})`);
  for (const w of VIZ_WINDOWS) {
    q(`sum(increase(response_total{${s.l}}[${w}])) by (${s.g}, classification, tls)`);
    for (const x of QUANTILES)
      q(
        `histogram_quantile(${x}, sum(irate(response_latency_ms_bucket{${s.l}}[${w}])) by (le, ${s.g}))`,
      );
    q(`sum(increase(tcp_read_bytes_total{${s.l}, peer="${s.peer}"}[${w}])) by (${s.g})`);
    q(`sum(increase(tcp_write_bytes_total{${s.l}, peer="${s.peer}"}[${w}])) by (${s.g})`);
  }
  return out;
}

/** [namespace, deployment, one pod of it] for the resources the queries name. */
const DEPLOYS: readonly [string, string, string][] = [
  ['emojivoto', 'web', 'web-5f86686c4d-7xk2p'],
  ['emojivoto', 'voting', 'voting-ff4c54b8d-xqlrt'],
  ['booksapp', 'webapp', 'webapp-7d9c4f6b8-r8w4c'],
];
/** [client deployment, server deployment, namespace] for `--to` and `--from`. */
const EDGES: readonly [string, string, string][] = [
  ['web', 'emoji', 'emojivoto'],
  ['web', 'voting', 'emojivoto'],
  ['webapp', 'books', 'booksapp'],
];

function statSelections(): Selection[] {
  const sel: Selection[] = [];
  for (const [ns, deploy, pod] of DEPLOYS) {
    sel.push({
      origin: `stat deploy/${deploy} -n ${ns}`,
      l: `direction="inbound", namespace="${ns}", deployment="${deploy}"`,
      g: 'namespace, deployment',
      peer: 'src',
    });
    sel.push({
      origin: `stat pod/${pod} -n ${ns}`,
      l: `direction="inbound", namespace="${ns}", pod="${pod}"`,
      g: 'namespace, pod',
      peer: 'src',
    });
  }
  for (const ns of ['emojivoto', 'booksapp']) {
    sel.push({
      origin: `stat deploy -n ${ns}`,
      l: `direction="inbound", namespace="${ns}"`,
      g: 'namespace, deployment',
      peer: 'src',
    });
    sel.push({
      origin: `stat ns/${ns}`,
      l: `direction="inbound", namespace="${ns}"`,
      g: 'namespace',
      peer: 'src',
    });
  }
  for (const [from, to, ns] of EDGES) {
    sel.push({
      origin: `stat deploy/${from} -n ${ns} --to deploy/${to}`,
      l: `direction="outbound", namespace="${ns}", deployment="${from}", dst_namespace="${ns}", dst_deployment="${to}"`,
      g: 'namespace, deployment',
      peer: 'dst',
    });
    sel.push({
      origin: `stat deploy/${to} -n ${ns} --from deploy/${from}`,
      l: `direction="outbound", namespace="${ns}", deployment="${from}", dst_namespace="${ns}", dst_deployment="${to}"`,
      g: 'dst_namespace, dst_deployment',
      peer: 'dst',
    });
  }
  return sel;
}

function edgesAndLiveness(): VizQuery[] {
  const out: VizQuery[] = [];
  for (const res of ['deployment', 'pod'])
    out.push({
      origin: `edges ${res}`,
      query:
        `sum(tcp_open_connections{direction="outbound", ${res}!="", dst_${res}!=""}) ` +
        `by (${res}, dst_${res}, pod, server_id, namespace, dst_namespace, no_tls_reason)`,
    });
  for (const ns of ['emojivoto', 'booksapp'])
    out.push({
      origin: 'pod liveness',
      query: `max(process_start_time_seconds{namespace="${ns}"}) by (pod, namespace)`,
    });
  return out;
}

function grafana(): VizQuery[] {
  const out: VizQuery[] = [];
  const q = (origin: string, query: string): void => void out.push({ origin, query });
  for (const [ns, deploy] of DEPLOYS) {
    const sel = `namespace="${ns}", deployment="${deploy}"`;
    const inb = `${sel}, direction="inbound"`;
    const outb = `${sel}, direction="outbound"`;
    const o = `grafana deployment ${ns}/${deploy}`;
    // The outbound panels only for workloads that call others (a leaf's are empty).
    const calls = deploy !== 'voting';
    q(
      `${o} workloads`,
      `count(count(request_total{dst_namespace="${ns}", dst_deployment="${deploy}", direction="outbound"}) by (namespace, deployment))`,
    );
    q(`${o} tcp connections`, `tcp_open_connections{${sel}}`);
    q(`${o} tcp connections`, `sum(tcp_open_connections{${sel}}) by (direction, peer)`);
    for (const w of VIZ_WINDOWS) {
      for (const by of ['deployment', 'pod'])
        q(
          `${o} success rate`,
          `sum(irate(response_total{classification="success", ${inb}}[${w}])) by (${by}) / ` +
            `sum(irate(response_total{${inb}}[${w}])) by (${by})`,
        );
      if (calls)
        q(
          `${o} outbound success rate`,
          `sum(irate(response_total{classification="success", ${outb}}[${w}])) by (dst_deployment) / ` +
            `sum(irate(response_total{${outb}}[${w}])) by (dst_deployment)`,
        );
      q(`${o} request rate`, `sum(irate(request_total{${inb}, tls="true"}[${w}])) by (deployment)`);
      q(
        `${o} request rate`,
        `sum(irate(request_total{${inb}, tls!="true"}[${w}])) by (deployment)`,
      );
      for (const x of QUANTILES) {
        q(
          `${o} inbound latency`,
          `histogram_quantile(${x}, sum(irate(response_latency_ms_bucket{${inb}}[${w}])) by (le, deployment))`,
        );
        if (calls)
          q(
            `${o} outbound latency`,
            `histogram_quantile(${x}, sum(rate(response_latency_ms_bucket{${outb}}[${w}])) by (le, dst_deployment))`,
          );
      }
      q(
        `${o} tcp failures`,
        `sum(irate(tcp_close_total{${sel}, errno!=""}[${w}])) by (direction, peer, errno)`,
      );
    }
  }
  q('grafana health', 'process_start_time_seconds{job="linkerd-proxy"}');
  return out;
}

/** Every viz query, in a fixed order. */
export function vizQueries(): VizQuery[] {
  return [...statSelections().flatMap(statSummary), ...edgesAndLiveness(), ...grafana()];
}

/**
 * The Grafana template variables (`label_values(...)`), as label-value requests:
 * [label, `match[]` selector].
 */
export const VIZ_LABEL_VALUES: readonly [string, string][] = [
  ['namespace', 'process_start_time_seconds{deployment!=""}'],
  ['deployment', 'process_start_time_seconds{namespace="emojivoto"}'],
  ['dst_deployment', 'request_total{namespace="emojivoto"}'],
  ['dst_deployment', 'request_total{namespace="booksapp"}'],
];

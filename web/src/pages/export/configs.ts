/**
 * The text of the export page's blocks, for one collector address and a list of `match[]`
 * selectors. The federation job and the ServiceMonitor keep the shape of Linkerd's
 * "Exporting Metrics" docs; only the target (this collector instead of the viz Prometheus
 * pod) and the selectors change.
 */

/** Where this collector answers, as the browser reached it. */
export interface CollectorAddress {
  /** `http` or `https`. */
  scheme: string;
  /** `host:port`. */
  host: string;
  /** The path prefix the collector is served under, `/` at the root. */
  prefix: string;
}

/** The base URL, `http://host:port/prefix/`. */
export function baseUrl(a: CollectorAddress): string {
  return `${a.scheme}://${a.host}${a.prefix}`;
}

/** The docs' own selectors, used until the collector reports the jobs it scrapes. */
export const DOCS_MATCHERS = ['{job="linkerd-proxy"}', '{job="linkerd-controller"}'];

/** `{job="x"}` for a job name, escaped as a PromQL string. */
export function jobMatcher(job: string): string {
  return `{job=${JSON.stringify(job)}}`;
}

/** Single-quoted YAML scalar (`'...'`, quotes doubled). */
function q(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** The Prometheus `scrape_configs` job that federates from this collector. */
export function federationJob(a: CollectorAddress, matchers: string[]): string {
  return [
    '# prometheus.yml of the Prometheus that federates from this collector',
    'scrape_configs:',
    "  - job_name: 'linkerd'",
    '    # This collector, where the docs discover the viz Prometheus pod',
    '    # (kubernetes_sd_configs + a keep rule on the container name).',
    '    static_configs:',
    `      - targets: [${q(a.host)}]`,
    ...(a.scheme === 'https' ? ['    scheme: https'] : []),
    '',
    '    honor_labels: true',
    `    metrics_path: ${q(`${a.prefix}federate`)}`,
    '',
    '    params:',
    "      'match[]':",
    ...matchers.map((m) => `        - ${q(m)}`),
    '',
  ].join('\n');
}

/** An IPv4 or bracketed IPv6 literal, which a Kubernetes Endpoints object can hold. */
function ipOf(host: string): string | undefined {
  const name = host.replace(/:\d+$/, '');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return name;
  const v6 = /^\[(.+)\]$/.exec(name);
  return v6?.[1];
}

function portOf(a: CollectorAddress): number {
  const m = /:(\d+)$/.exec(a.host);
  return m ? parseInt(m[1]!, 10) : a.scheme === 'https' ? 443 : 80;
}

/**
 * The docs' ServiceMonitor adapted to this collector: a selector-less Service and its
 * Endpoints give the collector a name in the cluster, and the ServiceMonitor scrapes
 * `/federate` through it with the same interval, timeout, `honorLabels` and `match[]`.
 */
export function serviceMonitor(a: CollectorAddress, matchers: string[]): string {
  const ip = ipOf(a.host);
  const loopback = ip !== undefined && (ip.startsWith('127.') || ip === '::1');
  const address =
    ip === undefined || loopback
      ? "'<collector IP>' # reachable from the cluster; " +
        (loopback
          ? `this page was opened on loopback ${ip}`
          : `resolve ${a.host.replace(/:\d+$/, '')}`)
      : ip;
  const port = portOf(a);
  return [
    '# If the collector runs in the cluster behind its own Service, keep only the',
    '# ServiceMonitor and point its selector at that Service.',
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    '  name: meshmetrics',
    '  namespace: linkerd-viz',
    '  labels:',
    '    app: meshmetrics',
    '    component: meshmetrics',
    'spec:',
    '  ports:',
    `  - name: admin-http`,
    `    port: ${port}`,
    `    targetPort: ${port}`,
    '---',
    'apiVersion: v1',
    'kind: Endpoints',
    'metadata:',
    '  name: meshmetrics',
    '  namespace: linkerd-viz',
    '  labels:',
    '    app: meshmetrics',
    'subsets:',
    '- addresses:',
    `  - ip: ${address}`,
    '  ports:',
    '  - name: admin-http',
    `    port: ${port}`,
    '---',
    'apiVersion: monitoring.coreos.com/v1',
    'kind: ServiceMonitor',
    'metadata:',
    '  labels:',
    '    k8s-app: linkerd-prometheus',
    '    release: monitoring',
    '  name: linkerd-federate',
    '  namespace: linkerd-viz',
    'spec:',
    '  endpoints:',
    '  - interval: 30s',
    '    scrapeTimeout: 30s',
    '    params:',
    '      match[]:',
    ...matchers.map((m) => `      - ${q(m)}`),
    `    path: ${a.prefix}federate`,
    '    port: admin-http',
    ...(a.scheme === 'https' ? ['    scheme: https'] : []),
    '    honorLabels: true',
    '  jobLabel: app',
    '  namespaceSelector:',
    '    matchNames:',
    '    - linkerd-viz',
    '  selector:',
    '    matchLabels:',
    '      component: meshmetrics',
    '',
  ].join('\n');
}

/**
 * The metric names Linkerd's viz dashboards and CLI read: a keep-list for a store that
 * should receive only what they need.
 */
export const VIZ_METRICS = [
  'request_total',
  'response_total',
  'response_latency_ms_bucket',
  'tcp_open_connections',
  'tcp_read_bytes_total',
  'tcp_write_bytes_total',
  'route_.*',
  'inbound_http_authz_.*',
  'process_start_time_seconds',
];

/** A `remote_write` section for this collector's config file, with placeholders. */
export function remoteWriteSection(): string {
  return [
    '# meshmetrics collector --config.file=... : ship every sample to your store',
    'remote_write:',
    '  - name: my-store',
    '    # Prometheus (started with --web.enable-remote-write-receiver): http://<prometheus>:9090/api/v1/write',
    '    # VictoriaMetrics: http://<victoria-metrics>:8428/api/v1/write',
    '    # Mimir / Cortex: http://<mimir>/api/v1/push',
    "    url: 'http://<your-store>:9090/api/v1/write'",
    '    # basic_auth:',
    '    #   username: <user>',
    '    #   password_file: /etc/meshmetrics/remote-write-password',
    '    # Optional: send only what the viz dashboards and the CLI read.',
    '    # write_relabel_configs:',
    '    #   - source_labels: [__name__]',
    `    #     regex: '${VIZ_METRICS.join('|')}'`,
    '    #     action: keep',
    '    queue_config:',
    '      max_shards: 10',
    '      max_samples_per_send: 2000',
    '',
  ].join('\n');
}

/** The receiving side for a Prometheus store. */
export const RECEIVER_NOTE =
  'prometheus --config.file=prometheus.yml --web.enable-remote-write-receiver';

/** POSIX-shell single quoting. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The curl commands of the docs' "Prometheus API" export option, against this collector. */
export function curlCommands(a: CollectorAddress, matchers: string[]): string {
  const base = baseUrl(a);
  const expr = 'sum(rate(request_total[1m])) by (deployment)';
  return [
    '# Instant query: requests per second by deployment, now',
    `curl -sG ${sh(`${base}api/v1/query`)} --data-urlencode ${sh(`query=${expr}`)}`,
    '',
    '# Range query: the last hour, one point a minute',
    `curl -sG ${sh(`${base}api/v1/query_range`)} --data-urlencode ${sh(`query=${expr}`)} \\`,
    '  --data-urlencode "start=$(($(date +%s) - 3600))" --data-urlencode "end=$(date +%s)" \\',
    "  --data-urlencode 'step=60'",
    '',
    '# Federation: the latest sample of every series the selectors match, in the text format',
    `curl -sG ${sh(`${base}federate`)} ${matchers
      .map((m) => `--data-urlencode ${sh(`match[]=${m}`)}`)
      .join(' ')}`,
    '',
  ].join('\n');
}

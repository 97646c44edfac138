/**
 * `meshmetrics stat`: success rate, request rate, latency percentiles and TCP figures per
 * workload, as `linkerd viz stat`, from any Prometheus-compatible server.
 * @module
 */
import {
  flagsHelp,
  parseFlags,
  prometheusUrl,
  prometheusUrlFlag,
  PromApiClient,
  runCommand,
  UsageError,
  type FlagSpec,
} from '../cli/index.js';
import {
  formatStat,
  parseResources,
  statSummary,
  type StatFormat,
  type ResourceRef,
} from '../cli/stat.js';
import { parseDuration } from '../config/index.js';

const FLAGS: FlagSpec[] = [
  {
    name: 'namespace',
    short: 'n',
    kind: 'string',
    default: 'default',
    help: 'namespace of the specified resource',
  },
  { name: 'all-namespaces', short: 'A', kind: 'bool', help: 'stat resources in every namespace' },
  {
    name: 'time-window',
    short: 't',
    kind: 'string',
    default: '1m',
    help: "window of the figures; at least 15s and the server's scrape interval",
  },
  { name: 'to', kind: 'string', help: 'only traffic sent to this resource (TYPE/NAME)' },
  {
    name: 'to-namespace',
    kind: 'string',
    help: 'namespace of the --to resource (default: --namespace)',
  },
  { name: 'from', kind: 'string', help: 'only traffic received from this resource (TYPE/NAME)' },
  {
    name: 'from-namespace',
    kind: 'string',
    help: 'namespace of the --from resource (default: --namespace)',
  },
  {
    name: 'output',
    short: 'o',
    kind: 'string',
    default: 'table',
    help: 'output format: table, wide or json',
  },
  {
    name: 'selector',
    short: 'l',
    kind: 'string',
    help: 'label selector over pod labels, e.g. app=web,tier!=db',
  },
  {
    name: 'accurate',
    kind: 'bool',
    help: 'latency from rate() over the whole window instead of irate() (see below)',
  },
  {
    name: 'cluster-domain',
    kind: 'string',
    default: 'cluster.local',
    help: 'cluster domain used to match service authorities',
  },
  prometheusUrlFlag(),
];

const USAGE = `Display traffic stats about one or many resources.

usage: meshmetrics stat [flags] (RESOURCE)...

RESOURCE is TYPE, TYPE/NAME or TYPE NAME...; TYPE is one of deploy, po, ns, sts, ds, job,
rc, rs, authority, svc (long names and plurals work too).

Examples:
  meshmetrics stat deploy -n demo
  meshmetrics stat deploy/web -n demo -t 5m -o wide
  meshmetrics stat po -A --from deploy/web --from-namespace demo -o json

Flags:
${flagsHelp(FLAGS)}

Columns follow linkerd viz stat: SUCCESS is the share of responses classified as success,
RPS counts completed responses (response_total) per second of the window, latencies are
histogram_quantile over response_latency_ms in whole ms, TCP_CONN sums tcp_open_connections.
A row without request data shows '-'.

MESHED: there is no Kubernetes API here, so MESHED counts pods through the scrape: pods
whose proxy exports process_start_time_seconds over pods with an 'up' series.

--accurate: by default latency uses irate(), as linkerd does, which looks only at the last
two samples of the window however long it is, so the figures jump between calls even with
-t 2h (linkerd#3918). --accurate uses rate() over the whole window instead.
`;

/** Runs `meshmetrics stat`. */
export async function run(args: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const f = parseFlags(args, FLAGS);
    if (f.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const format = f.strings.get('output') as StatFormat;
    if (!['table', 'wide', 'json'].includes(format))
      throw new UsageError(`--output must be table, wide or json, got "${format}"`);
    const windowText = f.strings.get('time-window')!;
    const windowMs = parseDuration(windowText);
    if (windowMs === null || windowMs <= 0)
      throw new UsageError(`invalid --time-window "${windowText}"`);
    if (windowMs < 15_000)
      throw new UsageError(`--time-window must be at least 15s, got ${windowText}`);
    const to = f.strings.get('to');
    const from = f.strings.get('from');
    if (to && from) throw new UsageError('--to and --from flags are mutually exclusive');
    const one = (flag: string, v: string): ResourceRef => {
      const r = parseResources([v]);
      if (r.length !== 1) throw new UsageError(`--${flag} takes one TYPE/NAME`);
      return r[0];
    };
    const resources = parseResources(f.positionals);
    const client = new PromApiClient(prometheusUrl(f.strings.get('prometheus-url')));
    // metrics-api refuses windows shorter than the server's scrape interval: irate and
    // increase would find fewer than two samples. Servers without the endpoint are trusted.
    const interval = await client.scrapeIntervalMs().catch(() => null);
    if (interval !== null && windowMs < interval) {
      throw new UsageError(
        `--time-window ${windowText} is shorter than the server's scrape interval (${interval / 1000}s)`,
      );
    }
    const allNamespaces = f.bools.has('all-namespaces');
    const rows = await statSummary(client, {
      resources,
      namespace: f.strings.get('namespace')!,
      allNamespaces,
      windowMs,
      to: to ? one('to', to) : null,
      toNamespace: f.strings.get('to-namespace') ?? '',
      from: from ? one('from', from) : null,
      fromNamespace: f.strings.get('from-namespace') ?? '',
      selector: f.strings.get('selector') ?? '',
      accurate: f.bools.has('accurate'),
      clusterDomain: f.strings.get('cluster-domain')!,
    });
    if (rows.length === 0) {
      if (format === 'json') process.stdout.write('[]\n');
      process.stderr.write('No traffic found.\n');
      return 0;
    }
    const kinds = new Set(rows.map((r) => r.kind));
    process.stdout.write(formatStat(rows, format, allNamespaces, kinds.size > 1));
    return 0;
  });
}

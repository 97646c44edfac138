/**
 * `meshmetrics diagnostics proxy-metrics TARGET`: the raw `/metrics` of every proxy of a
 * workload, as `linkerd diagnostics proxy-metrics`.
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
  fetchProxyMetrics,
  filterFamilies,
  formatProxyResults,
  obfuscateBody,
  resolveProxies,
} from '../cli/proxy-metrics.js';

const FLAGS: FlagSpec[] = [
  {
    name: 'namespace',
    short: 'n',
    kind: 'string',
    default: 'default',
    help: 'namespace of the workload',
  },
  {
    name: 'all-namespaces',
    short: 'A',
    kind: 'bool',
    help: 'match the workload name in every namespace',
  },
  {
    name: 'obfuscate',
    kind: 'bool',
    help: 'replace authority, client_id, server_id, target_addr, dst_service, dst_namespace with a hash',
  },
  { name: 'metric', kind: 'list', help: 'print only this metric family (repeatable)' },
  {
    name: 'job',
    kind: 'string',
    default: '',
    help: 'only targets of this scrape job (default: any job)',
  },
  { name: 'timeout', kind: 'string', default: '30s', help: 'overall deadline for all proxies' },
  prometheusUrlFlag('collector whose /api/v1/targets finds the proxies'),
];

const USAGE = `Fetch the metrics of the proxies of a workload.

usage: meshmetrics diagnostics proxy-metrics [flags] TARGET

TARGET is HOST:PORT (a proxy's admin address) or TYPE/NAME (deploy/web, po/web-1, sts/db,
ds/x, job/x, rs/x, rc/x). Workloads are found through the collector's /api/v1/targets:
the targets labelled namespace=<-n> and deployment=<name> (pod=, statefulset=, … for other
types), and their scrape URLs are fetched directly.

Examples:
  meshmetrics diagnostics proxy-metrics 127.0.0.1:4191
  meshmetrics diagnostics proxy-metrics -n demo deploy/web --obfuscate --metric response_total

Flags:
${flagsHelp(FLAGS)}
`;

/** Runs `meshmetrics diagnostics proxy-metrics`. */
export async function proxyMetrics(args: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const f = parseFlags(args, FLAGS);
    if (f.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (f.positionals.length !== 1) throw new UsageError('expected exactly one TARGET');
    const { parseDuration } = await import('../config/index.js');
    const timeoutMs = parseDuration(f.strings.get('timeout')!);
    if (timeoutMs === null || timeoutMs <= 0)
      throw new UsageError(`invalid --timeout "${f.strings.get('timeout')}"`);
    // One overall cap (linkerd: 30 s) for finding the proxies and reading them all.
    const deadline = AbortSignal.timeout(timeoutMs);
    const client = new PromApiClient(prometheusUrl(f.strings.get('prometheus-url')), {
      timeoutMs,
      signal: deadline,
    });
    const namespace = f.bools.has('all-namespaces') ? '' : f.strings.get('namespace')!;
    const endpoints = await resolveProxies(
      f.positionals[0],
      client,
      namespace,
      f.strings.get('job')!,
    );
    if (endpoints.length === 0) {
      process.stderr.write(
        `Error: no proxies found for ${f.positionals[0]}${namespace ? ` in namespace ${namespace}` : ''}\n`,
      );
      return 1;
    }
    const results = await fetchProxyMetrics(endpoints, timeoutMs, deadline);
    const families = f.lists.has('metric') ? new Set(f.lists.get('metric')) : null;
    const obfuscate = f.bools.has('obfuscate');
    for (const r of results) {
      if (r.body === null) continue;
      try {
        if (obfuscate) r.body = obfuscateBody(r.body, families);
        else if (families) r.body = filterFamilies(r.body, families);
      } catch (err) {
        r.error = `cannot parse the metrics of ${r.pod}: ${(err as Error).message}`;
        r.body = null;
      }
    }
    process.stdout.write(formatProxyResults(results));
    // As linkerd, a proxy that did not answer is reported inline; only total failure fails.
    return results.every((r) => r.error !== null) ? 1 : 0;
  });
}

/**
 * `meshmetrics proxy`: parses flags (or MESHMETRICS_PROXY_* environment variables), starts
 * the sidecar proxy, and runs until SIGINT/SIGTERM or POST /shutdown on the admin port.
 * @module
 */

import { parseArgs } from 'node:util';
import { parseDuration } from '../model/duration.js';
import { ConfigError } from '../model/errors.js';
import {
  DEFAULT_PROXY_OPTIONS,
  Destinations,
  Proxy,
  type ProxyOptions,
  type TcpRoute,
} from '../proxy/index.js';
import { VERSION } from './version.js';

const USAGE = `usage: meshmetrics proxy [flags]

A sidecar proxy: forwards a workload's inbound and outbound traffic (HTTP/1.1, HTTP/2 and
gRPC, opaque TCP) and publishes Linkerd-compatible metrics on its admin port.

Flags (each also read from the environment variable shown):
  --inbound.listen-address ADDR    inbound listener (MESHMETRICS_PROXY_INBOUND_LISTEN_ADDR; 127.0.0.1:4143)
  --inbound.app-address ADDR       the local app (MESHMETRICS_PROXY_INBOUND_APP_ADDR; 127.0.0.1:8080)
  --outbound.listen-address ADDR   outbound HTTP proxy listener (MESHMETRICS_PROXY_OUTBOUND_LISTEN_ADDR; 127.0.0.1:4140)
  --outbound.tcp-route L=HOST:PORT opaque TCP: connections to L (a port or host:port) go to HOST:PORT; repeatable
                                   (MESHMETRICS_PROXY_OUTBOUND_TCP_ROUTES, comma-separated)
  --admin.listen-address ADDR      admin server: /metrics /ready /live /env.json /shutdown
                                   (MESHMETRICS_PROXY_ADMIN_LISTEN_ADDR; 127.0.0.1:4191)
  --destinations FILE              JSON/YAML registry: authority -> {address, labels} (MESHMETRICS_PROXY_DESTINATIONS)
  --namespace NS, --pod POD, --workload NAME
                                   identity (MESHMETRICS_PROXY_NAMESPACE, _POD, _WORKLOAD)
  --metrics.retain-idle DURATION   drop label sets idle this long (MESHMETRICS_PROXY_METRICS_RETAIN_IDLE; 10m)
  --metrics.drop-labels A,B        labels left out of every series, e.g. authority,target_addr
                                   (MESHMETRICS_PROXY_METRICS_DROP_LABELS)
  --detect-timeout DURATION        wait for the first bytes before forwarding as TCP (MESHMETRICS_PROXY_DETECT_TIMEOUT; 1s)
  -h, --help                       show this help
`;

const FLAG_ENV: Record<string, string> = {
  'inbound.listen-address': 'MESHMETRICS_PROXY_INBOUND_LISTEN_ADDR',
  'inbound.app-address': 'MESHMETRICS_PROXY_INBOUND_APP_ADDR',
  'outbound.listen-address': 'MESHMETRICS_PROXY_OUTBOUND_LISTEN_ADDR',
  'admin.listen-address': 'MESHMETRICS_PROXY_ADMIN_LISTEN_ADDR',
  destinations: 'MESHMETRICS_PROXY_DESTINATIONS',
  namespace: 'MESHMETRICS_PROXY_NAMESPACE',
  pod: 'MESHMETRICS_PROXY_POD',
  workload: 'MESHMETRICS_PROXY_WORKLOAD',
  'metrics.retain-idle': 'MESHMETRICS_PROXY_METRICS_RETAIN_IDLE',
  'metrics.drop-labels': 'MESHMETRICS_PROXY_METRICS_DROP_LABELS',
  'detect-timeout': 'MESHMETRICS_PROXY_DETECT_TIMEOUT',
};

/** Parses `L=HOST:PORT`, where L is a port (bound on 127.0.0.1) or `host:port`. */
export function parseTcpRoute(s: string): TcpRoute {
  const eq = s.indexOf('=');
  const listen = eq < 0 ? '' : s.slice(0, eq);
  const destination = eq < 0 ? '' : s.slice(eq + 1);
  if (listen === '' || !/:\d+$/.test(destination)) {
    throw new ConfigError(
      `invalid --outbound.tcp-route ${JSON.stringify(s)}: want LISTEN=HOST:PORT`,
    );
  }
  return { listen: /^\d+$/.test(listen) ? `127.0.0.1:${listen}` : listen, destination };
}

function duration(flag: string, s: string): number {
  const ms = parseDuration(s);
  if (ms === null) throw new ConfigError(`invalid --${flag} ${JSON.stringify(s)}: not a duration`);
  return ms;
}

/** Builds proxy options from arguments and an environment. */
export function proxyOptions(args: string[], env: NodeJS.ProcessEnv): ProxyOptions | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      help: { type: 'boolean', short: 'h' },
      'outbound.tcp-route': { type: 'string', multiple: true },
      ...Object.fromEntries(Object.keys(FLAG_ENV).map((k) => [k, { type: 'string' as const }])),
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const get = (flag: string): string | undefined =>
    (values as Record<string, string | undefined>)[flag] ?? env[FLAG_ENV[flag]];
  const d = DEFAULT_PROXY_OPTIONS;
  const routes =
    (values['outbound.tcp-route'] as string[] | undefined) ??
    (env.MESHMETRICS_PROXY_OUTBOUND_TCP_ROUTES ?? '').split(',').filter((s) => s !== '');
  const destFile = get('destinations');
  const envEntries: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (k.startsWith('MESHMETRICS_PROXY_') && v !== undefined) envEntries[k] = v;
  return {
    inboundListen: get('inbound.listen-address') ?? d.inboundListen,
    inboundApp: get('inbound.app-address') ?? d.inboundApp,
    outboundListen: get('outbound.listen-address') ?? d.outboundListen,
    adminListen: get('admin.listen-address') ?? d.adminListen,
    tcpRoutes: routes.map(parseTcpRoute),
    destinations: destFile ? Destinations.load(destFile) : new Destinations(),
    identity: {
      namespace: get('namespace') ?? '',
      pod: get('pod') ?? '',
      workload: get('workload') ?? '',
    },
    retainIdleMs: duration('metrics.retain-idle', get('metrics.retain-idle') ?? '10m'),
    dropLabels: (get('metrics.drop-labels') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    detectTimeoutMs: duration('detect-timeout', get('detect-timeout') ?? '1s'),
    env: envEntries,
    buildInfo: {
      date: '',
      git_sha: '',
      profile: 'release',
      vendor: 'meshmetrics',
      version: VERSION,
    },
  };
}

/** Runs the proxy until a signal or POST /shutdown; returns the exit code. */
export async function run(args: string[]): Promise<number> {
  let opts: ProxyOptions | 'help';
  try {
    opts = proxyOptions(args, process.env);
  } catch (err) {
    process.stderr.write(`meshmetrics proxy: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const proxy = new Proxy(opts);
  const a = await proxy.start();
  process.stderr.write(
    `meshmetrics proxy: inbound ${a.inbound} -> ${opts.inboundApp}, outbound ${a.outbound}, admin ${a.admin}` +
      (a.tcpRoutes.length ? `, tcp ${a.tcpRoutes.join(' ')}` : '') +
      '\n',
  );
  const onSignal = (): void => void proxy.stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  await proxy.stopped;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return 0;
}

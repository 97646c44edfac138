/**
 * The sidecar proxy: an inbound listener in front of the local app, an outbound listener
 * (an HTTP proxy) for the app's calls to other services, opaque TCP routes, and the admin
 * server publishing what they record.
 * @module
 */

import { Destinations } from './destinations.js';
import { LabelSets } from './labels.js';
import { Listener } from './listener.js';
import { AdminServer } from './admin.js';
import type { Clock } from './metrics.js';
import type { BuildInfo } from './process-metrics.js';
import { ProxyMetrics } from './recorder.js';
import { Side } from './side.js';

/** Who this proxy runs beside (reported in /env.json). */
export interface ProxyIdentity {
  namespace: string;
  pod: string;
  workload: string;
}

/** An opaque TCP route: connections to `listen` are forwarded to `destination`. */
export interface TcpRoute {
  listen: string;
  /** `host:port`, resolved through the destination registry like an HTTP authority. */
  destination: string;
}

/** Everything a proxy needs; {@link DEFAULT_PROXY_OPTIONS} fills the rest. */
export interface ProxyOptions {
  inboundListen: string;
  /** The local app, `host:port`. */
  inboundApp: string;
  outboundListen: string;
  tcpRoutes: TcpRoute[];
  adminListen: string;
  destinations: Destinations;
  identity: ProxyIdentity;
  /** Idle label sets are dropped after this long, ms (Linkerd: 10 minutes). */
  retainIdleMs: number;
  /** Label names left out of every series (`authority`, `target_addr`, …). */
  dropLabels: string[];
  detectTimeoutMs: number;
  buildInfo: BuildInfo;
  /** Extra /env.json entries (the MESHMETRICS_PROXY_* environment). */
  env: Record<string, string>;
  clock?: Clock;
}

/** Defaults: Linkerd's ports, bound to loopback. */
export const DEFAULT_PROXY_OPTIONS: Omit<ProxyOptions, 'buildInfo'> = {
  inboundListen: '127.0.0.1:4143',
  inboundApp: '127.0.0.1:8080',
  outboundListen: '127.0.0.1:4140',
  tcpRoutes: [],
  adminListen: '127.0.0.1:4191',
  destinations: new Destinations(),
  identity: { namespace: '', pod: '', workload: '' },
  retainIdleMs: 10 * 60_000,
  dropLabels: [],
  detectTimeoutMs: 1000,
  env: {},
};

/** Bound addresses of a running proxy. */
export interface ProxyAddresses {
  inbound: string;
  outbound: string;
  admin: string;
  tcpRoutes: string[];
}

/** A running (or startable) sidecar proxy. */
export class Proxy {
  readonly metrics: ProxyMetrics;
  /** The label sets series are recorded under (their ids go with evicted series). */
  readonly labels: LabelSets;
  readonly opts: ProxyOptions;
  private readonly inbound: Listener;
  private readonly outbound: Listener;
  private readonly tcp: Listener[];
  private readonly admin: AdminServer;
  private readonly evictTimer: NodeJS.Timeout;
  private isReady = false;
  private stopping: Promise<void> | null = null;
  /** Resolves once the proxy has stopped (after {@link stop} or POST /shutdown). */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;

  constructor(opts: ProxyOptions) {
    this.opts = opts;
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
    const labels = (this.labels = new LabelSets(opts.dropLabels));
    this.metrics = new ProxyMetrics({
      clock: opts.clock,
      retainIdleMs: opts.retainIdleMs,
      buildInfo: opts.buildInfo,
      labelSets: labels,
    });
    const inSide = new Side('inbound', this.metrics, labels, { appAddress: opts.inboundApp });
    const outSide = new Side('outbound', this.metrics, labels, { destinations: opts.destinations });
    const detectTimeoutMs = opts.detectTimeoutMs;
    this.inbound = new Listener(inSide, labels, {
      listen: opts.inboundListen,
      tcpRoute: () => inSide.route(''),
      detectTimeoutMs,
    });
    this.outbound = new Listener(outSide, labels, {
      listen: opts.outboundListen,
      tcpRoute: null,
      detectTimeoutMs,
    });
    this.tcp = opts.tcpRoutes.map(
      (r) =>
        new Listener(outSide, labels, {
          listen: r.listen,
          tcpRoute: () => outSide.route(r.destination),
          opaque: true,
        }),
    );
    this.admin = new AdminServer(opts.adminListen, {
      metrics: () => this.metrics.render(),
      ready: () => this.isReady,
      env: () => this.env(),
      shutdown: () => void this.stop(),
    });
    // Evict between scrapes too, so memory stays bounded when nobody scrapes.
    const every = Math.max(1000, Math.min(60_000, opts.retainIdleMs / 2));
    this.evictTimer = setInterval(() => this.metrics.registry.evictIdle(), every);
    this.evictTimer.unref();
  }

  /** Binds every listener; resolves with the bound addresses. */
  async start(): Promise<ProxyAddresses> {
    const admin = await this.admin.listen();
    const inbound = await this.inbound.listen();
    const outbound = await this.outbound.listen();
    const tcpRoutes: string[] = [];
    for (const l of this.tcp) tcpRoutes.push(await l.listen());
    this.isReady = true;
    return { inbound, outbound, admin, tcpRoutes };
  }

  /** Closes every listener and connection; idempotent. */
  stop(): Promise<void> {
    if (this.stopping === null) {
      this.isReady = false;
      clearInterval(this.evictTimer);
      this.stopping = Promise.all([
        this.inbound.close(),
        this.outbound.close(),
        ...this.tcp.map((l) => l.close()),
        this.admin.close(),
      ]).then(() => this.resolveStopped());
    }
    return this.stopping;
  }

  private env(): Record<string, string> {
    const o = this.opts;
    return {
      ...o.env,
      MESHMETRICS_PROXY_NAMESPACE: o.identity.namespace,
      MESHMETRICS_PROXY_POD: o.identity.pod,
      MESHMETRICS_PROXY_WORKLOAD: o.identity.workload,
      MESHMETRICS_PROXY_INBOUND_LISTEN_ADDR: o.inboundListen,
      MESHMETRICS_PROXY_INBOUND_APP_ADDR: o.inboundApp,
      MESHMETRICS_PROXY_OUTBOUND_LISTEN_ADDR: o.outboundListen,
      MESHMETRICS_PROXY_ADMIN_LISTEN_ADDR: o.adminListen,
      MESHMETRICS_PROXY_METRICS_RETAIN_IDLE: `${Math.round(o.retainIdleMs / 1000)}s`,
      MESHMETRICS_PROXY_METRICS_DROP_LABELS: o.dropLabels.join(','),
    };
  }
}

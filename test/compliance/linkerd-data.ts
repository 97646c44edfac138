/**
 * A deterministic history of Linkerd proxy metrics as the linkerd-viz Prometheus stores them
 * (reference/linkerd-metrics.md §1.2, §1.5, §1.10, §1.11), written as OpenMetrics text with
 * explicit timestamps for `promtool tsdb create-blocks-from openmetrics`. Same options, same
 * bytes, every run.
 *
 * The mesh: two namespaces, eight meshed pods (`webapp` has two replicas), one scrape every
 * 10 s with a per-pod offset and a few ms of jitter (never on the query grid). Calls:
 * `vote-bot → web → emoji`, `web → voting`, `traffic → webapp → books`, and unmeshed
 * traffic (no identity) into `web`, `webapp` and `voting`. Each pod carries the scrape-time labels of the `linkerd-proxy` job
 * (`job`, `instance`, `namespace`, `pod`, `deployment`, `pod_template_hash`,
 * `control_plane_ns`) and:
 * - inbound `request_total`, `response_total` (status 200/success, 500/failure) and the
 *   `response_latency_ms` histogram with Linkerd's 25 bucket bounds + `+Inf`, per client;
 * - the same three families outbound, per destination, with the `dst_*` labels;
 * - `tcp_open_total`, `tcp_open_connections`, `tcp_read_bytes_total`,
 *   `tcp_write_bytes_total`, `tcp_close_total{errno}` on the server side (`peer="src"`) and
 *   the client side (`peer="dst"`);
 * - `process_start_time_seconds`.
 *
 * The `voting` proxy restarts halfway: its counters start again from zero and its start
 * time moves. Latencies are exponential with a per-edge mean, so quantiles land in several
 * buckets; counts grow by integers and `_sum` by fractional milliseconds.
 * @module
 */

import { LINKERD_LATENCY_BUCKETS_MS } from '../fixtures/linkerd-body.js';
import { mulberry32 as prng } from '../support/rng.js';

/** Parameters of the generated history. */
export interface LinkerdDataOptions {
  /** Time of the last scrape, in ms. */
  endMs: number;
  /** How long the history runs, in ms. */
  durationMs: number;
  /** PRNG seed. */
  seed: number;
}

/** The defaults of the viz differential test: 40 minutes ending at 2026-01-02T01:00:00Z. */
export const LINKERD_DATA: Readonly<LinkerdDataOptions> = Object.freeze({
  endMs: Date.UTC(2026, 0, 2, 1, 0, 0),
  durationMs: 40 * 60_000,
  seed: 20260102,
});

const SCRAPE_INTERVAL_MS = 10_000;
const BUCKETS = [...LINKERD_LATENCY_BUCKETS_MS.map(String), '+Inf'];
const BOUNDS = BUCKETS.map(Number);

/** A meshed pod of the simulated cluster. */
export interface MeshPod {
  namespace: string;
  deployment: string;
  pod: string;
  ip: string;
  /** The pod whose proxy restarts halfway. */
  restarts: boolean;
}

/** The eight meshed pods. */
export const MESH_PODS: readonly MeshPod[] = Object.freeze([
  pod('emojivoto', 'web', 'web-5f86686c4d-7xk2p', '10.42.0.11'),
  pod('emojivoto', 'emoji', 'emoji-696d9d8f95-5vn9w', '10.42.0.12'),
  { ...pod('emojivoto', 'voting', 'voting-ff4c54b8d-xqlrt', '10.42.0.13'), restarts: true },
  pod('booksapp', 'webapp', 'webapp-7d9c4f6b8-h2mzq', '10.42.1.21'),
  pod('booksapp', 'webapp', 'webapp-7d9c4f6b8-r8w4c', '10.42.1.22'),
  pod('booksapp', 'books', 'books-64c7b7d9f-n5tgk', '10.42.1.23'),
  pod('emojivoto', 'vote-bot', 'vote-bot-5d8f7c9b6-wq4zt', '10.42.0.14'),
  pod('booksapp', 'traffic', 'traffic-6b5d8c7f9-k7pvd', '10.42.1.24'),
]);

function pod(namespace: string, deployment: string, name: string, ip: string): MeshPod {
  return { namespace, deployment, pod: name, ip, restarts: false };
}

/** Meshed calls: [client deployment, server deployment, mean latency in ms, failure share]. */
const CALLS: readonly [string, string, number, number][] = [
  ['web', 'emoji', 12, 0.02],
  ['web', 'voting', 35, 0.15],
  ['webapp', 'books', 180, 0.05],
  ['vote-bot', 'web', 60, 0.08],
  ['traffic', 'webapp', 250, 0.03],
];
/** Unmeshed callers (no identity): [server deployment, requests per second]. */
const UNMESHED: readonly [string, number][] = [
  ['web', 4],
  ['webapp', 2.5],
  ['voting', 1],
];

/** One series being filled, with its running value (counters) kept beside the samples. */
interface SeriesBuf {
  name: string;
  labelText: string;
  ts: number[];
  vs: number[];
}

/** Series grouped by family in first-seen order, so each family stays contiguous. */
class Families {
  private readonly byKey = new Map<string, SeriesBuf>();
  readonly families = new Map<string, SeriesBuf[]>();

  add(name: string, labels: Record<string, string>, t: number, v: number): void {
    let labelText = '';
    for (const k in labels) labelText += `${labelText === '' ? '' : ','}${k}="${labels[k]}"`;
    const key = `${name}{${labelText}}`;
    let s = this.byKey.get(key);
    if (s === undefined) {
      s = { name, labelText, ts: [], vs: [] };
      this.byKey.set(key, s);
      let fam = this.families.get(name);
      if (fam === undefined) this.families.set(name, (fam = []));
      fam.push(s);
    }
    s.ts.push(t);
    s.vs.push(v);
  }

  get seriesCount(): number {
    return this.byKey.size;
  }
}

/** An HTTP traffic edge seen by one proxy: its label set (without status) and its state. */
interface Edge {
  labels: Record<string, string>;
  rps: number;
  meanMs: number;
  failShare: number;
  requests: number;
  /** Per status code: responses, cumulative bucket counts, latency sum. */
  byStatus: Map<string, { responses: number; buckets: Float64Array; sum: number }>;
}

/** A TCP connection set seen by one proxy. */
interface TcpEdge {
  labels: Record<string, string>;
  opened: number;
  closed: number;
  resets: number;
  read: number;
  written: number;
  open: number;
}

/** The generated history: OpenMetrics text ending in `# EOF`, and its series count. */
export interface LinkerdData {
  openMetrics: string;
  seriesCount: number;
}

function scrapeLabels(p: MeshPod): Record<string, string> {
  return {
    job: 'linkerd-proxy',
    instance: `${p.ip}:4191`,
    namespace: p.namespace,
    pod: p.pod,
    deployment: p.deployment,
    pod_template_hash: p.pod.split('-')[1],
    control_plane_ns: 'linkerd',
  };
}

function dstLabels(server: MeshPod): Record<string, string> {
  return {
    dst_control_plane_ns: 'linkerd',
    dst_deployment: server.deployment,
    dst_namespace: server.namespace,
    dst_pod: server.pod,
    dst_pod_template_hash: server.pod.split('-')[1],
    dst_service: server.deployment,
    dst_serviceaccount: server.deployment,
  };
}

function identity(p: MeshPod): string {
  return `${p.deployment}.${p.namespace}.serviceaccount.identity.linkerd.cluster.local`;
}

/** The HTTP and TCP edges each pod's proxy reports. */
function edgesOf(p: MeshPod, rand: () => number): { http: Edge[]; tcp: TcpEdge[] } {
  const http: Edge[] = [];
  const tcp: TcpEdge[] = [];
  const target = { target_addr: `${p.ip}:8080`, target_ip: p.ip, target_port: '8080' };
  const server = {
    srv_group: '',
    srv_kind: 'default',
    srv_name: 'all-unauthenticated',
  };
  const newEdge = (labels: Record<string, string>, rps: number, meanMs: number, fail: number) =>
    http.push({ labels, rps, meanMs, failShare: fail, requests: 0, byStatus: new Map() });
  const newTcp = (labels: Record<string, string>) =>
    tcp.push({ labels, opened: 0, closed: 0, resets: 0, read: 0, written: 0, open: 0 });
  // Inbound: one edge per meshed client pod, plus the unmeshed callers.
  for (const [from, to, meanMs, fail] of CALLS) {
    if (to !== p.deployment) continue;
    // Replicas of one client share its identity, so the server sees them as one series.
    const replicas = MESH_PODS.filter((x) => x.deployment === from);
    const tls = { tls: 'true', client_id: identity(replicas[0]) };
    const rps = replicas.length * (3 + 6 * rand());
    newEdge({ direction: 'inbound', ...target, ...tls, ...server }, rps, meanMs, fail);
    newTcp({ direction: 'inbound', peer: 'src', ...target, ...tls, ...server });
  }
  for (const [to, rps] of UNMESHED) {
    if (to !== p.deployment) continue;
    const tls = { tls: 'no_identity', no_tls_reason: 'no_tls_from_remote' };
    newEdge({ direction: 'inbound', ...target, ...tls, ...server }, rps, 25, 0.01);
    newTcp({ direction: 'inbound', peer: 'src', ...target, ...tls, ...server });
  }
  if (http.length > 0)
    newTcp({
      direction: 'inbound',
      peer: 'dst',
      tls: 'no_identity',
      no_tls_reason: 'loopback',
    });
  // Outbound: one edge per destination pod.
  for (const [from, to, meanMs, fail] of CALLS) {
    if (from !== p.deployment) continue;
    for (const dst of MESH_PODS.filter((x) => x.deployment === to)) {
      const labels = {
        direction: 'outbound',
        authority: `${dst.deployment}.${dst.namespace}.svc.cluster.local:8080`,
        target_addr: `${dst.ip}:8080`,
        target_ip: dst.ip,
        target_port: '8080',
        tls: 'true',
        server_id: identity(dst),
        ...dstLabels(dst),
      };
      newEdge(labels, 4 + 8 * rand(), meanMs * 1.1, fail);
      newTcp({ ...labels, peer: 'dst' });
    }
  }
  return { http, tcp };
}

/** Generates the history. */
export function generateLinkerdData(opts: LinkerdDataOptions = LINKERD_DATA): LinkerdData {
  const rand = prng(opts.seed);
  const fams = new Families();
  const startMs = opts.endMs - opts.durationMs;
  const restartMs = startMs + opts.durationMs / 2 + 3_000;
  const pods = MESH_PODS.map((p, i) => ({
    p,
    base: scrapeLabels(p),
    offsetMs: 1_000 + i * 1_337,
    startedS: (startMs - 3_600_000 * (i + 1)) / 1000 + 0.25 * i,
    restarted: false,
    ...edgesOf(p, rand),
  }));
  for (let t0 = startMs; t0 <= opts.endMs; t0 += SCRAPE_INTERVAL_MS) {
    for (const x of pods) {
      const t = t0 - SCRAPE_INTERVAL_MS + x.offsetMs + Math.floor(rand() * 7);
      if (t < startMs) continue;
      const restartNow = x.p.restarts && !x.restarted && t >= restartMs;
      if (restartNow) {
        x.restarted = true;
        x.startedS = restartMs / 1000 - 1.5;
        for (const e of x.http) {
          e.requests = 0;
          e.byStatus.clear();
        }
        for (const c of x.tcp)
          Object.assign(c, { opened: 0, closed: 0, resets: 0, read: 0, written: 0 });
      }
      fams.add('process_start_time_seconds', x.base, t, x.startedS);
      // A burst of slow, failing requests in one 3-minute stretch of every hour-quarter.
      const burst = Math.floor((t - startMs) / 60_000) % 15 === 7;
      for (const e of x.http) {
        const n = Math.round(e.rps * 10 * (0.6 + 0.8 * rand()) * (restartNow ? 0.4 : 1));
        e.requests += n;
        for (let r = 0; r < n; r++) {
          const failed = rand() < e.failShare * (burst ? 4 : 1);
          const code = failed ? '500' : '200';
          let st = e.byStatus.get(code);
          if (st === undefined)
            e.byStatus.set(
              code,
              (st = { responses: 0, buckets: new Float64Array(BOUNDS.length), sum: 0 }),
            );
          const ms = e.meanMs * (burst ? 3 : 1) * -Math.log(1 - rand());
          st.responses++;
          st.sum += ms;
          for (let b = 0; b < BOUNDS.length; b++) if (ms <= BOUNDS[b]) st.buckets[b]++;
        }
        const labels = { ...x.base, ...e.labels };
        fams.add('request_total', labels, t, e.requests);
        for (const code of ['200', '500']) {
          const st = e.byStatus.get(code);
          if (st === undefined) continue;
          const cls = {
            status_code: code,
            classification: code === '200' ? 'success' : 'failure',
            grpc_status: '',
            error: '',
          };
          fams.add('response_total', { ...labels, ...cls }, t, st.responses);
          const hl = { ...labels, status_code: code };
          for (let b = 0; b < BUCKETS.length; b++)
            fams.add('response_latency_ms_bucket', { ...hl, le: BUCKETS[b] }, t, st.buckets[b]);
          fams.add('response_latency_ms_sum', hl, t, st.sum);
          fams.add('response_latency_ms_count', hl, t, st.responses);
        }
      }
      for (const c of x.tcp) {
        const opened = Math.floor(3 * rand());
        const closed = Math.min(c.open + opened, Math.floor(3 * rand()));
        c.opened += opened;
        c.closed += closed;
        c.open += opened - closed;
        if (rand() < 0.1) c.resets++;
        c.read += Math.round(20_000 * rand() + 500);
        c.written += Math.round(60_000 * rand() + 500);
        const labels = { ...x.base, ...c.labels };
        fams.add('tcp_open_total', labels, t, c.opened);
        fams.add('tcp_open_connections', labels, t, c.open);
        fams.add('tcp_read_bytes_total', labels, t, c.read);
        fams.add('tcp_write_bytes_total', labels, t, c.written);
        fams.add('tcp_close_total', { ...labels, errno: '' }, t, c.closed);
        fams.add('tcp_close_total', { ...labels, errno: 'ECONNRESET' }, t, c.resets);
      }
    }
  }
  const out: string[] = [];
  for (const [name, series] of fams.families) {
    out.push(`# TYPE ${name} unknown\n`);
    for (const s of series)
      for (let j = 0; j < s.ts.length; j++)
        out.push(`${name}{${s.labelText}} ${s.vs[j]} ${(s.ts[j] / 1000).toFixed(3)}\n`);
  }
  out.push('# EOF\n');
  return { openMetrics: out.join(''), seriesCount: fams.seriesCount };
}

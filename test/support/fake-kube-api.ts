/**
 * A small Kubernetes API server for tests: pods only, on 127.0.0.1, speaking the real
 * list/watch protocol closely enough for client-go (Prometheus) and our discovery:
 * - `GET /api/v1/pods` and `/api/v1/namespaces/<ns>/pods` return a `PodList` with
 *   `metadata.resourceVersion`; `labelSelector` and `fieldSelector` filter it;
 * - `?watch=1&resourceVersion=R` streams newline-delimited `WatchEvent`s after R, then
 *   live ones; `allowWatchBookmarks` enables BOOKMARK events; `timeoutSeconds` ends the
 *   stream; a compacted R gets an ERROR event with a 410 `Expired` Status;
 * - tests push ADDED/MODIFIED/DELETED events and can break watches mid-stream.
 * Pods made by `linkerdPod` look like Linkerd-injected pods.
 * @module
 */

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Pod, Status, WatchEvent } from '../../src/discovery/index.js';

/** What a Linkerd-injected pod of a Deployment is made of. */
export interface LinkerdPodSpec {
  name: string;
  namespace: string;
  ip: string;
  /** The workload (Deployment) name; defaults to the pod name without its last two parts. */
  deployment?: string;
  appPort?: number;
  appPortName?: string;
  phase?: string;
  ready?: boolean;
  nodeName?: string;
  hostIP?: string;
  controlPlaneNs?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

let uidCounter = 0;

/** A pod shaped like one the Linkerd proxy injector produced. */
export function linkerdPod(s: LinkerdPodSpec): Pod {
  const deployment = s.deployment ?? s.name.split('-').slice(0, -2).join('-');
  const hash = '5f8d7c9b4d';
  const uid = `0b1c2d3e-0000-4000-8000-${String(++uidCounter).padStart(12, '0')}`;
  const ready = s.ready ?? true;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: s.name,
      namespace: s.namespace,
      uid,
      labels: {
        app: deployment,
        'linkerd.io/control-plane-ns': s.controlPlaneNs ?? 'linkerd',
        'linkerd.io/proxy-deployment': deployment,
        'linkerd.io/workload-ns': s.namespace,
        'pod-template-hash': hash,
        ...s.labels,
      },
      annotations: {
        'linkerd.io/created-by': 'linkerd/proxy-injector stable-2.14.10',
        'linkerd.io/proxy-version': 'stable-2.14.10',
        'linkerd.io/inject': 'enabled',
        ...s.annotations,
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: `${deployment}-${hash}`,
          uid: `rs-${uid}`,
          controller: true,
        },
      ],
    },
    spec: {
      nodeName: s.nodeName ?? 'node-1',
      initContainers: [{ name: 'linkerd-init', image: 'cr.l5d.io/linkerd/proxy-init:v2.2.3' }],
      containers: [
        {
          name: 'linkerd-proxy',
          image: 'cr.l5d.io/linkerd/proxy:stable-2.14.10',
          ports: [
            { name: 'linkerd-proxy', containerPort: 4143, protocol: 'TCP' },
            { name: 'linkerd-admin', containerPort: 4191, protocol: 'TCP' },
          ],
        },
        {
          name: deployment,
          image: `docker.l5d.io/buoyantio/emojivoto-${deployment}:v11`,
          ports: s.appPort
            ? [{ name: s.appPortName ?? 'http', containerPort: s.appPort, protocol: 'TCP' }]
            : undefined,
        },
      ],
    },
    status: {
      phase: s.phase ?? 'Running',
      podIP: s.ip,
      hostIP: s.hostIP ?? '10.0.0.1',
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: ready ? 'True' : 'False' },
        { type: 'ContainersReady', status: ready ? 'True' : 'False' },
        { type: 'PodScheduled', status: 'True' },
      ],
      initContainerStatuses: [
        { name: 'linkerd-init', containerID: `containerd://init${uidCounter}`, ready: true },
      ],
      containerStatuses: [
        { name: 'linkerd-proxy', containerID: `containerd://proxy${uidCounter}`, ready },
        { name: deployment, containerID: `containerd://app${uidCounter}`, ready },
      ],
    },
  };
}

interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  pod: Pod;
  /** The pod before this change (MODIFIED), to turn selector transitions into ADDED/DELETED. */
  prev: Pod | null;
}

interface Watch {
  res: ServerResponse;
  namespace: string;
  labelSelector: string;
  fieldSelector: string;
  bookmarks: boolean;
}

function key(ns: string, name: string): string {
  return `${ns}/${name}`;
}

/** Equality-based selector match (`a=b`, `a==b`, `a!=b`, `a`, `!a`), comma-separated. */
function matchesSelector(selector: string, get: (k: string) => string | undefined): boolean {
  if (selector === '') return true;
  for (const term of selector
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)) {
    let m: RegExpExecArray | null;
    if ((m = /^([^!=]+)!=(.*)$/.exec(term))) {
      if (get(m[1].trim()) === m[2].trim()) return false;
    } else if ((m = /^([^!=]+)==?(.*)$/.exec(term))) {
      if (get(m[1].trim()) !== m[2].trim()) return false;
    } else if (term.startsWith('!')) {
      if (get(term.slice(1).trim()) !== undefined) return false;
    } else if (get(term) === undefined) {
      return false;
    }
  }
  return true;
}

function podField(pod: Pod, field: string): string | undefined {
  switch (field) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'status.phase':
      return pod.status.phase ?? '';
    case 'status.podIP':
      return pod.status.podIP ?? '';
    default:
      return undefined;
  }
}

function status(code: number, reason: string, message: string): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
}

/** The fake API server; see the module comment. */
export class FakeKubeApi {
  /** Every request, as `<path>?<query>`, in arrival order. */
  readonly requests: string[] = [];
  /** The headers of every request, same order as `requests`. */
  readonly requestHeaders: IncomingMessage['headers'][] = [];
  private readonly pods = new Map<string, Pod>();
  private readonly history: HistoryEntry[] = [];
  private readonly watches = new Set<Watch>();
  private rv = 1000;
  /** Watches from a resourceVersion below this get 410 Gone. */
  private oldestRv = 0;
  private server: Server | null = null;
  private baseUrl = '';

  /**
   * Starts listening on 127.0.0.1 (a free port); returns the base URL. With `tls` it
   * serves HTTPS with that certificate, as a real API server does.
   */
  async start(options: { tls?: { cert: string; key: string } } = {}): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    const server: Server = options.tls
      ? createHttpsServer(options.tls, handler)
      : createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    const scheme = options.tls ? 'https' : 'http';
    this.baseUrl = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  get url(): string {
    return this.baseUrl;
  }

  /** The current resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Number of watch streams open now. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Requests whose path and query match `re`. */
  requestsMatching(re: RegExp): string[] {
    return this.requests.filter((r) => re.test(r));
  }

  /** Creates or replaces a pod (ADDED or MODIFIED). */
  apply(pod: Pod): Pod {
    const k = key(pod.metadata.namespace ?? '', pod.metadata.name);
    const prev = this.pods.get(k) ?? null;
    const stored: Pod = structuredClone(pod);
    stored.metadata.resourceVersion = String(++this.rv);
    this.pods.set(k, stored);
    this.record({ rv: this.rv, type: prev ? 'MODIFIED' : 'ADDED', pod: stored, prev });
    return stored;
  }

  /** Deletes a pod (DELETED); returns false when there was none. */
  delete(namespace: string, name: string): boolean {
    const k = key(namespace, name);
    const prev = this.pods.get(k);
    if (!prev) return false;
    this.pods.delete(k);
    const gone: Pod = structuredClone(prev);
    gone.metadata.resourceVersion = String(++this.rv);
    this.record({ rv: this.rv, type: 'DELETED', pod: gone, prev: null });
    return true;
  }

  /** Sends a BOOKMARK with the current resourceVersion to watches that asked for them. */
  bookmark(): void {
    const ev: WatchEvent = {
      type: 'BOOKMARK',
      object: {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { name: '', resourceVersion: this.resourceVersion },
        spec: { containers: [] },
        status: {},
      },
    };
    for (const w of this.watches) if (w.bookmarks) w.res.write(JSON.stringify(ev) + '\n');
  }

  /** Forgets the event history, as etcd compaction does: older watches get 410. */
  compact(): void {
    this.history.length = 0;
    this.oldestRv = this.rv;
  }

  /** Cuts every open watch mid-stream (half an event written, then the socket destroyed). */
  breakWatches(): number {
    const n = this.watches.size;
    for (const w of this.watches) {
      w.res.write('{"type":"MODIFIED","object":{"kind":"Po');
      w.res.socket?.destroy();
    }
    this.watches.clear();
    return n;
  }

  /** Stops the server and every open stream. */
  async close(): Promise<void> {
    for (const w of this.watches) w.res.socket?.destroy();
    this.watches.clear();
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  private record(e: HistoryEntry): void {
    this.history.push(e);
    for (const w of this.watches) this.deliver(w, e);
  }

  private matches(
    w: Pick<Watch, 'namespace' | 'labelSelector' | 'fieldSelector'>,
    pod: Pod | null,
  ): boolean {
    if (!pod) return false;
    if (w.namespace !== '' && pod.metadata.namespace !== w.namespace) return false;
    if (!matchesSelector(w.labelSelector, (k) => pod.metadata.labels?.[k])) return false;
    return matchesSelector(w.fieldSelector, (f) => podField(pod, f));
  }

  /** Writes an event to a watch, turning selector transitions into ADDED/DELETED. */
  private deliver(w: Watch, e: HistoryEntry): void {
    const now = e.type !== 'DELETED' && this.matches(w, e.pod);
    const before = e.type === 'DELETED' ? this.matches(w, e.pod) : this.matches(w, e.prev);
    let type: WatchEvent['type'] | null = null;
    if (e.type === 'DELETED') type = before ? 'DELETED' : null;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (type) w.res.write(JSON.stringify({ type, object: e.pod }) + '\n');
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.requests.push(`${url.pathname}${url.search}`);
    this.requestHeaders.push(req.headers);
    const m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods$/.exec(url.pathname);
    res.setHeader('content-type', 'application/json');
    if (req.method !== 'GET' || !m) {
      res.statusCode = 404;
      res.end(
        JSON.stringify(status(404, 'NotFound', 'the server could not find the requested resource')),
      );
      return;
    }
    const q = url.searchParams;
    const sel = {
      namespace: m[1] ? decodeURIComponent(m[1]) : '',
      labelSelector: q.get('labelSelector') ?? '',
      fieldSelector: q.get('fieldSelector') ?? '',
    };
    if (q.get('watch') === '1' || q.get('watch') === 'true') {
      this.startWatch(res, sel, q);
      return;
    }
    const items = [...this.pods.values()].filter((p) => this.matches(sel, p));
    res.end(
      JSON.stringify({
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: this.resourceVersion },
        items,
      }),
    );
  }

  private startWatch(
    res: ServerResponse,
    sel: Omit<Watch, 'res' | 'bookmarks'>,
    q: URLSearchParams,
  ): void {
    const from = q.get('resourceVersion') ?? '';
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const w: Watch = { res, ...sel, bookmarks: q.get('allowWatchBookmarks') === 'true' };
    const fromRv = Number(from);
    if (from !== '' && from !== '0' && fromRv < this.oldestRv) {
      const ev = {
        type: 'ERROR',
        object: status(410, 'Expired', `too old resource version: ${from} (${this.oldestRv})`),
      };
      res.end(JSON.stringify(ev) + '\n');
      return;
    }
    if (from === '0') {
      for (const p of this.pods.values())
        if (this.matches(w, p)) res.write(JSON.stringify({ type: 'ADDED', object: p }) + '\n');
    } else if (from !== '') {
      for (const e of this.history) if (e.rv > fromRv) this.deliver(w, e);
    }
    this.watches.add(w);
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : null;
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      this.watches.delete(w);
    });
  }
}

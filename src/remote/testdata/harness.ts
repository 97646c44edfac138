/**
 * Helpers of the remote-write tests and benchmark: configs from YAML, a receiver server
 * around {@link handleRemoteWrite} with fault injection, known data written through a DB
 * (so it goes through the WAL), and reading a store back.
 * @module
 */

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type RemoteWriteConfig } from '../../config/index.js';
import { Labels } from '../../model/labels.js';
import { Matcher } from '../../model/matcher.js';
import type { Appendable, Queryable } from '../../storage/interface.js';
import snappy from 'snappy';
import { DecodedWriteRequest, decodeWriteRequest, type RemoteMetadata } from '../protobuf.js';
import { handleRemoteWrite } from '../receiver.js';

/** A remote_write config with Prometheus's defaults, from the YAML of one list entry. */
export function rwConfig(url: string, extra = ''): RemoteWriteConfig {
  const lines = extra
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => '    ' + l)
    .join('\n');
  const cfg = loadConfig(`remote_write:\n  - url: ${JSON.stringify(url)}\n${lines}\n`, 'test.yml');
  return cfg.remoteWrite[0];
}

/** What the fault hook decides for one request. */
export type Fault = 'pass' | 'down' | 'bad-request' | 'server-error' | 'too-many';

/** A receiver on 127.0.0.1 with a hook that can fail requests. */
export interface TestReceiver {
  url: string;
  port: number;
  /** Requests seen (any outcome). */
  requests: number;
  /** Sets the fault hook (request number from 1). */
  fault: (n: number) => Fault;
  close(): Promise<void>;
}

/** Starts our receiver over `store` on a free loopback port (or `port`). */
export async function startReceiver(store: Appendable, port = 0): Promise<TestReceiver> {
  const r: TestReceiver = {
    url: '',
    port: 0,
    requests: 0,
    fault: () => 'pass',
    close: () => Promise.resolve(),
  };
  const server = http.createServer((req, res) => {
    r.requests++;
    const f = r.fault(r.requests);
    if (f === 'down') {
      req.socket.destroy();
      return;
    }
    if (f === 'too-many') {
      req.resume();
      res.writeHead(429, { 'Retry-After': '1' }).end('slow down');
      return;
    }
    if (f === 'bad-request' || f === 'server-error') {
      req.resume();
      res.writeHead(f === 'bad-request' ? 400 : 503).end(f);
      return;
    }
    if (req.url === '/api/v1/write') handleRemoteWrite(req, res, store);
    else res.writeHead(404).end();
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  r.port = (server.address() as AddressInfo).port;
  r.url = `http://127.0.0.1:${r.port}/api/v1/write`;
  r.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return p;
}

/** The value written for sample `i` of series `s`: distinct and exact. */
export function knownValue(s: number, i: number): number {
  return s * 100_000 + i + 0.25;
}

/** Labels of known series `s`. */
export function knownLabels(s: number, metric = 'rw_test_metric'): Labels {
  return Labels.from({ __name__: metric, series: String(s), pod: `pod-${s % 7}` });
}

/**
 * Appends samples `[from, to)` of `nSeries` known series, one commit per sample index
 * (timestamps t0 + i·stepMs).
 */
export async function appendKnown(
  db: Appendable,
  nSeries: number,
  from: number,
  to: number,
  t0: number,
  stepMs: number,
  metric = 'rw_test_metric',
): Promise<void> {
  const ls = Array.from({ length: nSeries }, (_, s) => knownLabels(s, metric));
  for (let i = from; i < to; i++) {
    const app = db.appender();
    for (let s = 0; s < nSeries; s++) app.append(0, ls[s], t0 + i * stepMs, knownValue(s, i));
    await app.commit();
  }
}

/** Every series of `metric` in a store: key → [t, v] pairs in order. */
export async function readStore(
  q: Queryable,
  metric: string,
  mint = -Infinity,
  maxt = Infinity,
): Promise<Map<string, [number, number][]>> {
  const querier = await q.querier(mint === -Infinity ? Number.MIN_SAFE_INTEGER : mint, maxt === Infinity ? Number.MAX_SAFE_INTEGER : maxt);
  const out = new Map<string, [number, number][]>();
  try {
    const set = querier.select(true, null, [new Matcher('=', '__name__', metric)]);
    while (set.next()) {
      const s = set.at();
      const it = s.iterator();
      const pts: [number, number][] = [];
      while (it.next() !== 0) pts.push([it.atT(), it.atV()]);
      out.set(s.labels.toString(), pts);
    }
  } finally {
    querier.close();
  }
  return out;
}

/** Polls `cond` every 50 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/** Children still running: killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/**
 * Cleanups run last-registered first (node:test runs `t.after` hooks in registration
 * order, which would remove a folder before the program writing into it is stopped).
 */
export function cleanupStack(t: { after(fn: () => Promise<void>): void }): (
  fn: () => unknown,
) => void {
  const fns: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of fns.reverse()) {
      try {
        await fn();
      } catch {
        // keep cleaning up
      }
    }
  });
  return (fn) => void fns.push(fn);
}

/** A program started by a test (a receiver, Prometheus, a collector process). */
export interface PeerProcess {
  proc: ChildProcess;
  /** `http://127.0.0.1:<port>`. */
  base: string;
  /** Its stdout and stderr, in chunks. */
  log: string[];
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
  /** SIGKILL; resolves when it has exited. */
  kill(): Promise<void>;
}

/**
 * Starts `bin args` and waits (up to `readyTimeoutMs`) until `GET base + readyPath`
 * answers 2xx; throws with the tail of its log if it does not.
 */
export async function startPeer(
  bin: string,
  args: string[],
  port: number,
  readyPath: string,
  readyTimeoutMs = 30_000,
): Promise<PeerProcess> {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const log: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const base = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  const kill = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGKILL');
    await exited;
  };
  const ok = await waitFor(async () => {
    if (proc.exitCode !== null) return false;
    try {
      return (await fetch(base + readyPath)).ok;
    } catch {
      return false;
    }
  }, readyTimeoutMs);
  if (!ok) {
    await stop();
    throw new Error(`${bin} did not become ready:\n${log.join('').slice(-2000)}`);
  }
  return { proc, base, log, stop, kill };
}

/**
 * Starts `meshmetrics collector` from the sources (through tsx) as a child process, on
 * 127.0.0.1:`port`, and waits until it is ready. Run from the repository root.
 */
export function startCollectorProcess(
  configFile: string,
  dataDir: string,
  port: number,
  extraFlags: string[] = [],
): Promise<PeerProcess> {
  return startPeer(
    process.execPath,
    [
      // e.g. MESHMETRICS_COLLECTOR_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
      ...(process.env.MESHMETRICS_COLLECTOR_NODE_FLAGS ?? '').split(' ').filter(Boolean),
      '--import',
      'tsx',
      '-e',
      "import('./src/cmd/main.ts').then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })",
      'collector',
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      ...extraFlags,
    ],
    port,
    '/-/ready',
    60_000,
  );
}

/** Starts VictoriaMetrics (single node) on 127.0.0.1:`port` over `dataDir`. */
export function startVictoriaMetrics(
  bin: string,
  dataDir: string,
  port: number,
): Promise<PeerProcess> {
  return startPeer(
    bin,
    [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${dataDir}`,
      '-search.disableCache',
      '-retentionPeriod=10y',
    ],
    port,
    '/health',
  );
}

/**
 * The samples of `value` in a Prometheus exposition (the collector's /metrics) for
 * the family `name`, summed over its label sets.
 */
export function selfMetric(exposition: string, name: string): number {
  let sum = 0;
  let found = false;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(name)) continue;
    const c = line.charCodeAt(name.length);
    if (c !== 0x7b /* { */ && c !== 0x20 /* space */) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  return found ? sum : NaN;
}

/** A raw-sample answer of the query API: series key (labels as JSON) → [t ms, v] pairs. */
export async function queryRange(
  base: string,
  selector: string,
  windowS: number,
  atS = Date.now() / 1000,
): Promise<Map<string, [number, number][]>> {
  const res = await fetch(
    `${base}/api/v1/query?${new URLSearchParams({ query: `${selector}[${windowS}s]`, time: String(atS) })}`,
  );
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  if (body.status !== 'success') throw new Error(`query ${selector}: ${body.error}`);
  const out = new Map<string, [number, number][]>();
  for (const r of body.data.result) {
    const keys = Object.keys(r.metric).sort();
    const key = JSON.stringify(keys.map((k) => [k, r.metric[k]]));
    out.set(
      key,
      r.values.map(([ts, v]) => [Math.round(ts * 1000), Number(v)]),
    );
  }
  return out;
}

/** What a {@link CaptureReceiver} got in one request. */
export interface CapturedRequest {
  series: number;
  samples: number;
  metadata: RemoteMetadata[];
}

/** A receiver on 127.0.0.1 that decodes and keeps every request (answers 204). */
export interface CaptureReceiver {
  url: string;
  requests: CapturedRequest[];
  close(): Promise<void>;
}

/** Starts a {@link CaptureReceiver} on a free loopback port. */
export async function startCaptureReceiver(): Promise<CaptureReceiver> {
  const requests: CapturedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const raw = snappy.uncompressSync(Buffer.concat(chunks)) as Buffer;
        const d = decodeWriteRequest(raw, new DecodedWriteRequest());
        requests.push({ series: d.series, samples: d.samples, metadata: d.metadata.slice() });
        res.writeHead(204).end();
      } catch (err) {
        res.writeHead(400).end((err as Error).message);
      }
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Helpers of the remote-write tests and benchmark: configs from YAML, a receiver server
 * around {@link handleRemoteWrite} with fault injection, known data written through a DB
 * (so it goes through the WAL), and reading a store back.
 * @module
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig, type RemoteWriteConfig } from '../../config/index.js';
import { Labels } from '../../model/labels.js';
import { Matcher } from '../../model/matcher.js';
import type { Appendable, Queryable } from '../../storage/interface.js';
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

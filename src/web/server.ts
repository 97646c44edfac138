/**
 * The collector's HTTP server on `node:http`, with a small router of its own: `/api/v1/*`,
 * `/federate`, `/metrics`, and the `/-/` lifecycle endpoints, with Prometheus 2.42's status
 * codes and texts. Answers are gzip-compressed when the client accepts it.
 * @module
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGzip, type Gzip } from 'node:zlib';
import { negotiate, TEXT_CONTENT_TYPE } from '../exposition/index.js';
import { PromError, QueryError } from '../model/errors.js';
import { PromQLParseError } from '../promql/index.js';
import {
  Api,
  statusOfErrorType,
  type ApiOptions,
  type ApiResult,
  type ApiRoute,
} from './api/v1/api.js';
import { writeFederation } from './federate.js';
import type { Lifecycle, SelfMetricsSource } from './interfaces.js';
import { goJson, jsonString, JsonOut, type TextSink } from './json-out.js';
import { Params } from './params.js';
import { parseMetricSelector } from './selector.js';
import { renderSelfMetrics } from './self-metrics.js';
import { DashboardFiles } from './static.js';

/** Largest form body accepted (POST with long `match[]` or `query`). */
const MAX_FORM_BYTES = 32 * 1024 * 1024;
const API_PREFIX = '/api/v1';

/** Everything the server serves from. */
export interface WebOptions extends ApiOptions {
  /** `--query.lookback-delta` (ms), for /federate. */
  lookbackDeltaMs: number;
  /** `global.external_labels`, read per request (a reload may change them). */
  externalLabels?: () => Record<string, string>;
  /** Self-metric sources for /metrics (process metrics are always included). */
  selfMetrics?: readonly SelfMetricsSource[];
  enableLifecycle?: boolean;
  lifecycle?: Lifecycle | null;
  /** False while the storage is not ready: every route but /-/healthy and /-/ready is 503. */
  ready?: () => boolean;
  /** The built dashboard served at `/` (default: the package's `dist/dashboard`). */
  dashboardDir?: string;
  /** `POST /api/v1/write` (set with --web.enable-remote-write-receiver); absent: 404. */
  remoteWriteHandler?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Parses `host:port`, `:port` or `[v6]:port`. */
export function parseListenAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  if (i < 0)
    throw new PromError(
      'ERR_WEB_LISTEN',
      `invalid listen address ${JSON.stringify(addr)}: missing port`,
    );
  let host = addr.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new PromError(
      'ERR_WEB_LISTEN',
      `invalid listen address ${JSON.stringify(addr)}: bad port`,
    );
  }
  return { host: host === '' ? '0.0.0.0' : host, port };
}

function acceptsGzip(req: IncomingMessage): boolean {
  const ae = req.headers['accept-encoding'];
  return typeof ae === 'string' && /\bgzip\b/i.test(ae);
}

/** Prometheus's UI pages and the dashboard page that takes their place. */
const UI_REDIRECTS: Record<string, string> = {
  '/graph': './#/query',
  '/targets': './#/targets',
  '/service-discovery': './#/targets',
};

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location, 'Content-Type': 'text/html; charset=utf-8' });
  res.end(`<a href="${location}">Found</a>.\n`);
}

function plain(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

/** Reads a urlencoded form body; null for other content types or no body. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  if (req.method !== 'POST' && req.method !== 'PUT') return null;
  const ct = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (ct !== 'application/x-www-form-urlencoded') {
    req.resume();
    return null;
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_FORM_BYTES)
      throw new QueryError('bad_data', `request body larger than ${MAX_FORM_BYTES} bytes`);
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Opens the response body, through gzip when accepted; returns the sink and a closer. */
function openBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
): { sink: TextSink & { write(chunk: Buffer | string): boolean }; end: () => Promise<void> } {
  if (acceptsGzip(req)) {
    res.writeHead(status, { ...headers, 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
    const gz: Gzip = createGzip();
    gz.pipe(res);
    return {
      sink: gz,
      end: () =>
        new Promise<void>((resolve) => {
          res.once('finish', resolve);
          res.once('close', resolve);
          gz.end();
        }),
    };
  }
  res.writeHead(status, headers);
  return {
    sink: res,
    end: () =>
      new Promise<void>((resolve) => {
        res.end(resolve);
      }),
  };
}

/** The HTTP front of the collector. Create it, then {@link listen}. */
export class WebServer {
  readonly api: Api;
  private readonly o: WebOptions;
  private readonly server: Server;
  private readonly dashboard: DashboardFiles;

  constructor(o: WebOptions) {
    this.o = o;
    this.api = new Api(o);
    this.dashboard = new DashboardFiles(o.dashboardDir);
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        // Last resort: the request failed after headers were sent, or in the handler's own code.
        if (!res.headersSent) plain(res, 500, `internal error: ${(err as Error).message}\n`);
        else res.destroy(err as Error);
      });
    });
    this.server.keepAliveTimeout = 30_000;
  }

  /** Starts listening; resolves to the bound address (port 0 picks a free port). */
  listen(address: string): Promise<{ host: string; port: number }> {
    const { host, port } = parseListenAddress(address);
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops accepting connections and closes idle ones; resolves when all are closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 2000).unref();
    });
  }

  /** The request handler, for mounting on another server. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path === '/-/healthy') return plain(res, 200, 'Prometheus Server is Healthy.\n');
    if (path === '/-/ready') {
      if (this.o.ready === undefined || this.o.ready())
        return plain(res, 200, 'Prometheus Server is Ready.\n');
      return plain(res, 503, 'Service Unavailable');
    }
    if (this.o.ready !== undefined && !this.o.ready())
      return plain(res, 503, 'Service Unavailable');

    if (path === '/-/reload' || path === '/-/quit') return this.lifecycle(req, res, path, method);
    if (path === '/metrics') {
      if (method !== 'GET' && method !== 'HEAD') return plain(res, 405, 'Method Not Allowed\n');
      const fmt = negotiate(req.headers.accept);
      const body = renderSelfMetrics(fmt.format, this.o.selfMetrics ?? []);
      const out = openBody(req, res, 200, { 'Content-Type': fmt.contentType });
      out.sink.write(body);
      return out.end();
    }
    if (path === '/federate') {
      if (method !== 'GET' && method !== 'POST') return plain(res, 405, 'Method Not Allowed\n');
      return this.federate(req, res, url);
    }
    if (path === API_PREFIX + '/write') {
      if (this.o.remoteWriteHandler === undefined) {
        req.resume();
        return plain(
          res,
          404,
          'remote write receiver needs to be enabled with --web.enable-remote-write-receiver\n',
        );
      }
      return this.o.remoteWriteHandler(req, res);
    }
    if (path.startsWith(API_PREFIX + '/'))
      return this.serveApi(req, res, url, path.slice(API_PREFIX.length), method);
    if (method === 'GET' || method === 'HEAD') {
      // Prometheus's own UI paths lead to the matching dashboard page.
      const page = UI_REDIRECTS[path];
      if (page !== undefined) return redirect(res, page);
      if (this.dashboard.serve(req, res, path)) return;
    }
    return plain(res, 404, '404 page not found\n');
  }

  private async lifecycle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
  ): Promise<void> {
    if (method !== 'POST' && method !== 'PUT')
      return plain(res, 405, 'Only POST or PUT requests allowed');
    req.resume();
    if (!this.o.enableLifecycle || !this.o.lifecycle)
      return plain(res, 403, 'Lifecycle API is not enabled.');
    if (path === '/-/quit') {
      plain(res, 200, 'Requesting termination... Goodbye!');
      this.o.lifecycle.quit();
      return;
    }
    const ok = await this.o.lifecycle.reload();
    if (ok) return plain(res, 200, '');
    return plain(res, 500, 'failed to reload config\n');
  }

  private async federate(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let params: Params;
    try {
      params = Params.from(url.searchParams, await readForm(req));
    } catch (e) {
      return plain(res, 400, `${(e as Error).message}\n`);
    }
    const sets = [];
    for (const s of params.all('match[]')) {
      try {
        sets.push(parseMetricSelector(s));
      } catch (e) {
        if (e instanceof PromQLParseError) return plain(res, 400, `${e.message}\n`);
        throw e;
      }
    }
    // 2.42 never answers OpenMetrics here; protobuf is not produced (text is the fallback).
    const out = openBody(req, res, 200, { 'Content-Type': TEXT_CONTENT_TYPE });
    try {
      await writeFederation(out.sink, sets, {
        queryable: this.o.queryable,
        now: (this.o.now ?? Date.now)(),
        lookbackDeltaMs: this.o.lookbackDeltaMs,
        externalLabels: this.o.externalLabels?.() ?? {},
      });
    } catch (e) {
      // Headers are gone: cut the body so the scraper sees a failed scrape.
      res.destroy(e as Error);
      return;
    }
    await out.end();
  }

  private async serveApi(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    sub: string,
    method: string,
  ): Promise<void> {
    const origin = req.headers.origin;
    if (typeof origin === 'string') {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Headers', 'Accept, Authorization, Content-Type, Origin');
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
      res.setHeader('Access-Control-Expose-Headers', 'Date');
      res.setHeader('Vary', 'Origin');
    }
    let route: ApiRoute | undefined = this.api.routes.get(sub);
    let arg = '';
    if (route === undefined) {
      const m = /^\/label\/([^/]+)\/values$/.exec(sub);
      if (m !== null) {
        route = this.api.labelValuesRoute;
        arg = decodeURIComponent(m[1]);
      }
    }
    if (route === undefined) return plain(res, 404, '404 page not found\n');
    if (method === 'OPTIONS') {
      res.writeHead(200);
      res.end();
      return;
    }
    if (!route.methods.includes(method)) return plain(res, 405, 'Method Not Allowed\n');

    const ac = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) ac.abort();
    };
    res.once('close', onClose);
    let result: ApiResult;
    try {
      const params = Params.from(url.searchParams, await readForm(req));
      result = await route.handler(params, ac.signal, arg);
    } catch (e) {
      return this.apiError(req, res, e);
    }
    if (result.kind === 'noContent') {
      res.writeHead(204);
      res.end();
      return;
    }
    const out = openBody(req, res, 200, { 'Content-Type': 'application/json' });
    const json = new JsonOut(out.sink);
    json.raw('{"status":"success","data":');
    try {
      if (result.kind === 'data') json.raw(goJson(result.data));
      else await result.write(json);
    } catch (e) {
      res.destroy(e as Error);
      return;
    }
    if (result.warnings && result.warnings.length > 0) {
      json.raw(`,"warnings":[${result.warnings.map(jsonString).join(',')}]`);
    }
    if (result.infos && result.infos.length > 0) {
      json.raw(`,"infos":[${result.infos.map(jsonString).join(',')}]`);
    }
    json.raw('}');
    await json.flush();
    await out.end();
  }

  private async apiError(req: IncomingMessage, res: ServerResponse, e: unknown): Promise<void> {
    let type: string;
    let message: string;
    if (e instanceof QueryError) {
      type = e.type;
      message = e.message;
    } else {
      type = 'internal';
      message = (e as Error)?.message ?? String(e);
    }
    const out = openBody(req, res, statusOfErrorType(type), { 'Content-Type': 'application/json' });
    out.sink.write(`{"status":"error","errorType":"${type}","error":${jsonString(message)}}`);
    await out.end();
  }
}

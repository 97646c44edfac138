/**
 * HTTP/2 (prior knowledge, h2c) forwarding, gRPC included: a node:http2 server handed the
 * detected connections, and one client session per target. The response status comes from
 * `:status`; gRPC's from the `grpc-status` trailer, or from the headers of a trailers-only
 * response.
 * @module
 */

import * as http2 from 'node:http2';
import { performance } from 'node:perf_hooks';
import { joinHostPort } from './labels.js';
import { errorKind } from './recorder.js';
import type { Route, Side } from './side.js';

const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL } = http2.constants;
/** The END_STREAM flag of a HEADERS frame (RFC 9113 §6.2). */
const FLAG_END_STREAM = 0x1;

/** Request and response headers that are specific to one connection (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

function forwardable(h: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const k in h) {
    if (CONNECTION_SPECIFIC.has(k)) continue;
    if (k === 'te' && h[k] !== 'trailers') continue;
    out[k] = h[k];
  }
  return out;
}

/** A server and its pool of client sessions, one per route (authority and target). */
export class Http2Forwarder {
  readonly server: http2.Http2Server;
  private readonly side: Side;
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(side: Side) {
    this.side = side;
    this.server = http2.createServer({ settings: { enablePush: false } });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.server.on('sessionError', () => {});
  }

  /** Closes every client session. */
  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }

  private session(route: Route): http2.ClientHttp2Session {
    const key = route.authority + '|' + route.host + ':' + route.port;
    let s = this.sessions.get(key);
    if (s !== undefined && !s.closed && !s.destroyed) return s;
    // The URL only names the session's origin; each request carries its own :authority.
    s = http2.connect(`http://${joinHostPort(route.host, route.port)}`, {
      createConnection: () => this.side.dial(route),
    });
    const created = s;
    const drop = (): void => {
      if (this.sessions.get(key) === created) this.sessions.delete(key);
    };
    s.on('close', drop);
    s.on('goaway', drop);
    s.on('error', drop);
    this.sessions.set(key, s);
    return s;
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const t0 = performance.now();
    const side = this.side;
    const m = side.metrics;
    const authority = headers[':authority'] ?? headers.host ?? '';
    const route = side.route(authority);
    const ep = route.endpoint;
    m.request(ep);
    let status = 0;
    let done = false;
    let trailers: http2.IncomingHttpHeaders | null = null;
    const finish = (grpc: string, error: string): void => {
      if (done) return;
      done = true;
      m.responseEnd(ep, status, grpc, error);
    };

    let up: http2.ClientHttp2Stream;
    try {
      up = this.session(route).request(forwardable(headers), { endStream: stream.readableEnded });
    } catch (err) {
      m.error(side.direction, 'http', errorKind(err));
      status = 502;
      m.responseStart(ep, status, performance.now() - t0);
      if (!stream.destroyed) stream.respond({ ':status': 502 }, { endStream: true });
      finish('', '');
      return;
    }
    stream.pipe(up);
    up.on('response', (h, flags) => {
      status = Number(h[':status'] ?? 0);
      m.responseStart(ep, status, performance.now() - t0);
      if (stream.destroyed) return;
      if ((flags & FLAG_END_STREAM) !== 0) {
        // Trailers-only (a gRPC error without a body): the status is in the headers.
        stream.respond(forwardable(h), { endStream: true });
        finish(String(h['grpc-status'] ?? ''), '');
        return;
      }
      stream.respond(forwardable(h), { waitForTrailers: true });
      up.pipe(stream);
      up.once('end', () => {
        const grpc = trailers?.['grpc-status'] ?? h['grpc-status'];
        finish(grpc === undefined ? '' : String(grpc), '');
      });
    });
    up.on('trailers', (t) => {
      trailers = t;
    });
    stream.on('wantTrailers', () => {
      if (trailers !== null && Object.keys(trailers).length > 0)
        stream.sendTrailers(forwardable(trailers));
      else stream.close();
    });
    up.on('error', (err) => {
      if (status === 0) {
        m.error(side.direction, 'http', errorKind(err));
        status = 502;
        m.responseStart(ep, status, performance.now() - t0);
        if (!stream.destroyed && !stream.headersSent)
          stream.respond({ ':status': 502 }, { endStream: true });
        finish('', '');
      } else {
        finish('', 'i/o');
        if (!stream.destroyed) stream.close(NGHTTP2_INTERNAL_ERROR);
      }
    });
    up.on('close', () => {
      if (!done && status !== 0 && up.rstCode !== undefined && up.rstCode !== 0) {
        finish('', 'i/o');
        if (!stream.destroyed) stream.close(up.rstCode);
      }
    });
    stream.on('error', () => {});
    stream.on('close', () => {
      if (!done) {
        if (!up.destroyed) up.close(NGHTTP2_CANCEL);
        if (status !== 0) finish('', 'i/o');
      }
    });
  }
}

/**
 * HTTP/1.1 forwarding: a node:http server that is handed detected connections, and a
 * keep-alive agent per direction towards the targets. Bodies stream through (chunked or
 * sized, as node:http frames them), trailers are passed on, upgrades become tunnels.
 * @module
 */

import * as http from 'node:http';
import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { errnoOf, errorKind } from './recorder.js';
import type { Route, Side } from './side.js';

/** Headers that belong to one hop (RFC 9110 §7.6.1) and are not forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/** Request options our agent understands: the route, to label the connection it opens. */
interface RoutedRequestOptions extends http.RequestOptions {
  meshRoute?: Route;
}

/** A keep-alive agent whose sockets are counted under their route's `peer="dst"` labels. */
function routedAgent(side: Side): http.Agent {
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: Infinity,
    maxFreeSockets: 256,
    scheduling: 'lifo',
  });
  // Pool per authority as well as per address, so a socket's labels match its requests; the
  // route carries its pool name, so finding a free socket builds no string.
  agent.getName = (o?: RoutedRequestOptions) => o?.meshRoute?.pool ?? '';
  (
    agent as unknown as { createConnection: (o: RoutedRequestOptions) => net.Socket }
  ).createConnection = (o) => {
    const route = o.meshRoute;
    if (route === undefined) throw new Error('BUG: request without a route');
    return side.dial(route);
  };
  return agent;
}

/** True when `name` (any case) is a hop-by-hop header. */
function isHopByHop(name: string): boolean {
  // Every hop-by-hop name is 2..19 characters long; most end-to-end names skip the lowercasing.
  return name.length <= 19 && HOP_BY_HOP.has(name.toLowerCase());
}

/**
 * What a request's raw headers say, found in one pass: the Host value, whether a body follows
 * (Content-Length or Transfer-Encoding), and the end-to-end headers as a flat
 * `[name, value, …]` list with names as the client wrote them, ready for `http.request`
 * (which then writes them as they are instead of validating and storing each one).
 */
interface RequestHead {
  host: string | undefined;
  hasBody: boolean;
  headers: string[];
}

function requestHead(raw: readonly string[]): RequestHead {
  const headers: string[] = [];
  let host: string | undefined;
  let hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && host === undefined && name.toLowerCase() === 'host') host = raw[i + 1];
    else if (name.length === 14 && name.toLowerCase() === 'content-length')
      hasBody ||= raw[i + 1] !== '0';
    else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') hasBody = true;
    if (!isHopByHop(name)) headers.push(name, raw[i + 1]);
  }
  return { host, hasBody, headers };
}

/** The end-to-end part of a response's raw headers, and its `grpc-status` if any. */
function responseHeaders(raw: readonly string[]): { headers: string[]; grpcStatus: string } {
  const headers: string[] = [];
  let grpcStatus = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (isHopByHop(name)) continue;
    if (name.length === 11 && name.toLowerCase() === 'grpc-status') grpcStatus = raw[i + 1];
    headers.push(name, raw[i + 1]);
  }
  return { headers, grpcStatus };
}

/** Replaces (or adds) the Host header of a flat header list. */
function setHost(headers: string[], host: string): void {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].length === 4 && headers[i].toLowerCase() === 'host') {
      headers[i + 1] = host;
      return;
    }
  }
  headers.push('Host', host);
}

/** Where a request goes: the route of its authority and the origin-form path. */
function target(
  side: Side,
  req: http.IncomingMessage,
  host: string | undefined,
): { route: Route; path: string; absolute: boolean; rawAuthority: string } | null {
  const url = req.url ?? '/';
  if (side.direction === 'outbound' && url.startsWith('http://')) {
    // Absolute-form request-target (a forward-proxy request).
    const slash = url.indexOf('/', 7);
    const authority = slash < 0 ? url.slice(7) : url.slice(7, slash);
    return {
      route: side.route(authority),
      path: slash < 0 ? '/' : url.slice(slash),
      absolute: true,
      rawAuthority: authority,
    };
  }
  if (host === undefined && side.direction === 'outbound') return null;
  return { route: side.route(host ?? ''), path: url, absolute: false, rawAuthority: host ?? '' };
}

/** The node:http server of one direction; connections arrive by `emit('connection')`. */
export function createHttp1Server(side: Side): http.Server {
  const agent = routedAgent(side);
  const m = side.metrics;
  const server = http.createServer({ keepAlive: true, noDelay: true } as http.ServerOptions);
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 60_000;
  server.requestTimeout = 0;

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const t0 = performance.now();
    const head = requestHead(req.rawHeaders);
    const dest = target(side, req, head.host);
    if (dest === null) {
      m.error(side.direction, 'http', 'unexpected');
      res.writeHead(400, { 'content-type': 'text/plain' }).end('missing Host header\n');
      return;
    }
    const ep = dest.route.endpoint;
    m.request(ep);
    let done = false;
    let status = 0;
    const finish = (grpcStatus: string, error: string): void => {
      if (done) return;
      done = true;
      m.responseEnd(ep, status, grpcStatus, error);
    };
    const headers = head.headers;
    // An absolute-form target names the authority; Host must agree with it (RFC 9112 §3.2.2).
    // A raw header list is sent as is, so a request without Host (HTTP/1.0) gets one here.
    if (dest.absolute) setHost(headers, dest.rawAuthority);
    else if (head.host === undefined) setHost(headers, `${dest.route.host}:${dest.route.port}`);
    const opts: RoutedRequestOptions = {
      host: dest.route.host,
      port: dest.route.port,
      method: req.method,
      path: dest.path,
      headers,
      agent,
      meshRoute: dest.route,
    };
    const up = http.request(opts);
    up.on('response', (upRes) => {
      status = upRes.statusCode ?? 0;
      m.responseStart(ep, status, performance.now() - t0);
      const resHead = responseHeaders(upRes.rawHeaders);
      res.writeHead(status, upRes.statusMessage, resHead.headers);
      upRes.on('data', (chunk: Buffer) => {
        if (!res.write(chunk)) {
          upRes.pause();
          res.once('drain', () => upRes.resume());
        }
      });
      upRes.on('end', () => {
        let grpc = '';
        if (upRes.rawTrailers.length > 0) {
          const trailers = upRes.trailers;
          res.addTrailers(trailers);
          grpc = String(trailers['grpc-status'] ?? '');
        }
        // A trailers-only gRPC answer carries its status in the headers.
        if (grpc === '') grpc = resHead.grpcStatus;
        res.end();
        finish(grpc, '');
      });
      // A response cut short (the target closed or reset the connection) is destroyed with
      // an error, so one 'error' listener also covers what 'aborted' reports.
      upRes.on('error', () => {
        finish('', 'i/o');
        res.destroy();
      });
    });
    up.on('error', (err) => {
      m.error(side.direction, 'http', errorKind(err));
      if (status === 0) {
        // Nothing reached the client yet: answer as Linkerd does when the target fails.
        status = 502;
        m.responseStart(ep, status, performance.now() - t0);
        if (!res.headersSent && !res.destroyed)
          res
            .writeHead(502, {
              'content-type': 'text/plain',
              'l5d-proxy-error': errnoOf(err) || 'unexpected',
            })
            .end();
        finish('', '');
      } else {
        finish('', 'i/o');
        res.destroy();
      }
    });
    res.on('close', () => {
      // The client went away before the response ended.
      if (!done && !res.writableFinished) {
        up.destroy();
        if (status !== 0) finish('', 'i/o');
      }
    });
    // A client that goes away mid-request ends the upstream request too.
    req.on('error', () => up.destroy());
    res.on('error', () => up.destroy());
    // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3):
    // end the upstream request now instead of piping an empty stream.
    if (head.hasBody) req.pipe(up);
    else up.end();
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
    upgrade(side, upgradeHeaders(req), req, socket, head),
  );
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
    connectTunnel(side, req, socket, head),
  );
  server.on('clientError', (_err, socket: net.Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('close', () => agent.destroy());
  return server;
}

/** Which headers an upgrade request keeps: all but the proxy-only ones. */
function upgradeHeaders(req: http.IncomingMessage): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const k in req.headers)
    if (k !== 'proxy-connection' && k !== 'proxy-authorization') out[k] = req.headers[k];
  return out;
}

/** Passes an upgrade (WebSocket, h2c…) through as a byte tunnel once the target agrees. */
function upgrade(
  side: Side,
  headers: http.OutgoingHttpHeaders,
  req: http.IncomingMessage,
  socket: net.Socket,
  head: Buffer,
): void {
  const t0 = performance.now();
  const m = side.metrics;
  const dest = target(side, req, req.headers.host);
  if (dest === null) {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    return;
  }
  const ep = dest.route.endpoint;
  m.request(ep);
  const upSocket = side.dial(dest.route);
  const up = http.request({
    method: req.method,
    path: dest.path,
    headers,
    createConnection: () => upSocket,
  });
  socket.on('error', () => upSocket.destroy());
  up.on('upgrade', (upRes: http.IncomingMessage, tunnel: net.Socket, upHead: Buffer) => {
    const status = upRes.statusCode ?? 101;
    m.responseStart(ep, status, performance.now() - t0);
    m.responseEnd(ep, status, '', '');
    let text = `HTTP/1.1 ${status} ${upRes.statusMessage ?? ''}\r\n`;
    for (let i = 0; i < upRes.rawHeaders.length; i += 2)
      text += `${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}\r\n`;
    socket.write(text + '\r\n');
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) tunnel.write(head);
    tunnel.pipe(socket);
    socket.pipe(tunnel);
    tunnel.on('error', () => socket.destroy());
    tunnel.on('close', () => socket.destroy());
    socket.on('close', () => tunnel.destroy());
  });
  up.on('response', (upRes) => {
    // The target declined the upgrade: relay its answer and close.
    const status = upRes.statusCode ?? 0;
    m.responseStart(ep, status, performance.now() - t0);
    let text = `HTTP/1.1 ${status} ${upRes.statusMessage ?? ''}\r\n`;
    for (let i = 0; i < upRes.rawHeaders.length; i += 2)
      text += `${upRes.rawHeaders[i]}: ${upRes.rawHeaders[i + 1]}\r\n`;
    socket.write(text + 'connection: close\r\n\r\n');
    upRes.pipe(socket);
    upRes.once('end', () => m.responseEnd(ep, status, '', ''));
  });
  up.on('error', (err) => {
    m.error(side.direction, 'http', errorKind(err));
    m.responseStart(ep, 502, performance.now() - t0);
    m.responseEnd(ep, 502, '', '');
    if (socket.writable)
      socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  up.end();
}

/**
 * `CONNECT host:port` (outbound only): answers 200 once the target accepts, then forwards
 * the bytes as opaque TCP, counted under the target's `peer="dst"` labels.
 */
function connectTunnel(
  side: Side,
  req: http.IncomingMessage,
  socket: net.Socket,
  head: Buffer,
): void {
  const authority = req.url ?? '';
  if (side.direction !== 'outbound' || !/:\d+$/.test(authority)) {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  const upstream = side.dial(side.route(authority));
  upstream.once('connect', () => {
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', (err) => {
    if (upstream.connecting || upstream.bytesRead === 0)
      side.metrics.error(side.direction, 'tcp', errorKind(err));
    if (socket.writable && upstream.bytesRead === 0)
      socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  socket.on('error', () => upstream.destroy());
  socket.once('close', () => upstream.destroy());
  upstream.once('close', () => socket.destroy());
}

/**
 * The admin server (`--admin.listen-address`, 127.0.0.1:4191 by default), with the routes
 * of Linkerd's proxy admin (reference §1.0): `/metrics` (gzip when accepted), `/ready`,
 * `/live`, `/env.json`, `/shutdown` (loopback only, POST only), 404 for anything else.
 * @module
 */

import * as http from 'node:http';
import type * as net from 'node:net';
import { gzip } from 'node:zlib';
import { negotiate } from '../exposition/index.js';
import { joinHostPort, splitHostPort } from './labels.js';

/** What the admin server serves. */
export interface AdminHandlers {
  /** The /metrics body (text 0.0.4). */
  metrics(): Buffer;
  /** Whether the proxy is ready (listeners bound). */
  ready(): boolean;
  /** The /env.json object. */
  env(): Record<string, string>;
  /** Called after a POST /shutdown has been answered. */
  shutdown(): void;
}

/** Whether a remote address is a loopback one (127.0.0.0/8, ::1, or v4-mapped loopback). */
export function isLoopback(addr: string | undefined): boolean {
  if (!addr) return false;
  if (addr === '::1') return true;
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return v4.startsWith('127.');
}

function reply(
  res: http.ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain',
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Handles one admin request. Exported for tests that pass a non-loopback peer. */
export function handleAdmin(
  h: AdminHandlers,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  remote: string | undefined,
): void {
  const q = (req.url ?? '/').indexOf('?');
  const path = q < 0 ? (req.url ?? '/') : (req.url ?? '/').slice(0, q);
  switch (path) {
    case '/metrics': {
      // Linkerd answers text whatever is asked; negotiate without OpenMetrics gives that.
      const fmt = negotiate(req.headers.accept, { openMetrics: false });
      const body = h.metrics();
      const enc = req.headers['accept-encoding'] ?? '';
      if (/\bgzip\b/.test(enc)) {
        gzip(body, (err, zipped) => {
          if (err) return reply(res, 500, 'cannot compress metrics\n');
          res.writeHead(200, {
            'content-type': fmt.contentType,
            'content-encoding': 'gzip',
            'content-length': zipped.length,
          });
          res.end(zipped);
        });
        return;
      }
      res.writeHead(200, { 'content-type': fmt.contentType, 'content-length': body.length });
      res.end(body);
      return;
    }
    case '/ready':
      if (h.ready()) reply(res, 200, 'ready\n');
      else reply(res, 503, 'not ready\n');
      return;
    case '/live':
      reply(res, 200, 'live\n');
      return;
    case '/env.json':
      reply(res, 200, JSON.stringify(h.env()), 'application/json');
      return;
    case '/shutdown':
      if (!isLoopback(remote)) return reply(res, 403, 'shutdown is only allowed from localhost\n');
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return reply(res, 405, 'method not allowed\n');
      }
      res.once('finish', () => setImmediate(() => h.shutdown()));
      reply(res, 200, 'shutdown\n');
      return;
    default:
      reply(res, 404, 'not found\n');
  }
}

/** The admin HTTP server. */
export class AdminServer {
  private readonly server: http.Server;
  private readonly listenAddr: string;

  constructor(listen: string, handlers: AdminHandlers) {
    this.listenAddr = listen;
    this.server = http.createServer((req, res) =>
      handleAdmin(handlers, req, res, req.socket.remoteAddress),
    );
  }

  async listen(): Promise<string> {
    const { host, port } = splitHostPort(this.listenAddr);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(Number(port), host || '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const a = this.server.address() as net.AddressInfo;
    return joinHostPort(a.address, a.port);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}

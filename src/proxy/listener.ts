/**
 * A listener that counts every accepted connection (`peer="src"`), reads its first bytes,
 * and hands it to the HTTP/1 fast path (which passes anything unusual on to the node:http
 * server), the HTTP/2 server, or opaque TCP forwarding.
 *
 * ```
 *   accept ──▶ peek ──▶ "GET / …"      ──▶ FastConnection ──▶ http.Server when unusual
 *                 ├──▶ "PRI * HTTP/2.0" ──▶ http2 server
 *                 └──▶ anything else / detect timeout ──▶ TCP forward (or refused)
 * ```
 * @module
 */

import type * as http from 'node:http';
import * as net from 'node:net';
import { detectProtocol } from './detect.js';
import { Http2Forwarder } from './http2.js';
import { createHttp1Server } from './http1.js';
import { FastConnection, UpstreamPool } from './http1-fast.js';
import { acceptPairs, joinHostPort, splitHostPort, type LabelSets } from './labels.js';
import type { Route, Side } from './side.js';
import { forwardTcp } from './tcp.js';

/** Options of one listener. */
export interface ListenerOptions {
  /** `host:port` to bind (port 0 picks a free one). */
  listen: string;
  /**
   * Where non-HTTP connections go: a function giving the route, or null to refuse them
   * (counted as `<direction>_tcp_errors_total{error="unexpected"}`).
   */
  tcpRoute: (() => Route) | null;
  /** Skip detection and forward every connection as TCP (an opaque port). */
  opaque?: boolean;
  /** How long to wait for the first bytes before treating a connection as TCP, ms. */
  detectTimeoutMs?: number;
}

/** One listening socket of the proxy. */
export class Listener {
  readonly side: Side;
  private readonly opts: ListenerOptions;
  private readonly server: net.Server;
  private readonly http1: http.Server;
  /** Idle connections of the HTTP/1 fast path to targets. */
  private readonly pool: UpstreamPool;
  private readonly toHttp1 = (socket: net.Socket): void => {
    this.http1.emit('connection', socket);
    socket.resume();
  };
  private readonly h2: Http2Forwarder;
  private readonly labels: LabelSets;
  private readonly sockets = new Set<net.Socket>();

  constructor(side: Side, labels: LabelSets, opts: ListenerOptions) {
    this.side = side;
    this.labels = labels;
    this.opts = opts;
    this.http1 = createHttp1Server(side);
    this.pool = new UpstreamPool(side);
    this.h2 = new Http2Forwarder(side);
    this.server = net.createServer({ noDelay: true }, (s) => this.onConnection(s));
  }

  /** Binds the socket; resolves with the bound `host:port`. */
  async listen(): Promise<string> {
    const { host, port } = splitHostPort(this.opts.listen);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(Number(port), host || '0.0.0.0', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return this.address();
  }

  /** The bound address as `host:port`. */
  address(): string {
    const a = this.server.address() as net.AddressInfo;
    return joinHostPort(a.address, a.port);
  }

  /** Stops accepting, closes every connection and the client sessions. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.http1.closeAllConnections();
    this.pool.close();
    this.http1.emit('close');
    this.h2.close();
    await closed;
  }

  private onConnection(socket: net.Socket): void {
    const side = this.side;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const local = joinHostPort(socket.localAddress ?? '', socket.localPort ?? 0);
    side.track(
      socket,
      this.labels.cached(side.direction + '\u0000src\u0000' + local, () =>
        acceptPairs(side.direction, local),
      ),
    );
    if (this.opts.opaque) {
      this.toTcp(socket);
      return;
    }
    let buf: Buffer | null = null;
    const timer = setTimeout(() => finish('tcp'), this.opts.detectTimeoutMs ?? 1000);
    const onData = (chunk: Buffer): void => {
      buf = buf === null ? chunk : Buffer.concat([buf, chunk]);
      const p = detectProtocol(buf);
      if (p !== 'need-more') finish(p);
    };
    const onEnd = (): void => finish('tcp');
    const finish = (p: 'h2' | 'http1' | 'tcp'): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (p === 'http1') {
        new FastConnection(side, socket, this.pool, this.toHttp1).start(buf);
        socket.resume();
        return;
      }
      if (buf !== null) socket.unshift(buf);
      if (p === 'h2') {
        // The session reads the unshifted preface itself (socket.read() on the next tick),
        // then consumes the handle directly; resuming here would emit the bytes to no one.
        this.h2.server.emit('connection', socket);
      } else {
        this.toTcp(socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.on('error', () => clearTimeout(timer));
  }

  private toTcp(socket: net.Socket): void {
    const route = this.opts.tcpRoute;
    if (route === null) {
      this.side.metrics.error(this.side.direction, 'tcp', 'unexpected');
      socket.destroy();
      return;
    }
    forwardTcp(this.side, socket, route());
  }
}

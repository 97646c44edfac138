/**
 * One direction of the proxy (inbound or outbound): how a request's authority maps to an
 * address to dial and to its endpoint label set, and how the connections the proxy opens
 * are counted (`peer="dst"`).
 * @module
 */

import * as net from 'node:net';
import type { Destinations } from './destinations.js';
import {
  connectPairs,
  inboundEndpointPairs,
  joinHostPort,
  outboundEndpointPairs,
  splitHostPort,
  type Direction,
  type LabelSet,
  type LabelSets,
} from './labels.js';
import { errnoOf, type ProxyMetrics } from './recorder.js';

/** Where one request or connection goes and how it is labelled. */
export interface Route {
  /** The authority as labelled (`host:port` outbound; the Host header inbound). */
  readonly authority: string;
  /** Address dialled. */
  readonly host: string;
  readonly port: number;
  /** Endpoint labels of the HTTP families. */
  readonly endpoint: LabelSet;
  /** Transport labels of the connection the proxy opens (`peer="dst"`). */
  readonly connect: LabelSet;
  /** Name of the connection pool: routes share idle connections only when these match. */
  readonly pool: string;
}

/** Default port of an authority without one. */
const HTTP_PORT = '80';

/** Routing and connection accounting for one direction. */
export class Side {
  readonly direction: Direction;
  readonly metrics: ProxyMetrics;
  private readonly labels: LabelSets;
  private readonly destinations: Destinations | null;
  /** Inbound: the local app's address. */
  private readonly appAddress: string;
  private readonly routes = new Map<string, Route>();

  constructor(
    direction: Direction,
    metrics: ProxyMetrics,
    labels: LabelSets,
    opts: { appAddress?: string; destinations?: Destinations },
  ) {
    this.direction = direction;
    this.metrics = metrics;
    this.labels = labels;
    this.destinations = opts.destinations ?? null;
    this.appAddress = opts.appAddress ?? '';
  }

  /**
   * The route of a request or connection whose authority is `authority` (a Host header, an
   * absolute URI's host, an h2 `:authority`, or a tcp-route's destination). Routes are cached
   * per authority (rebuilt once eviction retired their label sets); the cache is cleared when
   * it passes 10,000 entries.
   */
  route(authority: string): Route {
    let r = this.routes.get(authority);
    if (r === undefined || r.endpoint.retired || r.connect.retired) {
      if (this.routes.size >= 10_000) this.routes.clear();
      r =
        this.direction === 'inbound' ? this.inboundRoute(authority) : this.outboundRoute(authority);
      this.routes.set(authority, r);
    }
    return r;
  }

  private inboundRoute(authority: string): Route {
    const target = this.appAddress;
    const { host, port } = splitHostPort(target);
    return {
      authority,
      host,
      port: Number(port),
      pool: `${target}|${authority}`,
      endpoint: this.labels.make(inboundEndpointPairs(authority, target)),
      connect: this.labels.cached('inbound\u0000' + target, () =>
        connectPairs('inbound', '', target, []),
      ),
    };
  }

  private outboundRoute(rawAuthority: string): Route {
    const hp = splitHostPort(rawAuthority.toLowerCase());
    const port = hp.port || HTTP_PORT;
    const authority = joinHostPort(hp.host, port);
    const dst = this.destinations?.resolve(authority, hp.host, port) ?? {
      address: authority,
      labels: [],
    };
    const target = splitHostPort(dst.address);
    const targetAddr = joinHostPort(target.host, target.port || port);
    return {
      authority,
      host: target.host,
      port: Number(target.port || port),
      pool: `${targetAddr}|${authority}`,
      endpoint: this.labels.make(outboundEndpointPairs(authority, targetAddr, dst.labels)),
      connect: this.labels.make(connectPairs('outbound', authority, targetAddr, dst.labels)),
    };
  }

  /**
   * Opens a TCP connection for `route`, counted under its `peer="dst"` labels. With
   * `onread`, reads land in the caller's buffer and go to its callback instead of 'data'.
   */
  dial(route: Route, onread?: net.OnReadOpts): net.Socket {
    const s = net.connect({ host: route.host, port: route.port, noDelay: true, onread });
    this.track(s, route.connect);
    return s;
  }

  /** Counts `socket` under `labels` from now until it closes, with its bytes and errno. */
  track(socket: net.Socket, labels: LabelSet): void {
    const h = this.metrics.tcpOpen(labels, socket);
    let errno = '';
    socket.on('error', (err) => {
      if (errno === '') errno = errnoOf(err);
    });
    socket.once('close', () =>
      this.metrics.tcpClose(h, errno, socket.bytesRead, socket.bytesWritten),
    );
  }
}

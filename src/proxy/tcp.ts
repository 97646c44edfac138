/**
 * Opaque TCP forwarding: bytes both ways, half-close passed on, and a reset on one side
 * passed on as a reset on the other, so `tcp_close_total{errno}` sees it on both.
 * @module
 */

import type * as net from 'node:net';
import { errorKind } from './recorder.js';
import type { Route, Side } from './side.js';

/** Forwards `client` to `route` until either side closes. */
export function forwardTcp(side: Side, client: net.Socket, route: Route): void {
  const upstream = side.dial(route);
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
  });
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', (err) => passOn(err, upstream));
  upstream.on('error', (err) => {
    if (!connected) side.metrics.error(side.direction, 'tcp', errorKind(err));
    passOn(err, client);
  });
  client.once('close', () => {
    if (!upstream.destroyed) upstream.destroy();
  });
  upstream.once('close', () => {
    if (!client.destroyed) client.end();
  });
}

/** Ends `other` the way `err` ended its peer: a reset becomes a reset. */
function passOn(err: Error, other: net.Socket): void {
  if (other.destroyed) return;
  if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') other.resetAndDestroy();
  else other.destroy();
}

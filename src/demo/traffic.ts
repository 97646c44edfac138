/**
 * The demo's traffic generator: a steady stream of HTTP/1.1 requests to web (through web's
 * inbound proxy, as an ingress would send them), mostly `/books/<id>`, some `/authors`.
 * @module
 */
import { Agent, request } from 'node:http';
import { prng, splitAddress } from './services.js';

/** Options of {@link startTraffic}. */
export interface TrafficOptions {
  /** Where to send: web's proxy inbound listener. */
  target: string;
  /** Host header, e.g. `web.demo.svc.cluster.local:8080`. */
  authority: string;
  /** Requests per second. Default 10. */
  rps?: number;
  /** Share of requests to the slow `/authors`. Default 0.2. */
  authorsShare?: number;
  seed?: number;
}

/** A running generator with its counts. */
export interface Traffic {
  /** Responses by status code (0 = no response). */
  readonly counts: Map<number, number>;
  /** Stops sending and waits for requests in flight. */
  stop(): Promise<void>;
}

/** Starts sending; requests go out on a fixed schedule whether or not earlier ones finished. */
export function startTraffic(o: TrafficOptions): Traffic {
  const rnd = prng(o.seed ?? 3);
  const rps = o.rps ?? 10;
  const authorsShare = o.authorsShare ?? 0.2;
  const [host, port] = splitAddress(o.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const counts = new Map<number, number>();
  let inFlight = 0;
  let stopped = false;
  let drained: (() => void) | null = null;
  const count = (code: number): void => {
    counts.set(code, (counts.get(code) ?? 0) + 1);
    if (--inFlight === 0 && drained) drained();
  };
  const send = (): void => {
    const path = rnd() < authorsShare ? '/authors' : `/books/${1 + Math.floor(rnd() * 20)}`;
    inFlight++;
    const req = request({ host, port, path, agent, headers: { host: o.authority } }, (res) => {
      res.resume();
      res.on('end', () => count(res.statusCode ?? 0));
      res.on('error', () => count(0));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => count(0));
    req.end();
  };
  const timer = setInterval(() => {
    if (!stopped) send();
  }, 1000 / rps);
  return {
    counts,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((r) => (drained = r)),
          new Promise((r) => setTimeout(r, 3000)),
        ]);
      }
      agent.destroy();
    },
  };
}

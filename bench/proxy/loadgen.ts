/**
 * An open-loop HTTP/1.1 load generator, run as its own process (forked by
 * overhead.bench.ts, which talks to it over the IPC channel).
 *
 * Request i is due at `start + i / rate`, whether or not earlier ones were answered: a stall
 * of the system under test does not slow the sending down, so it shows in every request it
 * delays (no coordinated omission). Latency is recorded twice: from the intended send time
 * (the honest figure, which also holds the generator's own timer lateness) and from the
 * moment the request was written (the system's service time); the lateness itself is
 * reported too, so a lagging generator is visible instead of hiding in the figures.
 *
 * Keep-alive connections on raw sockets, one request in flight per connection (no
 * pipelining); a request due while every connection is busy opens another one (up to
 * `maxConnections`, then waits in a queue, which counts in its latency). Responses must be
 * framed by Content-Length. Pre-built request bytes and a tiny parser keep the generator's
 * own CPU per request small.
 */

import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

/** One measurement, sent by the parent. */
export interface LoadJob {
  port: number;
  host: string;
  path: string;
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** Connections opened before the first request. */
  connections: number;
  maxConnections: number;
}

/** Percentiles of one latency distribution, ms. */
export interface Distribution {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** What the generator sends back for a job. */
export interface LoadResult {
  sent: number;
  errors: number;
  /** loadgen.c: the errors by kind (not a 200, connection closed, never answered). */
  errorKinds?: { status: number; closed: number; unanswered: number };
  /** Latency from the intended send time. */
  intended: Distribution;
  /** Latency from the moment the request was written. */
  written: Distribution;
  /** How late requests were written (loadgen.c: taken up) after their intended time. */
  lateness: Distribution;
  /** Connections used by the end of the job. */
  connections: number;
  /** Achieved request rate over the job. */
  rate: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

function distribution(xs: Float64Array): Distribution {
  const s = xs.slice().sort();
  const at = (p: number): number => s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))];
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: s[s.length - 1] };
}

/** A keep-alive connection carrying one request at a time. */
class Conn {
  readonly socket: net.Socket;
  /** Index of the request in flight, or -1. */
  inFlight = -1;
  /** The response in flight is not a 200. */
  failed = false;
  private buf: Buffer | null = null;
  /** Body bytes still expected after the head, or -1 while reading the head. */
  private bodyLeft = -1;
  private readonly onDone: (c: Conn, i: number) => void;

  constructor(
    port: number,
    onDone: (c: Conn, i: number) => void,
    onError: (c: Conn, err: Error) => void,
  ) {
    this.onDone = onDone;
    this.socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (err) => onError(this, err));
    this.socket.on('close', () => onError(this, new Error('connection closed')));
  }

  send(i: number, request: Buffer): void {
    this.inFlight = i;
    this.bodyLeft = -1;
    this.socket.write(request);
  }

  private onData(d: Buffer): void {
    let b = this.buf === null ? d : Buffer.concat([this.buf, d]);
    this.buf = null;
    while (b.length > 0) {
      if (this.bodyLeft < 0) {
        const end = b.indexOf(CRLFCRLF);
        if (end < 0) {
          this.buf = b;
          return;
        }
        const head = b.toString('latin1', 0, end);
        const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        this.failed = !head.startsWith('HTTP/1.1 200 ');
        if (m === null) {
          // Not a response of the bench app (a proxy's own error answer): count it as an
          // error and drop the connection rather than frame its body.
          this.failed = true;
          this.socket.destroy();
          return;
        }
        this.bodyLeft = Number(m[1]);
        b = b.subarray(end + 4);
      }
      const take = Math.min(this.bodyLeft, b.length);
      this.bodyLeft -= take;
      b = b.subarray(take);
      if (this.bodyLeft === 0) {
        const i = this.inFlight;
        this.inFlight = -1;
        this.bodyLeft = -1;
        this.onDone(this, i);
      }
    }
  }
}

/** Runs one job to the end. */
export async function run(job: LoadJob): Promise<LoadResult> {
  const request = Buffer.from(
    `GET ${job.path} HTTP/1.1\r\nHost: ${job.host}\r\nUser-Agent: meshmetrics-loadgen\r\n\r\n`,
    'latin1',
  );
  const total = Math.round(job.rate * job.seconds);
  const intended = new Float64Array(total);
  const written = new Float64Array(total);
  const fromIntended = new Float64Array(total);
  const fromWritten = new Float64Array(total);
  const idle: Conn[] = [];
  const all = new Set<Conn>();
  const queue: number[] = [];
  let done = 0;
  let errors = 0;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));

  const complete = (i: number): void => {
    const now = performance.now();
    fromIntended[i] = now - intended[i];
    fromWritten[i] = now - written[i];
    if (++done === total) finish();
  };
  const onDone = (c: Conn, i: number): void => {
    if (c.failed) errors++;
    complete(i);
    const next = queue.shift();
    if (next !== undefined) write(c, next);
    else idle.push(c);
  };
  const onError = (c: Conn): void => {
    if (!all.delete(c)) return;
    const k = idle.indexOf(c);
    if (k >= 0) idle.splice(k, 1);
    if (c.inFlight >= 0) {
      errors++;
      complete(c.inFlight);
    }
    c.socket.destroy();
  };
  const open = (): Conn => {
    const c = new Conn(job.port, onDone, onError);
    all.add(c);
    return c;
  };
  const write = (c: Conn, i: number): void => {
    written[i] = performance.now();
    c.send(i, request);
  };

  for (let k = 0; k < job.connections; k++) {
    const c = open();
    await new Promise<void>((r, rej) => {
      c.socket.once('connect', r);
      c.socket.once('error', rej);
    });
    idle.push(c);
  }

  const intervalMs = 1000 / job.rate;
  let next = 0;
  const start = performance.now() + 2;
  const tick = (): void => {
    const now = performance.now();
    while (next < total && start + next * intervalMs <= now) {
      const i = next++;
      intended[i] = start + i * intervalMs;
      const c = idle.pop();
      if (c !== undefined) write(c, i);
      else if (all.size < job.maxConnections) {
        const fresh = open();
        fresh.socket.once('connect', () => write(fresh, i));
      } else queue.push(i);
    }
    if (next < total) setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
  };
  setTimeout(tick, 2);
  await finished;
  const elapsedS = (performance.now() - start) / 1000;
  const connections = all.size;
  for (const c of all) c.socket.destroy();
  const lateness = new Float64Array(total);
  for (let i = 0; i < total; i++) lateness[i] = written[i] - intended[i];
  return {
    sent: total,
    errors,
    intended: distribution(fromIntended),
    written: distribution(fromWritten),
    lateness: distribution(lateness),
    connections,
    rate: total / elapsedS,
  };
}

// Forked by the bench: one job per message, one result per job.
if (process.send !== undefined) {
  process.on('message', (job: LoadJob) => {
    run(job).then(
      (r) => process.send!({ ok: true, result: r }),
      (err: unknown) => process.send!({ ok: false, error: String(err) }),
    );
  });
  // The bench went away: stop rather than keep sending.
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}

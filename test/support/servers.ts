/**
 * Starting the peer programs that interop tests run on loopback (Prometheus 2.42 and the
 * like): a free port, the child's stderr kept for error messages, readiness by
 * `/-/ready`, and a stop that waits for the exit.
 * @module
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { TestContext } from 'node:test';

/** A started server: its address, its process, and how to stop it. */
export interface RunningServer {
  readonly name: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  readonly child: ChildProcess;
  /** Settles when the process has exited. */
  readonly exited: Promise<void>;
  /** Everything it wrote to stderr so far (the last 512 KiB at least). */
  stderr(): string;
  /** Sends `signal` (SIGTERM by default), waits up to 5 s for the exit, then SIGKILLs. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

/** Wraps a spawned child (stderr piped) that listens on `port` as a {@link RunningServer}. */
export function watchServer(name: string, child: ChildProcess, port: number): RunningServer {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 1 << 20) err = err.slice(-(1 << 19));
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    port,
    base: `http://127.0.0.1:${port}`,
    child,
    exited,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (!running()) return;
      child.kill(signal);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (running()) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Resolves once `/-/ready` answers 200; throws (with the server's stderr) on exit or timeout. */
export async function waitReady(s: RunningServer, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (s.child.exitCode !== null)
      throw new Error(`${s.name} exited with ${s.child.exitCode}: ${s.stderr()}`);
    try {
      const r = await fetch(`${s.base}/-/ready`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${s.name} not ready after ${timeoutMs} ms: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** How to start a Prometheus server. */
export interface PrometheusOptions {
  /** Path of the configuration file. */
  readonly configFile: string;
  /** `--storage.tsdb.path`. */
  readonly dataDir: string;
  /** The listen port; a free one when absent. */
  readonly port?: number;
  /** `--log.level`; `warn` keeps stderr to what matters. */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** More flags. */
  readonly args?: readonly string[];
  /** Wait for `/-/ready` before returning (default true). */
  readonly waitReady?: boolean;
}

/**
 * Starts the Prometheus binary `binary` (from `requirePeer`) on 127.0.0.1. With a test
 * context, it is stopped when the test ends.
 */
export async function startPrometheus(
  t: TestContext | null,
  binary: string,
  opts: PrometheusOptions,
): Promise<RunningServer> {
  const port = opts.port ?? (await freePort());
  const child = spawn(
    binary,
    [
      `--config.file=${opts.configFile}`,
      `--storage.tsdb.path=${opts.dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--log.level=${opts.logLevel ?? 'warn'}`,
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const server = watchServer('prometheus', child, port);
  t?.after(() => server.stop());
  if (opts.waitReady !== false) {
    try {
      await waitReady(server, 40_000);
    } catch (e) {
      await server.stop('SIGKILL');
      throw e;
    }
  }
  return server;
}

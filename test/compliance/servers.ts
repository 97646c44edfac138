/**
 * Starting the two servers of the compliance test on loopback ports: a real Prometheus
 * (the reference) and our collector (from source, through tsx), each on its own copy of
 * the same TSDB directory and with an empty scrape configuration.
 * @module
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** A started server: its base URL, and how to stop it. */
export interface RunningServer {
  readonly name: string;
  readonly base: string;
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  stop(): void;
}

/** The repository root (this file is at test/compliance/). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

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

/** Writes a configuration with no scrape jobs and returns its path. */
export function writeEmptyConfig(dir: string): string {
  const file = join(dir, 'empty.yml');
  writeFileSync(file, 'global:\n  scrape_interval: 1h\nscrape_configs: []\n');
  return file;
}

function started(name: string, child: ChildProcess, port: number): RunningServer {
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 1 << 20) err = err.slice(-(1 << 19));
  });
  return {
    name,
    base: `http://127.0.0.1:${port}`,
    child,
    stderr: () => err,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Starts Prometheus on `tsdbDir` with a 100-year retention (the data is in the past). */
export async function startPrometheus(
  binary: string,
  tsdbDir: string,
  configFile: string,
  extraArgs: string[] = [],
): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${tsdbDir}`,
      '--storage.tsdb.retention.time=100y',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return started('prometheus', child, port);
}

/** Starts `meshmetrics collector` from source on `tsdbDir`. */
export async function startOurCollector(
  tsdbDir: string,
  configFile: string,
): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "import('./src/cmd/main.ts').then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })",
      'collector',
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${tsdbDir}`,
      '--storage.tsdb.retention.time=100y',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return started('meshmetrics', child, port);
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

/**
 * Copies the reference's TSDB folder `refDir` for our collector, starts both servers on it
 * with an empty configuration (stopped when the test ends) and waits until both are ready.
 */
export async function startBothOnBlocks(
  t: TestContext,
  prometheus: string,
  refDir: string,
  dir: string,
): Promise<{ prom: RunningServer; ours: RunningServer }> {
  const ourDir = join(dir, 'meshmetrics-data');
  cpSync(refDir, ourDir, { recursive: true });
  const config = writeEmptyConfig(dir);
  const prom = await startPrometheus(prometheus, refDir, config);
  t.after(() => prom.stop());
  const ours = await startOurCollector(ourDir, config);
  t.after(() => ours.stop());
  await Promise.all([waitReady(prom, 30_000), waitReady(ours, 60_000)]);
  return { prom, ours };
}

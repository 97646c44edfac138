/**
 * Starting the two servers of the compliance test on loopback ports: a real Prometheus
 * (the reference) and our collector (from source, through tsx), each on its own copy of
 * the same TSDB directory and with an empty scrape configuration.
 * @module
 */

import { spawn } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { join, resolve } from 'node:path';
import {
  freePort,
  startPrometheus,
  waitReady,
  watchServer,
  type RunningServer,
} from '../support/servers.js';

export type { RunningServer } from '../support/servers.js';

/** The repository root (this file is at test/compliance/). */
export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** Writes a configuration with no scrape jobs and returns its path. */
export function writeEmptyConfig(dir: string): string {
  const file = join(dir, 'empty.yml');
  writeFileSync(file, 'global:\n  scrape_interval: 1h\nscrape_configs: []\n');
  return file;
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
  return watchServer('meshmetrics', child, port);
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
  // The data is in the past: a 100-year retention keeps it.
  const [prom, ours] = await Promise.all([
    startPrometheus(t, prometheus, {
      configFile: config,
      dataDir: refDir,
      args: ['--storage.tsdb.retention.time=100y'],
    }),
    startOurCollector(ourDir, config).then(async (s) => {
      t.after(() => s.stop('SIGKILL'));
      await waitReady(s, 60_000);
      return s;
    }),
  ]);
  return { prom, ours };
}

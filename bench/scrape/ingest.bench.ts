/**
 * Scrape ingestion cost: the collector (`meshmetrics collector`, in a child process)
 * scraping local targets that serve Linkerd-shaped bodies of ~1,000 series
 * (../shared/bench/targets.mjs, spawned with node), and, when /usr/bin/prometheus exists,
 * Prometheus against the same targets in the same run, one system at a time.
 *
 * Figures per system and scenario: samples per CPU-second of the scraper process
 * (utime+stime from /proc/<pid>/stat over the window; samples = series lines the target
 * server served in the window, a scraper-agnostic count), RSS per active series at the end
 * of the window, and how much of the expected load was served (a system that falls behind
 * shows < 100 %). The machine may be shared: treat the figures as preliminary, and quote
 * ratios from one run.
 *
 * Run: node --expose-gc --import tsx bench/scrape/ingest.bench.ts [flags]
 *   --series N            series per target (default 1000)
 *   --steady-targets N    targets at 10 s (default 100; 0 skips the scenario)
 *   --steady-measure S    its window in seconds (default 60)
 *   --fast-targets A,B    target counts at 1 s (default 100; e.g. 100,200,400 for the ramp)
 *   --fast-measure S      their window (default 20)
 *   --no-prometheus       only the collector
 * The default run takes about four minutes with Prometheus, two without.
 */

import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../test/support/servers.js';

// The shared harness sits beside the repository, as in every checkout of this project.
const TARGETS_SCRIPT = fileURLToPath(new URL('../../../shared/bench/targets.mjs', import.meta.url));
const PROMETHEUS = '/usr/bin/prometheus';
const REPO = resolve(import.meta.dirname, '../..');
const CLK_TCK = 100;

interface Flags {
  series: number;
  steadyTargets: number;
  steadyMeasureS: number;
  fastTargets: number[];
  fastMeasureS: number;
  prometheus: boolean;
}

function parseFlags(argv: string[]): Flags {
  const f: Flags = {
    series: 1000,
    steadyTargets: 100,
    steadyMeasureS: 60,
    fastTargets: [100],
    fastMeasureS: 20,
    prometheus: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => argv[++i];
    if (a === '--series') f.series = Number(next());
    else if (a === '--steady-targets') f.steadyTargets = Number(next());
    else if (a === '--steady-measure') f.steadyMeasureS = Number(next());
    else if (a === '--fast-targets') f.fastTargets = next().split(',').filter(Boolean).map(Number);
    else if (a === '--fast-measure') f.fastMeasureS = Number(next());
    else if (a === '--no-prometheus') f.prometheus = false;
    else throw new Error(`unknown flag ${a}`);
  }
  return f;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU ticks (utime + stime) of a process. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** Resident set size in bytes. */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

interface TargetStats {
  samples: number;
  scrapes: number;
  seriesTotal: number;
  listening: number;
  targets: number;
}

async function stats(controlPort: number): Promise<TargetStats> {
  const r = await fetch(`http://127.0.0.1:${controlPort}/stats`);
  return (await r.json()) as TargetStats;
}

function spawnLogged(
  cmd: string,
  args: string[],
  name: string,
): { child: ChildProcess; log: () => string } {
  const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
    if (log.length > 100_000) log = log.slice(-50_000);
  });
  child.on('error', (e) => process.stderr.write(`${name}: ${e.message}\n`));
  return { child, log: () => log };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await done;
  clearTimeout(t);
}

interface Scenario {
  targets: number;
  intervalS: number;
  warmupS: number;
  measureS: number;
}

interface Result {
  system: string;
  scenario: Scenario;
  samplesPerS: number;
  cpuCores: number;
  samplesPerCpuS: number;
  rssBytes: number;
  rssPerSeries: number;
  servedPct: number;
  series: number;
}

function scrapeConfig(s: Scenario, basePort: number): string {
  const targets = Array.from({ length: s.targets }, (_, i) => `'127.0.0.1:${basePort + i}'`).join(
    ', ',
  );
  const timeout = Math.min(s.intervalS, 10);
  return `global:\n  scrape_interval: ${s.intervalS}s\n  scrape_timeout: ${timeout}s\nscrape_configs:\n  - job_name: linkerd-proxy\n    static_configs:\n      - targets: [${targets}]\n`;
}

async function runSystem(
  system: 'meshmetrics' | 'prometheus',
  s: Scenario,
  basePort: number,
  controlPort: number,
): Promise<Result> {
  const work = mkdtempSync(join(tmpdir(), `bench-scrape-${system}-`));
  try {
    const cfg = join(work, 'config.yml');
    writeFileSync(cfg, scrapeConfig(s, basePort));
    const data = join(work, 'data');
    const webPort = await freePort();
    const proc =
      system === 'meshmetrics'
        ? spawnLogged(
            process.execPath,
            [
              // The compiled package, as users run it (`npm run bench` builds it first).
              'bin/meshmetrics.js',
              'collector',
              `--config.file=${cfg}`,
              `--storage.tsdb.path=${data}`,
              `--web.listen-address=127.0.0.1:${webPort}`,
              '--log.level=warn',
            ],
            system,
          )
        : spawnLogged(
            PROMETHEUS,
            [
              `--config.file=${cfg}`,
              `--storage.tsdb.path=${data}`,
              `--web.listen-address=127.0.0.1:${webPort}`,
              '--log.level=warn',
            ],
            system,
          );
    const pid = proc.child.pid!;
    try {
      await sleep(s.warmupS * 1000);
      if (proc.child.exitCode !== null) throw new Error(`${system} exited: ${proc.log()}`);
      const st0 = await stats(controlPort);
      const cpu0 = cpuTicks(pid);
      const t0 = performance.now();
      await sleep(s.measureS * 1000);
      const st1 = await stats(controlPort);
      const cpu1 = cpuTicks(pid);
      const elapsedS = (performance.now() - t0) / 1000;
      const rss = rssBytes(pid);
      const samples = st1.samples - st0.samples;
      const cpuS = (cpu1 - cpu0) / CLK_TCK;
      const expected = (st1.seriesTotal * elapsedS) / s.intervalS;
      return {
        system,
        scenario: s,
        samplesPerS: samples / elapsedS,
        cpuCores: cpuS / elapsedS,
        samplesPerCpuS: cpuS > 0 ? samples / cpuS : NaN,
        rssBytes: rss,
        rssPerSeries: rss / st1.seriesTotal,
        servedPct: (100 * samples) / expected,
        series: st1.seriesTotal,
      };
    } finally {
      await stop(proc.child);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function runScenario(s: Scenario, f: Flags): Promise<Result[]> {
  const basePort = 23000 + Math.floor(Math.random() * 200) * 10;
  const controlPort = await freePort();
  const tg = spawnLogged(
    process.execPath,
    [
      TARGETS_SCRIPT,
      '--targets',
      String(s.targets),
      '--series',
      String(f.series),
      '--base-port',
      String(basePort),
      '--control-port',
      String(controlPort),
    ],
    'targets',
  );
  try {
    for (let i = 0; ; i++) {
      try {
        const st = await stats(controlPort);
        if (st.listening === st.targets) break;
      } catch {
        // not up yet
      }
      if (i > 300) throw new Error(`target server did not start: ${tg.log()}`);
      await sleep(100);
    }
    const out: Result[] = [];
    out.push(await runSystem('meshmetrics', s, basePort, controlPort));
    print(out[out.length - 1]);
    if (f.prometheus && existsSync(PROMETHEUS)) {
      out.push(await runSystem('prometheus', s, basePort, controlPort));
      print(out[out.length - 1]);
      const ratio = out[0].samplesPerCpuS / out[1].samplesPerCpuS;
      const mem = out[0].rssPerSeries / out[1].rssPerSeries;
      console.log(
        `  ratio meshmetrics/prometheus: samples per CPU-s ${ratio.toFixed(2)}x, RSS per series ${mem.toFixed(2)}x`,
      );
    }
    return out;
  } finally {
    await stop(tg.child);
  }
}

function print(r: Result): void {
  const s = r.scenario;
  console.log(
    `${r.system.padEnd(12)} ${String(s.targets).padStart(4)} targets @${s.intervalS}s ` +
      `(${r.series} series, ${s.measureS}s window): ${Math.round(r.samplesPerS).toLocaleString('en')} samples/s, ` +
      `${r.cpuCores.toFixed(3)} cores, ${Math.round(r.samplesPerCpuS).toLocaleString('en')} samples per CPU-s, ` +
      `RSS ${(r.rssBytes / 2 ** 20).toFixed(0)} MiB = ${Math.round(r.rssPerSeries).toLocaleString('en')} B/series, ` +
      `served ${r.servedPct.toFixed(1)}% of expected`,
  );
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  console.log(
    `scrape ingest bench (preliminary: shared 2-core machine), ${f.series} series per target`,
  );
  if (f.steadyTargets > 0) {
    // Warm-up: discovery publishes after 5 s, then every target is scraped once within 10 s.
    await runScenario(
      { targets: f.steadyTargets, intervalS: 10, warmupS: 20, measureS: f.steadyMeasureS },
      f,
    );
  }
  for (const n of f.fastTargets)
    await runScenario({ targets: n, intervalS: 1, warmupS: 12, measureS: f.fastMeasureS }, f);
}

await main();

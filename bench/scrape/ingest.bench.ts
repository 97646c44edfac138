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
 *   --overload [A,B,...]  instead of the above, the overload curve: 1 s targets stepped
 *                         through A, B, ... (default 100,200,400,600,800), each system alone
 *   --overload-measure S  the window of each step (default 20)
 * The default run takes about four minutes with Prometheus, two without.
 *
 * The overload curve counts *stored* samples: the rate of each system's own
 * `prometheus_tsdb_head_samples_appended_total` (report series included, 5 per scrape),
 * so a scrape that timed out and threw its work away counts for nothing. Its targets are
 * prerendered-targets.ts: one process answering from bodies rendered and gzipped up front,
 * so the load generator takes as little of the machine as it can.
 */

import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
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
  overload: number[];
  overloadMeasureS: number;
}

function parseFlags(argv: string[]): Flags {
  const f: Flags = {
    series: 1000,
    steadyTargets: 100,
    steadyMeasureS: 60,
    fastTargets: [100],
    fastMeasureS: 20,
    prometheus: true,
    overload: [],
    overloadMeasureS: 20,
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
    else if (a === '--overload') {
      const list =
        argv[i + 1] !== undefined && /^\d/.test(argv[i + 1]) ? next() : '100,200,400,600,800';
      f.overload = list.split(',').filter(Boolean).map(Number);
    } else if (a === '--overload-measure') f.overloadMeasureS = Number(next());
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

/** A scraper process running against a configuration, and its HTTP port. */
interface RunningSystem {
  pid: number;
  webPort: number;
  exited(): boolean;
  log(): string;
  /** Stops the process and removes its working directory. */
  stop(): Promise<void>;
}

async function startSystem(
  system: 'meshmetrics' | 'prometheus',
  config: string,
): Promise<RunningSystem> {
  const work = mkdtempSync(join(tmpdir(), `bench-scrape-${system}-`));
  const cfg = join(work, 'config.yml');
  writeFileSync(cfg, config);
  const data = join(work, 'data');
  const webPort = await freePort();
  const common = [
    `--config.file=${cfg}`,
    `--storage.tsdb.path=${data}`,
    `--web.listen-address=127.0.0.1:${webPort}`,
    '--log.level=warn',
  ];
  const proc =
    system === 'meshmetrics'
      ? // The compiled package, as users run it (`npm run bench` builds it first).
        spawnLogged(process.execPath, ['bin/meshmetrics.js', 'collector', ...common], system)
      : spawnLogged(PROMETHEUS, common, system);
  return {
    pid: proc.child.pid!,
    webPort,
    exited: () => proc.child.exitCode !== null,
    log: proc.log,
    stop: async () => {
      try {
        await stop(proc.child);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  };
}

async function runSystem(
  system: 'meshmetrics' | 'prometheus',
  s: Scenario,
  basePort: number,
  controlPort: number,
): Promise<Result> {
  const sys = await startSystem(system, scrapeConfig(s, basePort));
  const pid = sys.pid;
  try {
    await sleep(s.warmupS * 1000);
    if (sys.exited()) throw new Error(`${system} exited: ${sys.log()}`);
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
    await sys.stop();
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

/** The sum of every `prometheus_tsdb_head_samples_appended_total` row a system exposes. */
async function samplesAppended(webPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${webPort}/metrics`)).text();
  let sum = 0;
  let found = false;
  for (const m of text.matchAll(
    /^prometheus_tsdb_head_samples_appended_total(?:\{[^}]*\})? (\S+)/gm,
  )) {
    sum += Number(m[1]);
    found = true;
  }
  if (!found) throw new Error('no prometheus_tsdb_head_samples_appended_total in /metrics');
  return sum;
}

/** Starts prerendered-targets.ts with `targets` ports and waits until every one listens. */
async function startPrerenderedTargets(
  targets: number,
  series: number,
): Promise<{ basePort: number; controlPort: number; stop: () => Promise<void> }> {
  const basePort = 23000 + Math.floor(Math.random() * 100) * 10;
  const controlPort = await freePort();
  const tg = spawnLogged(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/scrape/prerendered-targets.ts',
      '--targets',
      String(targets),
      '--series',
      String(series),
      '--base-port',
      String(basePort),
      '--control-port',
      String(controlPort),
    ],
    'targets',
  );
  for (let i = 0; ; i++) {
    try {
      const st = await stats(controlPort);
      if (st.listening === st.targets) break;
    } catch {
      // not up yet
    }
    if (i > 600) {
      await stop(tg.child);
      throw new Error(`target server did not start: ${tg.log()}`);
    }
    await sleep(100);
  }
  return { basePort, controlPort, stop: () => stop(tg.child) };
}

interface OverloadPoint {
  system: string;
  targets: number;
  expectedPerS: number;
  storedPerS: number;
  cpuCores: number;
  servedScrapesPerS: number;
  rssMiB: number;
  load1: number;
}

/**
 * The overload curve: for each system alone, 1 s targets stepped through `f.overload`,
 * stored samples per second against what the targets offer. One target server (the most
 * targets of the curve) serves every step; a step lists only its first N ports.
 */
async function runOverload(f: Flags): Promise<void> {
  const max = Math.max(...f.overload);
  const tg = await startPrerenderedTargets(max, f.series);
  const systems: ('meshmetrics' | 'prometheus')[] = ['meshmetrics'];
  if (f.prometheus && existsSync(PROMETHEUS)) systems.push('prometheus');
  const points: OverloadPoint[] = [];
  try {
    for (const system of systems) {
      for (const n of f.overload) {
        const s: Scenario = { targets: n, intervalS: 1, warmupS: 12, measureS: f.overloadMeasureS };
        const sys = await startSystem(system, scrapeConfig(s, tg.basePort));
        try {
          await sleep(s.warmupS * 1000);
          if (sys.exited()) throw new Error(`${system} exited: ${sys.log()}`);
          const st0 = await stats(tg.controlPort);
          const a0 = await samplesAppended(sys.webPort);
          const cpu0 = cpuTicks(sys.pid);
          const t0 = performance.now();
          await sleep(s.measureS * 1000);
          const a1 = await samplesAppended(sys.webPort);
          const cpu1 = cpuTicks(sys.pid);
          const st1 = await stats(tg.controlPort);
          const elapsedS = (performance.now() - t0) / 1000;
          const p: OverloadPoint = {
            system,
            targets: n,
            // Every series of the first n targets, plus 5 report series each, every second.
            expectedPerS: (st1.seriesTotal / max) * n + 5 * n,
            storedPerS: (a1 - a0) / elapsedS,
            cpuCores: (cpu1 - cpu0) / CLK_TCK / elapsedS,
            servedScrapesPerS: (st1.scrapes - st0.scrapes) / elapsedS,
            rssMiB: rssBytes(sys.pid) / 2 ** 20,
            load1: loadavg()[0],
          };
          points.push(p);
          console.log(
            `${system.padEnd(12)} ${String(n).padStart(4)} targets @1s: stored ${Math.round(p.storedPerS).toLocaleString('en')} samples/s ` +
              `(${((100 * p.storedPerS) / p.expectedPerS).toFixed(0)}% of ${Math.round(p.expectedPerS).toLocaleString('en')}), ` +
              `${p.cpuCores.toFixed(2)} cores, ${p.servedScrapesPerS.toFixed(0)} scrapes/s served, RSS ${p.rssMiB.toFixed(0)} MiB, load ${p.load1.toFixed(2)}`,
          );
        } finally {
          await sys.stop();
        }
      }
    }
  } finally {
    await tg.stop();
  }
  console.log(
    '\n| targets @1s | offered samples/s | ' +
      systems.map((x) => `${x} stored/s (cores)`).join(' | ') +
      ' | load (1 min) |',
  );
  console.log('|---|---|' + systems.map(() => '---|').join('') + '---|');
  for (const n of f.overload) {
    const row = points.filter((p) => p.targets === n);
    if (row.length === 0) continue;
    const cells = row.map(
      (p) => `${Math.round(p.storedPerS).toLocaleString('en')} (${p.cpuCores.toFixed(2)})`,
    );
    console.log(
      `| ${n} | ${Math.round(row[0].expectedPerS).toLocaleString('en')} | ${cells.join(' | ')} | ${row.map((p) => p.load1.toFixed(2)).join(' / ')} |`,
    );
  }
}

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2));
  if (f.overload.length > 0) {
    console.log(
      `scrape overload curve (preliminary: shared 2-core machine, load ${loadavg()[0].toFixed(2)}), ${f.series} series per target`,
    );
    await runOverload(f);
    return;
  }
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

/**
 * What the proxy adds: latency (p50, p99) of HTTP/1.1 at a fixed 1,000 requests/s through
 * the inbound proxy, against the app called directly and against nginx (Debian
 * `nginx-light`) as a keep-alive reverse proxy in front of the same app, in the same run;
 * and CPU time per request of each proxy process (read from /proc, which holds on a shared
 * machine where latency does not).
 *
 * Load: our open-loop generator, in C (loadgen.c, compiled here with `cc -O2`; without a
 * compiler, `apt-get install -y gcc`, or with BENCH_GENERATOR=node, the slower loadgen.ts),
 * in its own process. Requests are due at fixed times whether or not earlier ones were
 * answered, and latency is taken from the intended send time, so a stall of the proxy shows
 * in every request it delays (wrk and `h2load --rps` send the next request of a connection
 * only after the previous answer, which hides such stalls). The generator's own lateness is
 * printed beside the figures: the Node one's p99 (1.4-3.2 ms) was larger than the 1 ms to
 * show, the C one's is tens of microseconds on a quiet CPU.
 *
 * Rounds: after 3 s of warm-up per system, BENCH_ROUNDS rounds; in each, every system gets
 * a warm-up second, then BENCH_SECONDS at BENCH_RATE, in a rotating order so none always
 * runs first. The table holds the median over rounds of each system's p50/p99 and of its
 * per-round difference to the direct path ("added"), with the range over rounds.
 *
 * Scheduling: as root, the generator, the app and the proxies run at nice -20 (BENCH_NICE=0
 * turns it off; BENCH_RT=1 uses SCHED_FIFO instead, the only setting that gave steady
 * latency on a machine loaded by other work), so other work does not queue in front of
 * them. BENCH_PIN=1 (2+ CPUs, `taskset`) puts the generator on CPU 0 and the app and
 * proxies on CPU 1; it steadies an idle machine and hurts a busy one. CPU time per request
 * is higher under SCHED_FIFO (for nginx too): compare figures of the same setting only.
 * BENCH_RT=1 with BENCH_PIN=1 can stall the whole CPU: a proxy's main thread was seen at
 * 100 % of CPU 1 (half of it in the kernel) with its V8 worker threads runnable and
 * starved at the same priority, every other process on that CPU (the app, nginx) starved
 * with it for minutes, until its clients went away; rounds then fail whole. Not for a
 * machine shared with other work.
 *
 * Optional, when present:
 * - nginx: `apt-get install -y nginx-light` (the table says when it is missing);
 * - wrk (`apt-get install -y wrk`): closed-loop maximum throughput, 32 connections;
 * - BENCH_BASELINE=<folder with dist/cmd/main.js>: an older build as another system, for
 *   before/after figures in the same run;
 * - BENCH_TWO_HOPS=1: outbound then inbound proxy as another system.
 * BENCH_BUILD=<folder> runs the proxy from <folder>/dist instead of ./dist.
 *
 * Figures are preliminary on a shared machine: the load average is printed.
 *
 * Run: npm run build && node --expose-gc --import tsx bench/proxy/overhead.bench.ts
 */

import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { LabelSets, ProxyMetrics } from '../../src/proxy/index.js';
import { inboundEndpointPairs } from '../../src/proxy/labels.js';
import type { LoadJob, LoadResult } from './loadgen.js';
import { freePort } from '../../test/support/servers.js';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const FIRST_WARMUP_SECONDS = 3;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 2);
const PIN = process.env.BENCH_PIN === '1' && os.cpus().length >= 2 && hasCommand('taskset');
const NICE = process.env.BENCH_NICE !== '0' && process.getuid?.() === 0;
const RT = process.env.BENCH_RT === '1' && process.getuid?.() === 0 && hasCommand('chrt');

// The compiled package, as users run it (`npm run bench` builds it first); a TypeScript
// loader in the children would add its own thread's CPU to every figure.
const MAIN = pathToFileURL(resolve(process.env.BENCH_BUILD ?? '.', 'dist/cmd/main.js')).href;
const BASELINE = process.env.BENCH_BASELINE
  ? pathToFileURL(resolve(process.env.BENCH_BASELINE, 'dist/cmd/main.js')).href
  : null;
const children: ChildProcess[] = [];
/** Child pids by role, for CPU time per request (robust to a shared machine). */
const pids: Record<string, number> = {};

function hasCommand(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error === undefined;
}

/**
 * Applies the scheduling options to every thread of `pid`: pinning to `cpu`
 * (BENCH_PIN=1), nice -20 (as root, unless BENCH_NICE=0) or SCHED_FIFO 20 (BENCH_RT=1).
 * On a machine shared with other work, a raised priority lets the processes under test run
 * as soon as they are ready instead of queueing behind the rest; they use a fraction of a
 * CPU at the fixed rate, so the others are not starved.
 */
function pin(pid: number, cpu: number): void {
  if (PIN) spawnSync('taskset', ['-a', '-cp', String(cpu), String(pid)], { stdio: 'ignore' });
  if (RT) spawnSync('chrt', ['-a', '-f', '-p', '20', String(pid)], { stdio: 'ignore' });
  else if (NICE)
    for (const tid of readdirSync(`/proc/${pid}/task`))
      spawnSync('renice', ['-n', '-20', '-p', tid], { stdio: 'ignore' });
}

/** CPU seconds (user + system) used so far by process `pid`, from /proc (Linux only). */
function cpuSeconds(pid: number): number {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ ticks
  } catch {
    return NaN;
  }
}

/** Starts a child running `code` (an ES module body) and waits for "ready" on stdout. */
async function child(role: string, code: string, args: string[] = []): Promise<void> {
  const c = spawn(process.execPath, ['--input-type=module', '-e', code, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(c);
  pids[role] = c.pid ?? 0;
  await new Promise<void>((res, rej) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (/ready|admin 127/.test(out)) res();
    };
    c.stdout!.on('data', onData);
    c.stderr!.on('data', onData);
    c.once('exit', (code) => rej(new Error(`child exited ${code}: ${out}`)));
  });
  pin(pids[role], 1);
}

const APP = `
import * as http from 'node:http';
const body = Buffer.from('hello from the app\\n');
http.createServer((req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }); res.end(body); })
  .listen(Number(process.argv[1]), '127.0.0.1', () => console.log('ready'));
`;

const proxyCode = (main: string): string =>
  `import { main } from ${JSON.stringify(main)}; process.exitCode = await main(process.argv.slice(1));`;

/** One way to reach the app. */
interface System {
  name: string;
  port: number;
  /** Roles (keys of `pids`) of the processes doing this path's proxying. */
  roles: string[];
}

/** Something that runs load jobs. */
interface LoadGenerator {
  readonly name: string;
  run(job: LoadJob): Promise<LoadResult>;
}

/**
 * loadgen.c, compiled into a temporary folder; a process per job, scheduled by its own flags
 * (`--cpu`, `--nice`, `--fifo`) from the first request on. Null when there is no compiler.
 */
function compileCGenerator(): CGenerator | null {
  if (process.env.BENCH_GENERATOR === 'node') return null;
  const bin = resolve(mkdtempSync(resolve(tmpdir(), 'proxy-bench-loadgen-')), 'loadgen');
  const r = spawnSync('cc', ['-O2', '-o', bin, resolve('bench/proxy/loadgen.c')], {
    encoding: 'utf8',
  });
  if (r.error !== undefined || r.status !== 0) {
    console.log(
      `no C load generator (${r.error ? 'no cc: apt-get install -y gcc' : r.stderr.trim()}); using loadgen.ts`,
    );
    return null;
  }
  return new CGenerator(bin);
}

class CGenerator implements LoadGenerator {
  readonly name = 'loadgen.c';
  private readonly bin: string;
  constructor(bin: string) {
    this.bin = bin;
  }

  run(job: LoadJob): Promise<LoadResult> {
    const args = [
      ['--port', job.port],
      ['--host', job.host],
      ['--path', job.path],
      ['--rate', job.rate],
      ['--seconds', job.seconds],
      ['--connections', job.connections],
      ['--max-connections', job.maxConnections],
    ].flatMap(([k, v]) => [String(k), String(v)]);
    if (PIN) args.push('--cpu', '0');
    if (RT) args.push('--fifo', '20');
    else if (NICE) args.push('--nice', '-20');
    return new Promise((res, rej) => {
      const c = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(c);
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.once('error', rej);
      c.once('exit', (code) => {
        children.splice(children.indexOf(c), 1);
        if (code === 0) res(JSON.parse(out) as LoadResult);
        else rej(new Error(`loadgen exited ${code}: ${out}`));
      });
    });
  }
}

/** loadgen.ts: one forked process, a job per IPC message. */
class NodeGenerator implements LoadGenerator {
  readonly name = 'loadgen.ts';
  private readonly proc: ChildProcess;
  private constructor(proc: ChildProcess) {
    this.proc = proc;
  }

  static async start(): Promise<NodeGenerator> {
    const proc = fork(resolve('bench/proxy/loadgen.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(proc);
    await new Promise<void>((res, rej) => {
      proc.once('message', () => res());
      proc.once('exit', (code) => rej(new Error(`load generator exited ${code}`)));
    });
    pin(proc.pid ?? 0, 0);
    return new NodeGenerator(proc);
  }

  run(job: LoadJob): Promise<LoadResult> {
    return new Promise((res, rej) => {
      const onExit = (code: number | null, signal: string | null): void =>
        rej(new Error(`load generator exited (${code ?? signal})`));
      this.proc.once('exit', onExit);
      this.proc.once('message', (m: { ok: boolean; result?: LoadResult; error?: string }) => {
        this.proc.off('exit', onExit);
        if (m.ok) res(m.result!);
        else rej(new Error(m.error));
      });
      this.proc.send(job);
    });
  }
}

const HOST = 'app.bench:80';

function job(port: number, seconds: number): LoadJob {
  return { port, host: HOST, path: '/', rate: RATE, seconds, connections: 4, maxConnections: 256 };
}

interface Sample {
  load: LoadResult;
  /** CPU µs per request of each proxying process. */
  cpuUs: number[];
}

/** Warm-up, then one measured job with the CPU time of the system's processes around it. */
async function measure(gen: LoadGenerator, s: System): Promise<Sample> {
  await gen.run(job(s.port, WARMUP_SECONDS));
  const before = s.roles.map((r) => cpuSeconds(pids[r]));
  const load = await gen.run(job(s.port, SECONDS));
  const cpuUs = s.roles.map((r, i) => ((cpuSeconds(pids[r]) - before[i]) / load.sent) * 1e6);
  return { load, cpuUs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const ms = (x: number): string => x.toFixed(3);
const range = (xs: number[], f: (x: number) => string): string =>
  `${f(Math.min(...xs))}..${f(Math.max(...xs))}`;

/** Closed-loop maximum throughput with wrk, or null when wrk is not installed. */
function wrkMax(s: System): string | null {
  if (!hasCommand('wrk')) return null;
  const args = ['-t1', '-c32', `-d${MAX_SECONDS}s`, '-H', `Host: ${HOST}`];
  const cmd = PIN ? 'taskset' : 'wrk';
  const r = spawnSync(
    cmd,
    [...(PIN ? ['-c', '0', 'wrk'] : []), ...args, `http://127.0.0.1:${s.port}/`],
    { encoding: 'utf8' },
  );
  const rps = /Requests\/sec:\s*([\d.]+)/.exec(r.stdout)?.[1];
  return rps === undefined ? `wrk failed: ${r.stderr}` : `${Number(rps).toFixed(0)} req/s`;
}
function recordingCost(): void {
  const m = new ProxyMetrics({
    buildInfo: { date: '', git_sha: '', profile: 'bench', vendor: 'meshmetrics', version: '0' },
    processMetrics: false,
  });
  const sets = new LabelSets();
  const eps = Array.from({ length: 20 }, (_, i) =>
    sets.make(inboundEndpointPairs(`svc-${i}.ns.svc.cluster.local:8080`, `10.0.0.${i}:8080`)),
  );
  const N = 1_000_000;
  const codes = [200, 200, 200, 200, 503, 404];
  for (let i = 0; i < 10_000; i++) m.request(eps[i % 20]);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const ep = eps[i % 20];
    const code = codes[i % 6];
    m.request(ep);
    m.responseStart(ep, code, (i % 1000) / 7);
    m.responseEnd(ep, code, '', '');
  }
  const perReq = ((performance.now() - t0) * 1e6) / N;
  const cpu = process.cpuUsage(cpu0);
  const perReqCpu = ((cpu.user + cpu.system) * 1e3) / N;
  // A body of Linkerd's size: ~1,700 series.
  for (let i = 0; i < 60; i++) {
    const ep = sets.make(inboundEndpointPairs(`extra-${i}:80`, `10.1.0.${i}:80`));
    m.request(ep);
    m.responseStart(ep, 200, 1);
    m.responseEnd(ep, 200, '', '');
  }
  let body = m.render();
  const R = 200;
  const t1 = performance.now();
  for (let i = 0; i < R; i++) body = m.render();
  const renderMs = (performance.now() - t1) / R;
  const series = body
    .toString()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#')).length;
  console.log(
    `recording: ${perReq.toFixed(0)} ns wall, ${perReqCpu.toFixed(0)} ns CPU per request (request + latency + response), 20 endpoints x 3 statuses`,
  );
  console.log(
    `render: ${renderMs.toFixed(2)} ms for ${series} series (${(body.length / 1024).toFixed(0)} KiB)`,
  );
}

/** nginx as a keep-alive reverse proxy to the app, or null when it is not installed. */
async function startNginx(appPort: number, listenPort: number): Promise<boolean> {
  if (spawnSync('nginx', ['-v']).error) return false;
  const dir = mkdtempSync(resolve(tmpdir(), 'proxy-bench-nginx-'));
  for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(resolve(dir, sub));
  const conf = resolve(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream app { server 127.0.0.1:${appPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`,
  );
  const c = spawn('nginx', ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(c);
  pids.nginx = c.pid ?? 0;
  pin(pids.nginx, 1);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((res) => {
      const s = net.connect(listenPort, '127.0.0.1');
      s.once('connect', () => (s.destroy(), res(true)));
      s.once('error', () => res(false));
    });
    if (up) return true;
    if (c.exitCode !== null) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function main(): Promise<void> {
  recordingCost();
  const [appPort, inPort, outPort, adminA, inB, adminB, inBase, adminBase, nginxPort] =
    await Promise.all(Array.from({ length: 9 }, freePort));
  await child('app', APP, [String(appPort)]);
  const inboundArgs = (listen: number, admin: number): string[] => [
    'proxy',
    '--inbound.listen-address',
    `127.0.0.1:${listen}`,
    '--inbound.app-address',
    `127.0.0.1:${appPort}`,
    '--outbound.listen-address',
    '127.0.0.1:0',
    '--admin.listen-address',
    `127.0.0.1:${admin}`,
  ];
  const systems: System[] = [{ name: 'direct', port: appPort, roles: [] }];
  await child('proxy', proxyCode(MAIN), inboundArgs(inPort, adminA));
  systems.push({ name: 'meshmetrics', port: inPort, roles: ['proxy'] });
  if (BASELINE !== null) {
    await child('baseline', proxyCode(BASELINE), inboundArgs(inBase, adminBase));
    systems.push({ name: 'baseline', port: inBase, roles: ['baseline'] });
  }
  const nginx = await startNginx(appPort, nginxPort);
  if (nginx) systems.push({ name: 'nginx', port: nginxPort, roles: ['nginx'] });
  if (process.env.BENCH_TWO_HOPS === '1') {
    // A client-side proxy whose outbound resolves app.bench:80 to the server-side proxy.
    const file = resolve(mkdtempSync(resolve(tmpdir(), 'proxy-bench-')), 'dst.json');
    writeFileSync(
      file,
      JSON.stringify({
        [HOST]: { address: `127.0.0.1:${inPort}`, labels: { namespace: 'bench' } },
      }),
    );
    await child('client proxy', proxyCode(MAIN), [
      'proxy',
      '--inbound.listen-address',
      `127.0.0.1:${inB}`,
      '--inbound.app-address',
      '127.0.0.1:1',
      '--outbound.listen-address',
      `127.0.0.1:${outPort}`,
      '--admin.listen-address',
      `127.0.0.1:${adminB}`,
      '--destinations',
      file,
    ]);
    systems.push({ name: 'outbound+inbound', port: outPort, roles: ['client proxy', 'proxy'] });
  }
  const gen: LoadGenerator = compileCGenerator() ?? (await NodeGenerator.start());

  console.log(
    `\nHTTP/1.1 keep-alive, open loop at ${RATE} req/s: ${ROUNDS} rounds x ${SECONDS} s per system` +
      ` (after ${WARMUP_SECONDS} s of warm-up), order rotating;` +
      (PIN ? ' generator pinned to CPU 0, app and proxies to CPU 1' : ' not pinned') +
      (RT ? '; all at SCHED_FIFO 20' : NICE ? '; all at nice -20' : '; normal priority') +
      (nginx ? '' : '\n(nginx not installed: apt-get install -y nginx-light)'),
  );
  // JIT and connection pools warm before the first round, not inside it.
  for (const s of systems) await gen.run(job(s.port, FIRST_WARMUP_SECONDS));
  const load0 = os.loadavg()[0];
  const samples = new Map<string, Sample[]>(systems.map((s) => [s.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = systems.map((_, i) => systems[(i + r) % systems.length]);
    const line: string[] = [];
    for (const s of order) {
      const x = await measure(gen, s);
      samples.get(s.name)!.push(x);
      const cpu = x.cpuUs.length ? ` ${x.cpuUs.map((u) => u.toFixed(0)).join('+')} µs` : '';
      line.push(`${s.name} ${ms(x.load.intended.p50)}/${ms(x.load.intended.p99)}${cpu}`);
      if (x.load.errors > 0)
        line.push(
          `(${x.load.errors} errors${x.load.errorKinds ? ' ' + JSON.stringify(x.load.errorKinds) : ''})`,
        );
    }
    console.log(`  round ${r + 1} (p50/p99 ms, CPU/req): ${line.join(' | ')}`);
  }
  const load1 = os.loadavg()[0];

  // A round where some system failed requests (a stalled process on a busy machine: its
  // requests time out) says nothing about latency: it is left out, and said so.
  const failed = new Set<number>();
  for (const xs of samples.values())
    xs.forEach((x, r) => {
      if (x.load.errors > x.load.sent / 100) failed.add(r);
    });
  if (failed.size > 0) {
    console.log(
      `\nleft out: round ${[...failed].map((r) => r + 1).join(', ')} (over 1 % of requests failed)`,
    );
    if (failed.size === ROUNDS) throw new Error('every round had failed requests');
    for (const [name, xs] of samples)
      samples.set(
        name,
        xs.filter((_, r) => !failed.has(r)),
      );
  }

  // Per-round differences to the direct path of the same round.
  const direct = samples.get('direct')!;
  console.log(
    `\nmedians over rounds, latency from the intended send time; "added" is the median of the` +
      ` per-round differences to direct (range over rounds in brackets), "p99-p99(direct)" the` +
      ` difference of the medians:`,
  );
  console.log(
    'system             p50 ms   p99 ms   added p50               added p99               p99-p99(direct)  p99 from write   CPU µs/req      max (wrk)',
  );
  for (const s of systems) {
    const xs = samples.get(s.name)!;
    const p50 = xs.map((x) => x.load.intended.p50);
    const p99 = xs.map((x) => x.load.intended.p99);
    const add50 = xs.map((x, r) => x.load.intended.p50 - direct[r].load.intended.p50);
    const add99 = xs.map((x, r) => x.load.intended.p99 - direct[r].load.intended.p99);
    const cpu = xs.map((x) => x.cpuUs.reduce((a, b) => a + b, 0));
    const w = wrkMax(s) ?? 'no wrk (apt-get install -y wrk)';
    console.log(
      `${s.name.padEnd(18)} ${ms(median(p50)).padStart(6)} ${ms(median(p99)).padStart(8)}   ` +
        `${(ms(median(add50)) + ` [${range(add50, ms)}]`).padEnd(23)} ` +
        `${(ms(median(add99)) + ` [${range(add99, ms)}]`).padEnd(23)} ` +
        `${ms(median(p99) - median(direct.map((x) => x.load.intended.p99))).padStart(15)}  ` +
        `${ms(median(xs.map((x) => x.load.written.p99))).padStart(14)}   ` +
        `${(s.roles.length ? `${median(cpu).toFixed(0)} [${range(cpu, (u) => u.toFixed(0))}]` : '-').padEnd(15)} ${w}`,
    );
  }
  const late = [...samples.values()].flat().map((x) => x.load.lateness);
  console.log(
    `\ngenerator (${gen.name}) lateness (taken up - intended), median over all runs: p50 ${ms(median(late.map((l) => l.p50)))} ms, p99 ${ms(median(late.map((l) => l.p99)))} ms`,
  );
  console.log(
    `load average ${load0.toFixed(1)} -> ${load1.toFixed(1)} on ${os.cpus().length} CPUs while measuring: figures are preliminary`,
  );
}

const stopChildren = (): void => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
};
process.on('exit', stopChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    stopChildren();
    process.exit(1);
  });
main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(stopChildren);

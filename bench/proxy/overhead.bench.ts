/**
 * What the proxy costs: CPU time per request in the proxy process (the main figure: it
 * holds on a shared machine where latency does not), added latency (p50, p99) and
 * throughput of HTTP/1.1 through the inbound proxy, and through outbound then inbound proxy,
 * against the app called directly. The app and each proxy run in their own processes; the
 * load generator (ours, keep-alive agents) runs here, first open-loop at a fixed rate
 * (1,000 req/s; CPU per request is measured over this phase), then closed-loop at max with a
 * fixed number of requests in flight. Then the recording cost per request and the /metrics
 * render time, in-process.
 *
 * Side by side in the same run, when present:
 * - nginx (Debian `nginx-light`) as a keep-alive reverse proxy in front of the same app;
 * - a baseline build of meshmetrics (BENCH_BASELINE=<folder with bin/meshmetrics.js and
 *   dist/>, e.g. an older commit built elsewhere), for before/after figures;
 * - wrk, at max rate.
 * Figures are preliminary on a shared machine.
 *
 * Run: npm run build && node --expose-gc --import tsx bench/proxy/overhead.bench.ts
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as http from 'node:http';
import * as net from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { LabelSets, ProxyMetrics } from '../../src/proxy/index.js';
import { inboundEndpointPairs } from '../../src/proxy/labels.js';

const RATE = Number(process.env.BENCH_RATE ?? 1000);
const FIXED_SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 3);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

// The compiled package, as users run it (`npm run bench` builds it first); a TypeScript
// loader in the children would add its own thread's CPU to every figure.
const MAIN = pathToFileURL(resolve('dist/cmd/main.js')).href;
const BASELINE = process.env.BENCH_BASELINE
  ? pathToFileURL(resolve(process.env.BENCH_BASELINE, 'dist/cmd/main.js')).href
  : null;
const children: ChildProcess[] = [];
/** Child pids by role, for CPU time per request (robust to a shared machine). */
const pids: Record<string, number> = {};

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

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
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
}

const APP = `
import * as http from 'node:http';
const body = Buffer.from('hello from the app\\n');
http.createServer((req, res) => { req.resume(); res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }); res.end(body); })
  .listen(Number(process.argv[1]), '127.0.0.1', () => console.log('ready'));
`;

const proxyCode = (main: string): string =>
  `import { main } from ${JSON.stringify(main)}; process.exitCode = await main(process.argv.slice(1));`;
const PROXY = proxyCode(MAIN);

interface Target {
  name: string;
  port: number;
  path: string;
  host: string;
  /** Roles (keys of `pids`) of the processes doing this path's proxying. */
  roles: string[];
}

function once(agent: http.Agent, t: Target): Promise<number> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const req = http.request(
      { host: '127.0.0.1', port: t.port, path: t.path, agent, headers: { host: t.host } },
      (r) => {
        r.resume();
        r.on('end', () => res(performance.now() - t0));
      },
    );
    req.on('error', rej);
    req.end();
  });
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
}

/** CPU µs per request of each of `roles` between two snapshots. */
function cpuPerRequest(
  roles: string[],
  before: Record<string, number>,
  n: number,
): { role: string; us: number }[] {
  return roles.map((role) => ({ role, us: ((cpuSeconds(pids[role]) - before[role]) / n) * 1e6 }));
}

function cpuSnapshot(): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([role, pid]) => [role, cpuSeconds(pid)]));
}

/** Open loop: RATE req/s for FIXED_SECONDS, sent in 1 ms ticks, latencies recorded. */
async function fixedRate(
  t: Target,
): Promise<{ p50: number; p99: number; n: number; cpu: { role: string; us: number }[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  // Warm up connections and JIT.
  for (let i = 0; i < 500; i++) await once(agent, t);
  const total = Math.round(RATE * FIXED_SECONDS);
  const cpu0 = cpuSnapshot();
  const lat = new Float64Array(total);
  let sent = 0;
  let done = 0;
  const start = performance.now();
  await new Promise<void>((resolveAll, rej) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE));
      while (sent < due) {
        const i = sent++;
        once(agent, t).then((ms) => {
          lat[i] = ms;
          if (++done === total) resolveAll();
        }, rej);
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const cpu = cpuPerRequest(t.roles, cpu0, total);
  agent.destroy();
  lat.sort();
  return { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), n: total, cpu };
}

/** Closed loop: IN_FLIGHT requests always outstanding for MAX_SECONDS. */
async function maxRate(t: Target): Promise<{ rate: number; n: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const end = performance.now() + MAX_SECONDS * 1000;
  let n = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await once(agent, t);
      n++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  return { rate: n / secs, n };
}

function wrk(t: Target): string | null {
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (probe.error) return null;
  const r = spawnSync(
    'wrk',
    [
      '-t1',
      `-c${IN_FLIGHT}`,
      `-d${MAX_SECONDS}s`,
      '--latency',
      '-H',
      `Host: ${t.host}`,
      `http://127.0.0.1:${t.port}${t.path}`,
    ],
    { encoding: 'utf8' },
  );
  return r.stdout;
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

/**
 * Baseline and current inbound proxy, alternating (ABBA) for BENCH_ROUNDS rounds at the fixed
 * rate, so both see the same machine; prints each round and the medians.
 */
async function beforeAfter(targets: Target[]): Promise<void> {
  const pair = ['baseline inbound', 'inbound proxy'].map((n) => targets.find((t) => t.name === n)!);
  const cpu: number[][] = [[], []];
  const p99: number[][] = [[], []];
  console.log(`\nbefore -> after, ${ROUNDS} alternating rounds at ${RATE} req/s:`);
  for (let r = 0; r < ROUNDS; r++) {
    const line: string[] = [];
    // ABBA order, so neither side always runs second (after the other's burst).
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const f = await fixedRate(pair[i]);
      cpu[i].push(f.cpu[0].us);
      p99[i].push(f.p99);
      line.push(`${pair[i].name} ${f.cpu[0].us.toFixed(0)} µs/req, p99 ${f.p99.toFixed(2)} ms`);
    }
    console.log(`  round ${r + 1}: ${line.join(' | ')}`);
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(
    `  median CPU per request: ${median(cpu[0]).toFixed(0)} -> ${median(cpu[1]).toFixed(0)} µs (${((median(cpu[1]) / median(cpu[0]) - 1) * 100).toFixed(0)} %); median p99: ${median(p99[0]).toFixed(2)} -> ${median(p99[1]).toFixed(2)} ms`,
  );
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
  // Server-side proxy in front of the app.
  await child('server proxy', PROXY, inboundArgs(inPort, adminA));
  // Client-side proxy whose outbound resolves app.bench:80 to the server-side proxy.
  const dst = JSON.stringify({
    'app.bench:80': {
      address: `127.0.0.1:${inPort}`,
      labels: { namespace: 'bench', deployment: 'app' },
    },
  });
  const file = resolve(mkdtempSync(resolve(tmpdir(), 'proxy-bench-')), 'dst.json');
  writeFileSync(file, dst);
  await child('client proxy', PROXY, [
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
  if (BASELINE !== null)
    await child('baseline proxy', proxyCode(BASELINE), inboundArgs(inBase, adminBase));
  const nginx = await startNginx(appPort, nginxPort);

  const host = 'app.bench:80';
  const targets: Target[] = [
    { name: 'direct', port: appPort, path: '/', host, roles: [] },
    ...(BASELINE !== null
      ? [{ name: 'baseline inbound', port: inBase, path: '/', host, roles: ['baseline proxy'] }]
      : []),
    { name: 'inbound proxy', port: inPort, path: '/', host, roles: ['server proxy'] },
    ...(nginx ? [{ name: 'nginx', port: nginxPort, path: '/', host, roles: ['nginx'] }] : []),
    {
      name: 'outbound+inbound',
      port: outPort,
      path: '/',
      host,
      roles: ['client proxy', 'server proxy'],
    },
  ];
  console.log(
    `\nHTTP/1.1, keep-alive; fixed ${RATE} req/s for ${FIXED_SECONDS}s, then max with ${IN_FLIGHT} in flight for ${MAX_SECONDS}s` +
      (nginx ? '' : ' (nginx not installed)'),
  );
  console.log(
    'path                 p50 ms   p99 ms   added p50   added p99   max req/s   proxy CPU µs/req at fixed rate',
  );
  let base: { p50: number; p99: number } | null = null;
  const cpuLines: string[] = [];
  for (const t of targets) {
    const f = await fixedRate(t);
    const cpu0 = cpuSnapshot();
    const { rate: max, n } = await maxRate(t);
    const atMax = cpuPerRequest(t.roles, cpu0, n);
    if (atMax.length)
      cpuLines.push(
        `${t.name.padEnd(18)} CPU per request at max: ${atMax.map((c) => `${c.role} ${c.us.toFixed(0)} µs`).join(', ')}`,
      );
    base ??= f;
    console.log(
      `${t.name.padEnd(18)} ${f.p50.toFixed(3).padStart(8)} ${f.p99.toFixed(3).padStart(8)} ${(f.p50 - base.p50).toFixed(3).padStart(11)} ${(f.p99 - base.p99).toFixed(3).padStart(11)} ${max.toFixed(0).padStart(11)}   ${f.cpu.map((c) => `${c.role} ${c.us.toFixed(0)}`).join(', ')}`,
    );
    const w = wrk(t);
    if (w !== null) console.log(`wrk ${t.name}:\n${w}`);
  }
  console.log('\n' + cpuLines.join('\n'));
  if (BASELINE !== null) await beforeAfter(targets);
  const os = await import('node:os');
  console.log(
    `\n(load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs while measuring: figures are preliminary)`,
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill('SIGTERM');
  });

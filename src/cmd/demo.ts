/**
 * `meshmetrics demo` (what `npm start` runs): a complete local mesh on loopback.
 *
 * ```
 *  traffic ─▶ [proxy web] ─▶ web ─▶ [proxy web outbound] ─┬─▶ [proxy books] ─▶ books
 *                                                          └─▶ [proxy authors] ─▶ authors
 *  collector ──scrapes every proxy's admin /metrics (file_sd)──▶ TSDB ─▶ /api/v1, /federate
 * ```
 *
 * The apps and the traffic generator run in this process (src/demo); each proxy is a child
 * `meshmetrics proxy`; the collector runs in-process through {@link startCollector}. The
 * file_sd targets carry the labels linkerd-viz's relabeling gives a pod (namespace, pod,
 * deployment, pod_template_hash, control_plane_ns, app), so `stat`, `proxy-metrics` and the
 * linkerd queries work unchanged. SIGINT/SIGTERM stop everything: traffic, collector (stale
 * markers written, database closed), proxies, apps.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  flagsHelp,
  parseFlags,
  PromApiClient,
  runCommand,
  UsageError,
  type FlagSpec,
} from '../cli/index.js';
import { parseResources, statSummary } from '../cli/stat.js';
import { parseDuration } from '../config/index.js';
import { PromError } from '../model/errors.js';
import { startAuthors, startBooks, startWeb, type App } from '../demo/services.js';
import { startTraffic, type Traffic } from '../demo/traffic.js';
import { startCollector, type CollectorHandle } from './collector.js';

const FLAGS: FlagSpec[] = [
  {
    name: 'data-dir',
    kind: 'string',
    default: './data/demo',
    help: 'where the collector keeps its database',
  },
  {
    name: 'web.listen-address',
    kind: 'string',
    default: '127.0.0.1:9090',
    help: 'collector HTTP API address (port 0: any free port)',
  },
  {
    name: 'base-port',
    kind: 'string',
    default: '0',
    help: 'first of 12 consecutive ports for apps and proxies (0: free ports)',
  },
  {
    name: 'namespace',
    kind: 'string',
    default: 'demo',
    help: 'namespace label of the demo workloads',
  },
  {
    name: 'rps',
    kind: 'string',
    default: '10',
    help: 'requests per second the traffic generator sends to web',
  },
  {
    name: 'scrape-interval',
    kind: 'string',
    default: '5s',
    help: 'how often the collector scrapes the proxies',
  },
  {
    name: 'status-interval',
    kind: 'string',
    default: '10s',
    help: 'how often to print the success rate and RPS (0: never)',
  },
  {
    name: 'duration',
    kind: 'string',
    default: '0s',
    help: 'stop by itself after this long (0s: run until Ctrl-C)',
  },
];

const USAGE = `Start a local demo mesh.

usage: meshmetrics demo [flags]

Starts three apps (web -> books over HTTP/1.1, failing ~10% of requests; web -> authors
over gRPC/HTTP2, with a slow List method), a meshmetrics proxy beside each, a traffic
generator, and a collector scraping the proxies. Ctrl-C stops everything.

Flags:
${flagsHelp(FLAGS)}
`;

/** A service of the demo and its proxy's addresses. */
interface Workload {
  name: string;
  pod: string;
  podTemplateHash: string;
  app: string;
  inbound: string;
  outbound: string;
  admin: string;
}

/** Ports already handed out by this process, never handed out twice. */
const handedOut = new Set<number>();

/**
 * A port that is free now, for a listener started a moment later by this process or a child.
 * It is drawn below Linux's ephemeral range (32768–60999), so the outgoing connections of the
 * demo itself (scrapes, traffic) cannot take it between this check and the bind, as they could
 * with a port the kernel picked from that range.
 */
async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (handedOut.has(port)) continue;
    const s = createServer();
    const ok = await new Promise<boolean>((res) => {
      s.once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => res(true));
    });
    if (!ok) {
      if (attempt > 200) throw new PromError('ERR_DEMO_PORTS', 'no free port found in 20000-31999');
      continue;
    }
    await new Promise((res) => s.close(res));
    handedOut.add(port);
    return port;
  }
}

/** A stable short hex hash of a string, for pod names. */
function shortHash(s: string, n: number): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0').slice(0, n);
}

/** Node flags that load TypeScript (tsx) must reach the children too. */
function loaderArgs(): string[] {
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--import' || a[i] === '--require' || a[i] === '--loader') out.push(a[i], a[++i]);
    else if (/^--(import|require|loader)=/.test(a[i])) out.push(a[i]);
  }
  return out;
}

/** Starts `meshmetrics proxy` as a child that also exits when this process dies (stdin closes). */
function spawnProxy(args: string[], log: (line: string) => void, name: string): ChildProcess {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const moduleUrl = new URL(`./proxy.${ext}`, import.meta.url).href;
  const code =
    `const m = await import(${JSON.stringify(moduleUrl)});` +
    "process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM')); process.stdin.resume();" +
    'const code = await m.run(process.argv.slice(1)); process.exit(code);';
  const child = spawn(
    process.execPath,
    [...loaderArgs(), '--input-type=module', '-e', code, '--', ...args],
    {
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => {
    for (const line of d.split('\n'))
      if (line.trim() && !/^meshmetrics proxy: inbound/.test(line)) log(`proxy ${name}: ${line}`);
  });
  return child;
}

async function waitReady(admin: string, deadlineMs: number): Promise<void> {
  for (;;) {
    const ok = await fetch(`http://${admin}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadlineMs)
      throw new PromError('ERR_DEMO', `proxy with admin ${admin} did not become ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => c.kill('SIGKILL'), 3000);
    c.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

function duration(flag: string, s: string): number {
  const ms = parseDuration(s);
  if (ms === null) throw new UsageError(`invalid --${flag} "${s}"`);
  return ms;
}

/** Runs the demo until SIGINT/SIGTERM (or --duration). */
export async function run(args: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const f = parseFlags(args, FLAGS);
    if (f.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (f.positionals.length) throw new UsageError(`unexpected argument "${f.positionals[0]}"`);
    const ns = f.strings.get('namespace')!;
    const rps = Number(f.strings.get('rps'));
    if (!(rps > 0)) throw new UsageError('--rps must be a positive number');
    const basePort = Number(f.strings.get('base-port'));
    if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65_523)
      throw new UsageError('--base-port must be a port number');
    const scrapeMs = duration('scrape-interval', f.strings.get('scrape-interval')!);
    const statusMs = duration('status-interval', f.strings.get('status-interval')!);
    const runForMs = duration('duration', f.strings.get('duration')!);
    const dataDir = resolve(f.strings.get('data-dir')!);
    const say = (line: string): void => void process.stdout.write(line + '\n');
    const warn = (line: string): void => void process.stderr.write(`demo: ${line}\n`);

    let nextPort = basePort;
    const port = async (): Promise<number> => (basePort ? nextPort++ : freePort());
    const authority = (name: string): string => `${name}.${ns}.svc.cluster.local:8080`;
    const workloads: Workload[] = [];
    const appAddr = new Map<string, string>();
    for (const name of ['web', 'books', 'authors']) {
      const hash = shortHash(`${ns}/${name}`, 10);
      appAddr.set(name, `127.0.0.1:${await port()}`);
      workloads.push({
        name,
        pod: `${name}-${hash}-${shortHash(`${name}/pod`, 5)}`,
        podTemplateHash: hash,
        app: appAddr.get(name)!,
        inbound: `127.0.0.1:${await port()}`,
        outbound: `127.0.0.1:${await port()}`,
        admin: `127.0.0.1:${await port()}`,
      });
    }
    const byName = new Map(workloads.map((w) => [w.name, w]));

    const configDir = mkdtempSync(join(tmpdir(), 'meshmetrics-demo-'));
    mkdirSync(dataDir, { recursive: true });
    const apps: App[] = [];
    const children: ChildProcess[] = [];
    let traffic: Traffic | null = null;
    let collector: CollectorHandle | null = null;
    let statusTimer: NodeJS.Timeout | null = null;
    let stopping: Promise<void> | null = null;
    const shutdown = (): Promise<void> =>
      (stopping ??= (async () => {
        if (statusTimer) clearInterval(statusTimer);
        await traffic?.stop();
        await collector?.stop();
        await Promise.all(children.map(stopChild));
        await Promise.all(apps.map((a) => a.close()));
        rmSync(configDir, { recursive: true, force: true });
      })());

    try {
      // The destination registry every proxy shares: authority -> the target's inbound proxy.
      const destinations: Record<string, unknown> = {};
      for (const w of workloads) {
        destinations[authority(w.name)] = {
          address: w.inbound,
          labels: {
            namespace: ns,
            service: w.name,
            deployment: w.name,
            pod: w.pod,
            pod_template_hash: w.podTemplateHash,
            serviceaccount: w.name,
          },
        };
      }
      const destFile = join(configDir, 'destinations.json');
      writeFileSync(destFile, JSON.stringify(destinations, null, 2));

      apps.push(await startBooks({ listen: appAddr.get('books')! }));
      apps.push(await startAuthors({ listen: appAddr.get('authors')! }));
      apps.push(
        await startWeb({
          listen: appAddr.get('web')!,
          outbound: byName.get('web')!.outbound,
          booksAuthority: authority('books'),
          authorsAuthority: authority('authors'),
        }),
      );
      for (const w of workloads) {
        children.push(
          spawnProxy(
            [
              `--inbound.listen-address=${w.inbound}`,
              `--inbound.app-address=${w.app}`,
              `--outbound.listen-address=${w.outbound}`,
              `--admin.listen-address=${w.admin}`,
              `--destinations=${destFile}`,
              `--namespace=${ns}`,
              `--pod=${w.pod}`,
              `--workload=deployment/${w.name}`,
            ],
            warn,
            w.name,
          ),
        );
      }
      const deadline = Date.now() + 20_000;
      await Promise.all(workloads.map((w) => waitReady(w.admin, deadline)));

      // file_sd targets with the labels the linkerd-viz relabeling gives a pod.
      const targetsFile = join(configDir, 'targets.json');
      writeFileSync(
        targetsFile,
        JSON.stringify(
          workloads.map((w) => ({
            targets: [w.admin],
            labels: {
              namespace: ns,
              pod: w.pod,
              deployment: w.name,
              pod_template_hash: w.podTemplateHash,
              control_plane_ns: 'linkerd',
              app: w.name,
            },
          })),
          null,
          2,
        ),
      );
      const configFile = join(configDir, 'meshmetrics.yml');
      const secs = (ms: number): string => `${ms / 1000}s`;
      writeFileSync(
        configFile,
        `global:\n  scrape_interval: ${secs(scrapeMs)}\n  scrape_timeout: ${secs(Math.min(scrapeMs, 10_000))}\n  evaluation_interval: ${secs(scrapeMs)}\n` +
          `scrape_configs:\n  - job_name: linkerd-proxy\n    file_sd_configs:\n      - files: [${JSON.stringify(targetsFile)}]\n`,
      );
      collector = await startCollector({
        configFile,
        dataDir,
        listenAddress: f.strings.get('web.listen-address')!,
        logLevel: 'warn',
        discoveryUpdateIntervalMs: 500,
      });
      const api = `http://${collector.webAddress.host}:${collector.webAddress.port}`;
      traffic = startTraffic({
        target: byName.get('web')!.inbound,
        authority: authority('web'),
        rps,
      });

      say(`meshmetrics demo is running (namespace ${ns}); Ctrl-C stops it.`);
      say(`  API:               ${api}`);
      say(`  dashboard:         ${api}/`);
      say(`  data:              ${dataDir}`);
      for (const w of workloads)
        say(
          `  ${w.name.padEnd(8)} app ${w.app}  proxy inbound ${w.inbound}  outbound ${w.outbound}  admin ${w.admin}`,
        );
      say('Try:');
      say(`  meshmetrics stat deploy -n ${ns} --prometheus-url ${api}`);
      say(`  meshmetrics stat po -n ${ns} --from deploy/web -o wide --prometheus-url ${api}`);
      say(
        `  meshmetrics diagnostics proxy-metrics -n ${ns} deploy/books --metric response_total --prometheus-url ${api}`,
      );
      say(
        `  meshmetrics query 'sum(rate(response_total{namespace="${ns}",direction="inbound"}[1m])) by (deployment)' --prometheus-url ${api}`,
      );
      say(`  curl -s '${api}/api/v1/query?query=request_total'`);
      say(`  curl -s -G '${api}/federate' --data-urlencode 'match[]={job="linkerd-proxy"}'`);

      if (statusMs > 0) {
        const client = new PromApiClient(api, { timeoutMs: 5000 });
        const windowMs = Math.max(30_000, 3 * scrapeMs);
        statusTimer = setInterval(() => {
          statSummary(client, {
            resources: parseResources(['deploy']),
            namespace: ns,
            allNamespaces: false,
            windowMs,
            to: null,
            toNamespace: '',
            from: null,
            fromNamespace: '',
            selector: '',
            accurate: false,
            clusterDomain: 'cluster.local',
          }).then(
            (rows) => {
              const parts = rows
                .filter((r) => r.rps !== null)
                .map(
                  (r) =>
                    `${r.name} ${((r.success ?? 0) * 100).toFixed(1)}% ${r.rps!.toFixed(1)}rps p95 ${r.latencyP95}ms`,
                );
              say(
                `[${new Date().toISOString().slice(11, 19)}] ${parts.length ? parts.join(' | ') : 'waiting for the first scrapes…'}`,
              );
            },
            (err: Error) => warn(`status: ${err.message}`),
          );
        }, statusMs);
      }
    } catch (err) {
      await shutdown();
      throw err;
    }

    await new Promise<void>((resolveRun) => {
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals): void => {
        if (++signals > 1) process.exit(130); // a second Ctrl-C does not wait
        say(`demo: ${sig}, stopping…`);
        resolveRun();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      if (runForMs > 0) setTimeout(resolveRun, runForMs).unref();
    });
    await shutdown();
    say('demo: stopped.');
    return 0;
  });
}

// `meshmetrics proxy` as a user runs it: flags and MESHMETRICS_PROXY_* variables, and the
// process life cycle (ready, POST /shutdown, SIGTERM).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../src/model/errors.js';
import { parseTcpRoute, proxyOptions } from '../src/cmd/proxy.js';

const MAIN = pathToFileURL(resolve('src/cmd/main.ts')).href;
const ENTRY = `import { main } from ${JSON.stringify(MAIN)}; process.exitCode = await main(process.argv.slice(1));`;

test('flags win over MESHMETRICS_PROXY_* variables, which win over defaults', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dest = join(dir, 'dst.yaml');
  writeFileSync(dest, 'web.test:80: {address: 127.0.0.1:1, labels: {namespace: ns}}\n');
  const env = {
    MESHMETRICS_PROXY_NAMESPACE: 'from-env',
    MESHMETRICS_PROXY_POD: 'pod-1',
    MESHMETRICS_PROXY_INBOUND_APP_ADDR: '127.0.0.1:9000',
    MESHMETRICS_PROXY_METRICS_DROP_LABELS: 'authority, target_addr',
    MESHMETRICS_PROXY_OUTBOUND_TCP_ROUTES: '5432=db.test:5432',
  };
  const o = proxyOptions(
    ['--namespace', 'from-flag', '--metrics.retain-idle', '90s', '--destinations', dest],
    env,
  );
  assert.notEqual(o, 'help');
  if (o === 'help') return;
  assert.deepEqual(o.identity, { namespace: 'from-flag', pod: 'pod-1', workload: '' });
  assert.equal(o.inboundApp, '127.0.0.1:9000');
  assert.equal(o.inboundListen, '127.0.0.1:4143');
  assert.equal(o.outboundListen, '127.0.0.1:4140');
  assert.equal(o.adminListen, '127.0.0.1:4191');
  assert.equal(o.retainIdleMs, 90_000);
  assert.deepEqual(o.dropLabels, ['authority', 'target_addr']);
  assert.deepEqual(o.tcpRoutes, [{ listen: '127.0.0.1:5432', destination: 'db.test:5432' }]);
  assert.deepEqual(o.destinations.resolve('web.test:80', 'web.test', '80'), {
    address: '127.0.0.1:1',
    labels: ['dst_namespace', 'ns'],
  });
  assert.equal(
    proxyOptions([], {}) !== 'help' &&
      (proxyOptions([], {}) as { retainIdleMs: number }).retainIdleMs,
    600_000,
  );
  assert.equal(proxyOptions(['--help'], {}), 'help');
});

test('bad flags are ConfigErrors naming the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--metrics.retain-idle', '10 minutes'], /--metrics.retain-idle "10 minutes": not a duration/],
    [['--outbound.tcp-route', '5432'], /--outbound.tcp-route "5432": want LISTEN=HOST:PORT/],
    [['--outbound.tcp-route', '5432=db'], /want LISTEN=HOST:PORT/],
    [
      ['--destinations', '/nonexistent/x.yaml'],
      /cannot read destinations file \/nonexistent\/x.yaml/,
    ],
  ];
  for (const [args, want] of cases) {
    assert.throws(
      () => proxyOptions(args, {}),
      (e: unknown) => e instanceof ConfigError && want.test(e.message),
      args.join(' '),
    );
  }
  assert.deepEqual(parseTcpRoute('0.0.0.0:7000=db:5432'), {
    listen: '0.0.0.0:7000',
    destination: 'db:5432',
  });
});

function request(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', rej);
    req.end();
  });
}

async function startProcess(): Promise<{
  child: ReturnType<typeof spawn>;
  admin: number;
  exit: Promise<number | null>;
}> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      ENTRY,
      'proxy',
      '--inbound.listen-address',
      '127.0.0.1:0',
      '--outbound.listen-address',
      '127.0.0.1:0',
      '--admin.listen-address',
      '127.0.0.1:0',
      '--inbound.app-address',
      '127.0.0.1:1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const admin = await new Promise<number>((res, rej) => {
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /admin 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) res(Number(m[1]));
    });
    child.once('exit', () => rej(new Error(`proxy exited early: ${err}`)));
  });
  return { child, admin, exit };
}

test('the process serves /ready and exits 0 on POST /shutdown', async () => {
  const { admin, exit } = await startProcess();
  assert.deepEqual(await request(admin, '/ready'), { status: 200, body: 'ready\n' });
  assert.equal((await request(admin, '/shutdown', 'POST')).status, 200);
  assert.equal(await exit, 0);
});

test('the process exits 0 on SIGTERM', async () => {
  const { child, admin, exit } = await startProcess();
  assert.equal((await request(admin, '/live')).status, 200);
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
});

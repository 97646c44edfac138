// `diagnostics proxy-metrics` against live local HTTP servers serving a Linkerd-shaped
// /metrics, found by address and by workload through a targets API, one of them down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { linkerdProxyBody } from './fixtures/linkerd-body.js';
import { EntryType, ExpositionParser } from '../src/exposition/index.js';
import { runCli } from './support/cli.js';

const cli = runCli;

async function listen(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; addr: string }> {
  const server = createServer(handler);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return { server, addr: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

const BODY_A = linkerdProxyBody({ seed: 1, inbound: 2, outbound: 3 });
const BODY_B = linkerdProxyBody({ seed: 2, inbound: 2, outbound: 3 });

test('diagnostics proxy-metrics', async (t) => {
  // Proxy A answers gzipped when asked, as linkerd's admin server does; proxy B in plain text.
  const a = await listen((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    const gz = /gzip/.test(req.headers['accept-encoding'] ?? '');
    res.writeHead(200, {
      'content-type': 'text/plain',
      ...(gz ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(gz ? gzipSync(BODY_A) : BODY_A);
  });
  const b = await listen((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/plain' }).end(BODY_B),
  );
  // A port nothing listens on: a proxy that is down.
  const gone = await listen(() => {});
  const downAddr = gone.addr;
  await new Promise((res) => gone.server.close(res));
  const target = (pod: string, addr: string, deployment: string, namespace = 'demo') => ({
    discoveredLabels: {},
    labels: { job: 'linkerd-proxy', instance: addr, namespace, pod, deployment },
    scrapePool: 'linkerd-proxy',
    scrapeUrl: `http://${addr}/metrics`,
    health: 'up',
    lastError: '',
  });
  const api = await listen((_req, res) => {
    const activeTargets = [
      target('web-2', b.addr, 'web'),
      target('web-1', a.addr, 'web'),
      target('web-3', downAddr, 'web'),
      target('web-9', a.addr, 'web', 'other'),
      target('books-1', b.addr, 'books'),
    ];
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'success', data: { activeTargets, droppedTargets: [] } }));
  });
  t.after(() => {
    a.server.close();
    b.server.close();
    api.server.close();
  });
  const P = `--prometheus-url=http://${api.addr}`;

  await t.test('by address: the raw body under the POD header', async () => {
    const r = await cli(['diagnostics', 'proxy-metrics', a.addr]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `#\n# POD ${a.addr} (1 of 1)\n#\n${BODY_A}`);
  });

  await t.test('by workload: pods sorted by name, the down one as # ERROR', async () => {
    const r = await cli(['diagnostics', 'proxy-metrics', '-n', 'demo', 'deploy/web', P]);
    assert.equal(r.code, 0, r.stderr);
    const parts = r.stdout.split(/^#\n# POD (\S+) \((\d) of (\d)\)\n#\n/m);
    assert.equal(parts[0], '');
    assert.deepEqual([parts[1], parts[2], parts[3]], ['web-1', '1', '3']);
    assert.equal(parts[4], BODY_A);
    assert.deepEqual([parts[5], parts[6], parts[7]], ['web-2', '2', '3']);
    assert.equal(parts[8], BODY_B);
    assert.deepEqual([parts[9], parts[10], parts[11]], ['web-3', '3', '3']);
    assert.match(
      parts[12],
      new RegExp(`^# ERROR: GET http://${downAddr}/metrics: ECONNREFUSED\\n$`),
    );
    const pod = await cli(['diagnostics', 'proxy-metrics', '-n', 'demo', 'po/books-1', P]);
    assert.equal(pod.stdout, `#\n# POD books-1 (1 of 1)\n#\n${BODY_B}`);
  });

  await t.test('errors: nothing found, all down, bad target', async () => {
    const none = await cli(['diagnostics', 'proxy-metrics', '-n', 'demo', 'deploy/nope', P]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no proxies found for deploy\/nope in namespace demo/);
    const down = await cli(['diagnostics', 'proxy-metrics', downAddr]);
    assert.equal(down.code, 1);
    assert.match(down.stdout, /^#\n# POD .* \(1 of 1\)\n#\n# ERROR: .*ECONNREFUSED\n$/);
    const bad = await cli(['diagnostics', 'proxy-metrics', 'svc/web', P]);
    assert.equal(bad.code, 2);
  });

  await t.test('a proxy that hangs is cut off by the overall --timeout', async () => {
    const hang = await listen(() => {});
    t.after(() => hang.server.closeAllConnections());
    t.after(() => hang.server.close());
    const t0 = Date.now();
    const r = await cli(['diagnostics', 'proxy-metrics', '--timeout', '300ms', hang.addr]);
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /# ERROR: GET http:\/\/.*\/metrics: timed out after 300 ms\n$/);
  });

  await t.test('--obfuscate hashes the sensitive labels and keeps everything else', async () => {
    const r = await cli(['diagnostics', 'proxy-metrics', '--obfuscate', a.addr]);
    assert.equal(r.code, 0, r.stderr);
    const body = r.stdout.split('\n').slice(3).join('\n');
    const hash = (v: string) => createHash('sha256').update(v).digest('hex').slice(0, 8);
    const read = (text: string) => {
      const p = new ExpositionParser(Buffer.from(text), { format: 'text' });
      const out: { name: string; labels: Record<string, string>; value: number }[] = [];
      for (let e = p.next(); e !== EntryType.EOF; e = p.next()) {
        if (e === EntryType.Series)
          out.push({ name: p.metricName(), labels: p.labels().toObject(), value: p.value() });
      }
      return out;
    };
    const before = read(BODY_A);
    const after = read(body);
    assert.equal(after.length, before.length);
    const sensitive = [
      'authority',
      'client_id',
      'server_id',
      'target_addr',
      'dst_service',
      'dst_namespace',
    ];
    let hashed = 0;
    for (let i = 0; i < before.length; i++) {
      const want = { ...before[i].labels };
      for (const k of sensitive) {
        if (k in want) {
          want[k] = hash(want[k]);
          hashed++;
        }
      }
      assert.deepEqual(after[i].labels, want);
      assert.ok(Object.is(after[i].value, before[i].value) || after[i].value === before[i].value);
    }
    assert.ok(hashed > 50, `only ${hashed} labels hashed`);
    // Apart from the hashed values the text is the proxy's own: label order, empty values
    // (grpc_status="", error=""), numbers and comments, as linkerd keeps each series' labels.
    const names = sensitive.join('|');
    const inPlace = BODY_A.replace(
      new RegExp(`([{,])(${names})="([^"\\\\]*)"`, 'g'),
      (_m, sep: string, k: string, v: string) => `${sep}${k}="${hash(v)}"`,
    );
    assert.equal(body, inPlace);
    assert.match(body, /grpc_status="",error=""/);
  });

  await t.test('--metric keeps only the named families, raw or obfuscated', async () => {
    const r = await cli([
      'diagnostics',
      'proxy-metrics',
      '--metric',
      'response_latency_ms',
      '--metric',
      'tcp_open_connections',
      b.addr,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .split('\n')
      .slice(3)
      .filter((l) => l !== '');
    const names = new Set(
      lines.filter((l) => !l.startsWith('#')).map((l) => l.slice(0, l.search(/[{ ]/))),
    );
    assert.deepEqual([...names].sort(), [
      'response_latency_ms_bucket',
      'response_latency_ms_count',
      'response_latency_ms_sum',
      'tcp_open_connections',
    ]);
    assert.ok(lines.includes('# TYPE response_latency_ms histogram'));
    // Raw lines are the proxy's own bytes.
    for (const l of lines) assert.ok(BODY_B.includes(l + '\n'), l);
    const o = await cli([
      'diagnostics',
      'proxy-metrics',
      '--obfuscate',
      '--metric',
      'request_total',
      b.addr,
    ]);
    const sample = o.stdout.split('\n').filter((l) => l.startsWith('request_total'));
    assert.ok(sample.length > 0);
    for (const l of sample) assert.match(l, /target_addr="[0-9a-f]{8}"/);
  });
});

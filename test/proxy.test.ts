// End-to-end: an upstream app, a server-side proxy in front of it and a client-side proxy
// the traffic goes out through; every counter, bucket and label on both proxies' /metrics
// is checked against the traffic that was sent.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import {
  Destinations,
  DEFAULT_PROXY_OPTIONS,
  LATENCY_BOUNDS_MS,
  Proxy,
  type ProxyAddresses,
  type ProxyOptions,
} from '../src/proxy/index.js';
import { requirePeer } from './support/peers.js';

const BUILD = {
  date: '',
  git_sha: 'abc',
  profile: 'test',
  vendor: 'meshmetrics',
  version: '0.0.0',
};

function options(over: Partial<ProxyOptions>): ProxyOptions {
  return {
    ...DEFAULT_PROXY_OPTIONS,
    inboundListen: '127.0.0.1:0',
    outboundListen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    buildInfo: BUILD,
    detectTimeoutMs: 300,
    ...over,
  };
}

async function listen(server: net.Server | http.Server | http2.Http2Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

function port(addr: string): number {
  return Number(addr.slice(addr.lastIndexOf(':') + 1));
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function get(
  addr: string,
  path: string,
  headers: http.OutgoingHttpHeaders = {},
  agent?: http.Agent,
  method = 'GET',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: port(addr), path, headers, agent, method },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Parses a text exposition into `series text → value`, keeping the label order as written. */
function samples(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

async function scrape(admin: string): Promise<{ text: string; map: Map<string, number> }> {
  const r = await get(admin, '/metrics');
  assert.equal(r.status, 200);
  const text = r.body.toString();
  return { text, map: samples(text) };
}

function lbl(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
}

/** Asserts the value of one series, given by name and label text. */
function expectSample(map: Map<string, number>, series: string, want: number): void {
  assert.ok(
    map.has(series),
    `missing series ${series}\nhave:\n${[...map.keys()].filter((k) => k.startsWith(series.slice(0, series.indexOf('{')))).join('\n')}`,
  );
  assert.equal(map.get(series), want, series);
}

// ---- the mesh under test ---------------------------------------------------------------

const apps: (net.Server | http2.Http2Server)[] = [];
const proxies: Proxy[] = [];
let appAddr = '';
let grpcAppAddr = '';
let echoAddr = '';
let server: ProxyAddresses;
let grpcServer: ProxyAddresses;
let tcpServer: ProxyAddresses;
let client: ProxyAddresses;

const DST = {
  namespace: 'test',
  deployment: 'web',
  pod: 'web-1',
  service: 'web',
  serviceaccount: 'default',
};
const DST_LABELS = lbl({
  dst_deployment: 'web',
  dst_namespace: 'test',
  dst_pod: 'web-1',
  dst_service: 'web',
  dst_serviceaccount: 'default',
});

before(async () => {
  // HTTP/1 app: /status/<code>[?delay=ms], /chunked (a chunked body).
  const app = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/chunked') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a'.repeat(1000));
      setTimeout(() => res.end('b'.repeat(1000)), 5);
      return;
    }
    const code = Number(u.pathname.split('/')[2] ?? 200);
    const delay = Number(u.searchParams.get('delay') ?? 0);
    const answer = (): void => {
      res.writeHead(code, { 'content-type': 'text/plain', 'x-host': req.headers.host ?? '' });
      res.end(`status ${code}\n`);
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  app.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
    // A toy upgrade: 101, then echo every byte upper-cased.
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n\r\n',
    );
    if (head.length > 0) socket.write(head.toString().toUpperCase());
    socket.on('data', (d) => socket.write(d.toString().toUpperCase()));
    socket.on('error', () => {});
  });
  appAddr = await listen(app);
  // gRPC-like h2 app: grpc-status in trailers, or trailers-only.
  const gapp = http2.createServer();
  gapp.on('stream', (stream, headers) => {
    const path = headers[':path'] ?? '';
    stream.on('data', () => {});
    if (path.endsWith('/NotFound')) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' },
        { endStream: true },
      );
      return;
    }
    const code = path.endsWith('/Internal') ? '13' : '0';
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc' },
      { waitForTrailers: true },
    );
    stream.on('wantTrailers', () =>
      stream.sendTrailers({ 'grpc-status': code, 'grpc-message': code === '0' ? '' : 'boom' }),
    );
    stream.end(Buffer.from([0, 0, 0, 0, 2, 8, 1]));
  });
  grpcAppAddr = await listen(gapp);
  // TCP echo app; "reset" makes it reset the connection.
  const echo = net.createServer((s) => {
    s.on('data', (d) => {
      if (d.toString().includes('reset')) s.resetAndDestroy();
      else s.write(d);
    });
    s.on('error', () => {});
  });
  echoAddr = await listen(echo);
  apps.push(app, gapp, echo);

  const sp = new Proxy(
    options({
      inboundApp: appAddr,
      identity: { namespace: 'test', pod: 'web-1', workload: 'web' },
    }),
  );
  const gp = new Proxy(options({ inboundApp: grpcAppAddr }));
  const tp = new Proxy(options({ inboundApp: echoAddr }));
  proxies.push(sp, gp, tp);
  server = await sp.start();
  grpcServer = await gp.start();
  tcpServer = await tp.start();
  const destinations = Destinations.parse(
    JSON.stringify({
      'web.test:80': { address: server.inbound, labels: DST },
      'grpc.test:80': {
        address: grpcServer.inbound,
        labels: { namespace: 'test', service: 'grpc' },
      },
      'echo.test:7000': { address: echoAddr, labels: { namespace: 'test', service: 'echo' } },
    }),
  );
  const cp = new Proxy(
    options({
      destinations,
      tcpRoutes: [{ listen: '127.0.0.1:0', destination: 'echo.test:7000' }],
    }),
  );
  proxies.push(cp);
  client = await cp.start();
});

after(async () => {
  for (const p of proxies) await p.stop();
  for (const a of apps) a.close();
});

// ---- HTTP/1.1 ground truth -------------------------------------------------------------

test('HTTP/1.1 through outbound then inbound proxy: every counter, bucket and label', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const plan: { path: string; status: number; n: number }[] = [
    { path: '/status/200', status: 200, n: 40 },
    { path: '/status/200?delay=30', status: 200, n: 10 },
    { path: '/status/503', status: 503, n: 7 },
    { path: '/status/404', status: 404, n: 5 },
  ];
  let i = 0;
  for (const p of plan) {
    const batch: Promise<Reply>[] = [];
    for (let k = 0; k < p.n; k++, i++) {
      // Half the requests in absolute form (a forward proxy), half by Host header.
      const path = i % 2 === 0 ? `http://web.test:80${p.path}` : p.path;
      batch.push(get(client.outbound, path, { host: 'web.test:80' }, agent));
    }
    for (const r of await Promise.all(batch)) {
      assert.equal(r.status, p.status);
      assert.equal(r.body.toString(), `status ${p.status}\n`);
      assert.equal(r.headers['x-host'], 'web.test:80');
    }
  }
  agent.destroy();

  const out = (await scrape(client.admin)).map;
  const inb = (await scrape(server.admin)).map;
  const inPort = String(port(server.inbound));
  const appPort = String(port(appAddr));
  const outEp =
    lbl({
      direction: 'outbound',
      authority: 'web.test:80',
      target_addr: server.inbound,
      target_ip: '127.0.0.1',
      target_port: inPort,
      tls: 'no_identity',
      no_tls_reason: 'not_provided_by_service_discovery',
    }) +
    ',' +
    DST_LABELS;
  const inEp = lbl({
    direction: 'inbound',
    authority: 'web.test:80',
    target_addr: appAddr,
    target_ip: '127.0.0.1',
    target_port: appPort,
    tls: 'no_identity',
    no_tls_reason: 'no_tls_from_remote',
    srv_group: '',
    srv_kind: 'default',
    srv_name: 'all-unauthenticated',
    route_group: '',
    route_kind: 'default',
    route_name: 'default',
    authz_group: '',
    authz_kind: 'default',
    authz_name: 'all-unauthenticated',
  });
  for (const [map, ep] of [
    [out, outEp],
    [inb, inEp],
  ] as const) {
    expectSample(map, `request_total{${ep}}`, 62);
    for (const [code, n, cls] of [
      ['200', 50, 'success'],
      ['503', 7, 'failure'],
      ['404', 5, 'success'],
    ] as const) {
      expectSample(
        map,
        `response_total{${ep},status_code="${code}",classification="${cls}",grpc_status="",error=""}`,
        n,
      );
      const h = `${ep},status_code="${code}"`;
      expectSample(map, `response_latency_ms_count{${h}}`, n);
      expectSample(map, `response_latency_ms_bucket{${h},le="+Inf"}`, n);
      // Every bound is present, in order, and counts are cumulative.
      let prev = 0;
      for (const b of LATENCY_BOUNDS_MS) {
        const v = map.get(`response_latency_ms_bucket{${h},le="${b}"}`);
        assert.ok(v !== undefined && v >= prev, `bucket le=${b} of ${code}`);
        prev = v;
      }
      assert.equal(map.get(`response_latency_ms_bucket{${h},le="50000"}`), n);
    }
    // The ten delayed responses are slower than 30 ms (the machine may be loaded, so the
    // fast ones are not required to be fast).
    assert.ok((map.get(`response_latency_ms_bucket{${ep},status_code="200",le="30"}`) ?? 99) <= 40);
    assert.ok((map.get(`response_latency_ms_sum{${ep},status_code="200"}`) ?? 0) >= 300);
  }
  // Connection labels: the client proxy's connections to the server proxy (peer="dst").
  const dstConn =
    lbl({
      direction: 'outbound',
      peer: 'dst',
      authority: 'web.test:80',
      target_addr: server.inbound,
      target_ip: '127.0.0.1',
      target_port: inPort,
      tls: 'no_identity',
      no_tls_reason: 'not_provided_by_service_discovery',
    }) +
    ',' +
    DST_LABELS;
  assert.ok((out.get(`tcp_open_total{${dstConn}}`) ?? 0) >= 1);
  assert.ok((out.get(`tcp_open_connections{${dstConn}}`) ?? 0) >= 1);
  const srcConn = lbl({
    direction: 'inbound',
    peer: 'src',
    target_addr: server.inbound,
    target_ip: '127.0.0.1',
    target_port: inPort,
    tls: 'no_identity',
    no_tls_reason: 'no_tls_from_remote',
    srv_group: '',
    srv_kind: 'default',
    srv_name: 'all-unauthenticated',
  });
  assert.equal(inb.get(`tcp_open_total{${srcConn}}`), out.get(`tcp_open_total{${dstConn}}`));
  const appConn = lbl({
    direction: 'inbound',
    peer: 'dst',
    target_addr: appAddr,
    target_ip: '127.0.0.1',
    target_port: appPort,
    tls: 'no_identity',
    no_tls_reason: 'loopback',
  });
  assert.ok((inb.get(`tcp_open_total{${appConn}}`) ?? 0) >= 1);
  // No proxy errors.
  assert.ok(![...out.keys(), ...inb.keys()].some((k) => k.includes('_errors_total{')));
});

test('chunked bodies and keep-alive pass through unchanged', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let k = 0; k < 3; k++) {
    const r = await get(client.outbound, '/chunked', { host: 'web.test:80' }, agent);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'a'.repeat(1000) + 'b'.repeat(1000));
    assert.equal(r.headers['transfer-encoding'], 'chunked');
  }
  agent.destroy();
});

test('an unreachable target is answered 502 and counted as a failure and an i/o error', async () => {
  const dead = net.createServer();
  const deadAddr = await listen(dead);
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  const r = await get(client.outbound, `http://${deadAddr}/x`);
  assert.equal(r.status, 502);
  const { map } = await scrape(client.admin);
  const ep = lbl({
    direction: 'outbound',
    authority: deadAddr,
    target_addr: deadAddr,
    target_ip: '127.0.0.1',
    target_port: String(port(deadAddr)),
    tls: 'no_identity',
    no_tls_reason: 'not_provided_by_service_discovery',
  });
  expectSample(
    map,
    `response_total{${ep},status_code="502",classification="failure",grpc_status="",error=""}`,
    1,
  );
  expectSample(map, 'outbound_http_errors_total{error="i/o"}', 1);
  const conn = lbl({
    direction: 'outbound',
    peer: 'dst',
    authority: deadAddr,
    target_addr: deadAddr,
    target_ip: '127.0.0.1',
    target_port: String(port(deadAddr)),
    tls: 'no_identity',
    no_tls_reason: 'not_provided_by_service_discovery',
  });
  expectSample(map, `tcp_close_total{${conn},errno="ECONNREFUSED"}`, 1);
});

// ---- HTTP/2 and gRPC -------------------------------------------------------------------

function grpcCall(
  session: http2.ClientHttp2Session,
  method: string,
): Promise<{ status: number; grpc: string }> {
  return new Promise((resolve, reject) => {
    const s = session.request({
      ':method': 'POST',
      ':path': `/test.Svc/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status = 0;
    let grpc = '';
    s.on('response', (h) => {
      status = Number(h[':status']);
      if (h['grpc-status'] !== undefined) grpc = String(h['grpc-status']);
    });
    s.on('trailers', (t) => {
      grpc = String(t['grpc-status'] ?? grpc);
    });
    s.on('data', () => {});
    s.on('end', () => resolve({ status, grpc }));
    s.on('error', reject);
    s.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

test('HTTP/2 gRPC calls are classified by grpc-status (trailers and trailers-only)', async () => {
  const session = http2.connect('http://grpc.test:80', {
    createConnection: () => net.connect(port(client.outbound), '127.0.0.1'),
  });
  const plan = [
    ['Ok', '0', 6],
    ['NotFound', '5', 3],
    ['Internal', '13', 2],
  ] as const;
  for (const [method, code, n] of plan) {
    for (let k = 0; k < n; k++)
      assert.deepEqual(await grpcCall(session, method), { status: 200, grpc: code });
  }
  session.close();
  const out = (await scrape(client.admin)).map;
  const inb = (await scrape(grpcServer.admin)).map;
  const outEp = lbl({
    direction: 'outbound',
    authority: 'grpc.test:80',
    target_addr: grpcServer.inbound,
    target_ip: '127.0.0.1',
    target_port: String(port(grpcServer.inbound)),
    tls: 'no_identity',
    no_tls_reason: 'not_provided_by_service_discovery',
    dst_namespace: 'test',
    dst_service: 'grpc',
  });
  const inEp = lbl({
    direction: 'inbound',
    authority: 'grpc.test:80',
    target_addr: grpcAppAddr,
    target_ip: '127.0.0.1',
    target_port: String(port(grpcAppAddr)),
    tls: 'no_identity',
    no_tls_reason: 'no_tls_from_remote',
    srv_group: '',
    srv_kind: 'default',
    srv_name: 'all-unauthenticated',
    route_group: '',
    route_kind: 'default',
    route_name: 'default',
    authz_group: '',
    authz_kind: 'default',
    authz_name: 'all-unauthenticated',
  });
  for (const [map, ep] of [
    [out, outEp],
    [inb, inEp],
  ] as const) {
    expectSample(map, `request_total{${ep}}`, 11);
    expectSample(map, `response_latency_ms_count{${ep},status_code="200"}`, 11);
    for (const [, code, n] of plan) {
      const cls = code === '0' ? 'success' : 'failure';
      expectSample(
        map,
        `response_total{${ep},status_code="200",classification="${cls}",grpc_status="${code}",error=""}`,
        n,
      );
    }
  }
});

// ---- opaque TCP ------------------------------------------------------------------------

function tcpExchange(addr: string, payload: string): Promise<{ echoed: string; error: string }> {
  return new Promise((resolve) => {
    const s = net.connect(port(addr), '127.0.0.1');
    let echoed = '';
    let error = '';
    s.on('data', (d) => {
      echoed += d.toString();
      if (echoed.length >= payload.length) s.end();
    });
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? 'error'));
    s.on('close', () => resolve({ echoed, error }));
    s.write(payload);
  });
}

test('opaque TCP through a tcp-route is counted with its bytes', async () => {
  const payload = 'hello, opaque world\n'; // lower case: not an HTTP method
  assert.deepEqual(await tcpExchange(client.tcpRoutes[0], payload), { echoed: payload, error: '' });
  await new Promise((r) => setTimeout(r, 50));
  const { map } = await scrape(client.admin);
  const dst = lbl({
    direction: 'outbound',
    peer: 'dst',
    authority: 'echo.test:7000',
    target_addr: echoAddr,
    target_ip: '127.0.0.1',
    target_port: String(port(echoAddr)),
    tls: 'no_identity',
    no_tls_reason: 'not_provided_by_service_discovery',
    dst_namespace: 'test',
    dst_service: 'echo',
  });
  expectSample(map, `tcp_open_total{${dst}}`, 1);
  expectSample(map, `tcp_open_connections{${dst}}`, 0);
  expectSample(map, `tcp_write_bytes_total{${dst}}`, payload.length);
  expectSample(map, `tcp_read_bytes_total{${dst}}`, payload.length);
  expectSample(map, `tcp_close_total{${dst},errno=""}`, 1);
  const routePort = String(port(client.tcpRoutes[0]));
  const src = lbl({
    direction: 'outbound',
    peer: 'src',
    target_addr: client.tcpRoutes[0],
    target_ip: '127.0.0.1',
    target_port: routePort,
    tls: 'no_identity',
    no_tls_reason: 'loopback',
  });
  expectSample(map, `tcp_read_bytes_total{${src}}`, payload.length);
  expectSample(map, `tcp_write_bytes_total{${src}}`, payload.length);
});

test('non-HTTP bytes on the inbound listener are detected and forwarded as TCP', async () => {
  const payload = '\u0000\u0001binary\n';
  assert.deepEqual(await tcpExchange(tcpServer.inbound, payload), { echoed: payload, error: '' });
  // A client that sends nothing at first is forwarded once detection times out.
  const late = await new Promise<string>((resolve) => {
    const s = net.connect(port(tcpServer.inbound), '127.0.0.1');
    setTimeout(() => s.write('late\n'), 400);
    s.on('data', (d) => {
      resolve(d.toString());
      s.end();
    });
  });
  assert.equal(late, 'late\n');
});

test('a reset connection is counted with its errno', async () => {
  const r = await tcpExchange(tcpServer.inbound, 'please reset\n');
  assert.equal(r.error, 'ECONNRESET');
  await new Promise((res) => setTimeout(res, 50));
  const { map } = await scrape(tcpServer.admin);
  const app = lbl({
    direction: 'inbound',
    peer: 'dst',
    target_addr: echoAddr,
    target_ip: '127.0.0.1',
    target_port: String(port(echoAddr)),
    tls: 'no_identity',
    no_tls_reason: 'loopback',
  });
  expectSample(map, `tcp_close_total{${app},errno="ECONNRESET"}`, 1);
  expectSample(map, `tcp_close_total{${app},errno=""}`, 2);
});

// ---- admin -----------------------------------------------------------------------------

test('admin routes answer with Linkerd status codes', async () => {
  const cases: { method: string; path: string; status: number; body?: string }[] = [
    { method: 'GET', path: '/ready', status: 200, body: 'ready\n' },
    { method: 'GET', path: '/live', status: 200, body: 'live\n' },
    { method: 'GET', path: '/shutdown', status: 405 },
    { method: 'PUT', path: '/shutdown', status: 405 },
    { method: 'GET', path: '/nope', status: 404 },
    { method: 'GET', path: '/metrics', status: 200 },
  ];
  for (const tc of cases) {
    const r = await get(server.admin, tc.path, {}, undefined, tc.method);
    assert.equal(r.status, tc.status, `${tc.method} ${tc.path}`);
    if (tc.body !== undefined) assert.equal(r.body.toString(), tc.body);
  }
  const env = JSON.parse((await get(server.admin, '/env.json')).body.toString()) as Record<
    string,
    string
  >;
  assert.equal(env.MESHMETRICS_PROXY_NAMESPACE, 'test');
  assert.equal(env.MESHMETRICS_PROXY_WORKLOAD, 'web');
  const m = await get(server.admin, '/metrics');
  assert.match(String(m.headers['content-type']), /^text\/plain/);
  const z = await get(server.admin, '/metrics', { 'accept-encoding': 'gzip, deflate' });
  assert.equal(z.headers['content-encoding'], 'gzip');
  assert.match(gunzipSync(z.body).toString(), /^# HELP request_total /);
  // process_* and build info, as the Rust process collector and Linkerd write them.
  const map = samples(m.body.toString());
  for (const name of [
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'process_virtual_memory_bytes',
    'process_open_fds',
    'process_max_fds',
  ]) {
    assert.ok((map.get(name) ?? 0) > 0, name);
  }
  const start = map.get('process_start_time_seconds') ?? 0;
  assert.ok(
    start > Date.now() / 1000 - 3600 && start <= Date.now() / 1000,
    `process_start_time_seconds ${start}`,
  );
  expectSample(
    map,
    'proxy_build_info{date="",git_sha="abc",profile="test",vendor="meshmetrics",version="0.0.0"}',
    1,
  );
});

test('POST /shutdown from loopback stops the proxy', async () => {
  const p = new Proxy(options({ inboundApp: appAddr }));
  const a = await p.start();
  const r = await get(a.admin, '/shutdown', {}, undefined, 'POST');
  assert.equal(r.status, 200);
  await p.stopped;
  await assert.rejects(get(a.admin, '/live'));
});

// ---- promtool --------------------------------------------------------------------------

test('promtool check metrics parses /metrics; only the lint findings Linkerd has', async (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  const { text } = await scrape(client.admin);
  const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.doesNotMatch(r.stderr, /error while linting|parsing error/);
  const findings = new Set(r.stderr.split('\n').filter((l) => l !== ''));
  assert.deepEqual(
    findings,
    new Set(['response_latency_ms metric names should not contain abbreviated units']),
  );
  assert.equal(r.status, 3);
});

// ---- upgrades, CONNECT, refusals, drop-labels ------------------------------------------

test('an HTTP/1.1 upgrade is passed through as a tunnel and counted as a 101', async () => {
  const got = await new Promise<string>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: port(client.outbound),
      path: '/ws',
      headers: { host: 'web.test:80', connection: 'upgrade', upgrade: 'echo' },
    });
    req.on('upgrade', (res, socket: net.Socket) => {
      assert.equal(res.statusCode, 101);
      socket.write('ping');
      socket.once('data', (d) => {
        resolve(d.toString());
        socket.destroy();
      });
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(got, 'PING');
  const { map } = await scrape(client.admin);
  const ep =
    lbl({
      direction: 'outbound',
      authority: 'web.test:80',
      target_addr: server.inbound,
      target_ip: '127.0.0.1',
      target_port: String(port(server.inbound)),
      tls: 'no_identity',
      no_tls_reason: 'not_provided_by_service_discovery',
    }) +
    ',' +
    DST_LABELS;
  expectSample(
    map,
    `response_total{${ep},status_code="101",classification="success",grpc_status="",error=""}`,
    1,
  );
});

test('CONNECT through the outbound listener tunnels opaque bytes', async () => {
  const echoed = await new Promise<string>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: port(client.outbound),
      method: 'CONNECT',
      path: 'echo.test:7000',
    });
    req.on('connect', (res, socket: net.Socket) => {
      assert.equal(res.statusCode, 200);
      socket.write('through connect');
      socket.once('data', (d) => {
        resolve(d.toString());
        socket.destroy();
      });
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(echoed, 'through connect');
});

test('non-HTTP bytes on the outbound listener are refused and counted', async () => {
  const before =
    (await scrape(client.admin)).map.get('outbound_tcp_errors_total{error="unexpected"}') ?? 0;
  const r = await tcpExchange(client.outbound, '\u0000opaque without a route');
  assert.equal(r.echoed, '');
  expectSample(
    (await scrape(client.admin)).map,
    'outbound_tcp_errors_total{error="unexpected"}',
    before + 1,
  );
});

test('--metrics.drop-labels leaves the labels out and merges their series', async () => {
  const destinations = Destinations.parse(
    JSON.stringify({
      'a.test:80': { address: server.inbound },
      'b.test:80': { address: server.inbound },
    }),
  );
  const p = new Proxy(options({ destinations, dropLabels: ['authority', 'target_addr'] }));
  const a = await p.start();
  try {
    for (const host of ['a.test', 'b.test:80', 'a.test:80'])
      assert.equal((await get(a.outbound, '/status/200', { host })).status, 200);
    const { map } = await scrape(a.admin);
    const ep = lbl({
      direction: 'outbound',
      target_ip: '127.0.0.1',
      target_port: String(port(server.inbound)),
      tls: 'no_identity',
      no_tls_reason: 'not_provided_by_service_discovery',
    });
    expectSample(map, `request_total{${ep}}`, 3);
    assert.ok(![...map.keys()].some((k) => k.includes('authority=') || k.includes('target_addr=')));
  } finally {
    await p.stop();
  }
});

test('label sets of evicted series lose their ids; an old endpoint returns as one series', async () => {
  let now = Date.now();
  const p = new Proxy(options({ inboundApp: appAddr, retainIdleMs: 60_000, clock: () => now }));
  const a = await p.start();
  try {
    for (let i = 0; i < 30; i++)
      assert.equal((await get(a.inbound, '/status/200', { host: `h${i}.test` })).status, 200);
    assert.ok(p.labels.size >= 30, `${p.labels.size} label sets`);
    now += 61_000;
    await scrape(a.admin); // evicts
    // Left: at most the sets of the connections still open (client → proxy, proxy → app).
    assert.ok(p.labels.size <= 2, `${p.labels.size} label sets after eviction`);
    now += 1000;
    assert.equal((await get(a.inbound, '/status/200', { host: 'h3.test' })).status, 200);
    const { text } = await scrape(a.admin);
    const h3 = text.split('\n').filter((l) => /^request_total\{.*authority="h3\.test"/.test(l));
    assert.equal(h3.length, 1, h3.join('\n'));
    assert.match(h3[0], / 1$/);
    assert.ok(!text.includes('authority="h4.test"'));
  } finally {
    await p.stop();
  }
});

test('a response the target cuts short is counted with error="i/o" and ends the client response', async () => {
  // The target promises 100 bytes, sends 7, then resets the connection.
  const cut = net.createServer((s) => {
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\npartial');
      setTimeout(() => s.resetAndDestroy(), 20);
    });
    s.on('error', () => {});
  });
  const cutAddr = await listen(cut);
  const p = new Proxy(options({ inboundApp: cutAddr }));
  const a = await p.start();
  try {
    const got = await new Promise<string>((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port: port(a.inbound), path: '/', headers: { host: 'cut.test' } },
        (res) => {
          res.on('data', () => {});
          res.on('error', () => resolve('error'));
          res.on('end', () => resolve('end'));
        },
      );
      req.on('error', () => resolve('request error'));
      req.end();
    });
    assert.notEqual(got, 'end', 'the client must not see a complete response');
    const { map } = await scrape(a.admin);
    const series = [...map.keys()].filter((k) => k.startsWith('response_total{'));
    assert.equal(series.length, 1, series.join('\n'));
    assert.match(
      series[0],
      /status_code="200",classification="failure",grpc_status="",error="i\/o"\}$/,
    );
    assert.equal(map.get(series[0]), 1);
  } finally {
    await p.stop();
    cut.close();
  }
});

test('HTTP/1 headers pass as written: case, order and repeats kept, hop-by-hop dropped', async () => {
  // The app answers with the request head it received, and repeated, mixed-case headers.
  const heads: string[] = [];
  const echo = net.createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      heads.push(buf.slice(0, end));
      buf = buf.slice(end + 4);
      s.write(
        'HTTP/1.1 200 OK\r\nX-Multi: a\r\nSet-Cookie: s=1\r\nSet-Cookie: t=2\r\n' +
          'Keep-Alive: timeout=99\r\nContent-Length: 2\r\n\r\nok',
      );
    });
    s.on('error', () => {});
  });
  const echoAddr2 = await listen(echo);
  const p = new Proxy(options({ inboundApp: echoAddr2 }));
  const a = await p.start();
  try {
    const reply = await new Promise<string>((resolve, reject) => {
      const c = net.connect(port(a.inbound), '127.0.0.1', () =>
        c.write(
          'GET /h HTTP/1.1\r\nHost: echo.test\r\nX-Trace: 1\r\nx-trace: 2\r\n' +
            'Connection: keep-alive, X-Hop\r\nProxy-Connection: x\r\nTE: trailers\r\n\r\n' +
            // HTTP/1.0 without Host: the proxy names the target itself.
            'GET /old HTTP/1.0\r\nX-Old: 1\r\n\r\n',
        ),
      );
      let got = '';
      c.on('data', (d) => (got += d.toString('latin1')));
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    assert.equal(heads.length, 2, heads.join('\n---\n'));
    assert.match(
      heads[0],
      /^GET \/h HTTP\/1\.1\r\nHost: echo\.test\r\nX-Trace: 1\r\nx-trace: 2(\r\n|$)/,
    );
    assert.doesNotMatch(heads[0], /Proxy-Connection|TE: trailers/i);
    assert.match(heads[1], /^GET \/old HTTP\/1\.1\r\nX-Old: 1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
    const first = reply.slice(0, reply.indexOf('\r\n\r\n'));
    assert.match(first, /\r\nX-Multi: a\r\nSet-Cookie: s=1\r\nSet-Cookie: t=2\r\n/);
    assert.doesNotMatch(first, /timeout=99/);
    assert.equal(reply.match(/HTTP\/1\.1 200 OK\r\n/g)?.length, 2, reply);
  } finally {
    await p.stop();
    echo.close();
  }
});

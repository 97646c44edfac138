import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HistogramFamily, LATENCY_BOUNDS_MS, Registry, ScalarFamily } from './metrics.js';
import { LabelSets } from './labels.js';
import { ProxyMetrics, classify, errnoOf } from './recorder.js';

const BUILD = { date: '', git_sha: '', profile: 'test', vendor: 'meshmetrics', version: '0.0.0' };

test('histogram buckets are cumulative with exactly the 25 Linkerd bounds and +Inf', () => {
  const r = new Registry(() => 0, 0);
  const h = r.register(new HistogramFamily('response_latency_ms', 'help', LATENCY_BOUNDS_MS));
  for (const v of [0.3, 1, 1.01, 45, 50, 50000, 60000]) h.observe('k', ['a', 'b'], v, 0);
  const lines = r
    .render()
    .toString()
    .split('\n')
    .filter((l) => l.startsWith('response_latency_ms_bucket'));
  assert.equal(lines.length, 26);
  const got = Object.fromEntries(
    lines.map((l) => [/le="([^"]+)"/.exec(l)![1], Number(l.slice(l.lastIndexOf(' ') + 1))]),
  );
  assert.deepEqual(Object.keys(got), [...LATENCY_BOUNDS_MS.map(String), '+Inf']);
  const cases: [string, number][] = [
    ['1', 2],
    ['2', 3],
    ['40', 3],
    ['50', 5],
    ['40000', 5],
    ['50000', 6],
    ['+Inf', 7],
  ];
  for (const [le, want] of cases) assert.equal(got[le], want, `le=${le}`);
  assert.match(
    r.render().toString(),
    /response_latency_ms_sum\{a="b"\} 110097.31\nresponse_latency_ms_count\{a="b"\} 7\n/,
  );
});

test('idle series are evicted after retain-idle; open connections are kept', () => {
  let now = 0;
  const r = new Registry(() => now, 10 * 60_000);
  const c = r.register(new ScalarFamily('request_total', 'counter', 'h'));
  const g = r.register(new ScalarFamily('tcp_open_connections', 'gauge', 'h', true));
  c.add('old', ['x', 'old'], 1, now);
  g.add('open', ['x', 'open'], 1, now);
  g.add('closed', ['x', 'closed'], 0, now);
  now = 9 * 60_000;
  c.add('new', ['x', 'new'], 1, now);
  assert.equal(r.evictIdle(), 0);
  now = 10 * 60_000 + 1;
  assert.equal(r.evictIdle(), 2); // 'old' and the zero gauge
  assert.equal(c.valueOf('old'), undefined);
  assert.equal(c.valueOf('new'), 1);
  assert.equal(g.valueOf('open'), 1);
  // An evicted counter comes back from zero, as in Linkerd (#6222).
  c.add('old', ['x', 'old'], 1, now);
  assert.equal(c.valueOf('old'), 1);
});

test('drop-labels merges series that differ only in a dropped label', () => {
  const sets = new LabelSets(['authority', 'target_addr']);
  const a = sets.make([
    'direction',
    'outbound',
    'authority',
    'a.test:80',
    'target_addr',
    '10.0.0.1:80',
    'target_port',
    '80',
  ]);
  const b = sets.make([
    'direction',
    'outbound',
    'authority',
    'b.test:80',
    'target_addr',
    '10.0.0.2:80',
    'target_port',
    '80',
  ]);
  assert.equal(a.key, b.key);
  assert.deepEqual(a.pairs, ['direction', 'outbound', 'target_port', '80']);
  const m = new ProxyMetrics({ clock: () => 0, buildInfo: BUILD, processMetrics: false });
  m.request(a);
  m.request(b);
  assert.match(
    m.render().toString(),
    /^request_total\{direction="outbound",target_port="80"\} 2$/m,
  );
});

test('classification and errno', () => {
  const cases: [number, string, string][] = [
    [200, '', 'success'],
    [404, '', 'success'],
    [499, '', 'success'],
    [500, '', 'failure'],
    [503, '', 'failure'],
    [200, '0', 'success'],
    [200, '5', 'failure'],
    [200, '13', 'failure'],
  ];
  for (const [status, grpc, want] of cases)
    assert.equal(classify(status, grpc), want, `${status} grpc=${grpc}`);
  assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'ECONNRESET' })), 'ECONNRESET');
  assert.equal(errnoOf(Object.assign(new Error('x'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })), '');
  assert.equal(errnoOf(null), '');
});

test('exposition: families in order, response_total with all classification labels, tcp_close with errno', () => {
  const m = new ProxyMetrics({ clock: () => 0, buildInfo: BUILD, processMetrics: false });
  const sets = new LabelSets();
  const ep = sets.make(['direction', 'inbound', 'authority', 'a']);
  m.request(ep);
  m.responseStart(ep, 200, 3.5);
  m.responseEnd(ep, 200, '', '');
  m.responseEnd(ep, 200, '', 'i/o');
  const h = m.tcpOpen(sets.make(['direction', 'inbound', 'peer', 'src']));
  m.tcpClose(h, 'ECONNRESET', 10, 20);
  m.tcpClose(h, '', 1, 1); // a second close of the same handle is ignored
  m.error('outbound', 'http', 'i/o');
  const text = m.render().toString();
  const want = [
    'request_total{direction="inbound",authority="a"} 1',
    'response_latency_ms_bucket{direction="inbound",authority="a",status_code="200",le="4"} 1',
    'response_latency_ms_sum{direction="inbound",authority="a",status_code="200"} 3.5',
    'response_total{direction="inbound",authority="a",status_code="200",classification="success",grpc_status="",error=""} 1',
    'response_total{direction="inbound",authority="a",status_code="200",classification="failure",grpc_status="",error="i/o"} 1',
    'tcp_open_total{direction="inbound",peer="src"} 1',
    'tcp_open_connections{direction="inbound",peer="src"} 0',
    'tcp_read_bytes_total{direction="inbound",peer="src"} 10',
    'tcp_write_bytes_total{direction="inbound",peer="src"} 20',
    'tcp_close_total{direction="inbound",peer="src",errno="ECONNRESET"} 1',
    'outbound_http_errors_total{error="i/o"} 1',
    'proxy_build_info{date="",git_sha="",profile="test",vendor="meshmetrics",version="0.0.0"} 1',
  ];
  let at = -1;
  for (const line of want) {
    const i = text.indexOf(line + '\n');
    assert.ok(i > at, `${line} missing or out of order in\n${text}`);
    at = i;
  }
  for (const f of [
    'request_total counter',
    'response_latency_ms histogram',
    'tcp_open_connections gauge',
    'inbound_tcp_errors_total counter',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${f}$`, 'm'));
  }
});

test('open connections show their bytes at each render; close adds only the rest', () => {
  const m = new ProxyMetrics({ clock: () => 0, buildInfo: BUILD, processMetrics: false });
  const ls = new LabelSets().make(['direction', 'outbound', 'peer', 'dst']);
  const sock = { bytesRead: 100, bytesWritten: 7 };
  const h = m.tcpOpen(ls, sock);
  const read = (): string =>
    /^tcp_read_bytes_total\{[^}]*\} (\S+)$/m.exec(m.render().toString())?.[1] ?? 'absent';
  assert.equal(read(), '100');
  sock.bytesRead = 250;
  assert.equal(read(), '250');
  m.tcpClose(h, '', 300, 9);
  assert.equal(read(), '300');
  assert.match(
    m.render().toString(),
    /^tcp_write_bytes_total\{direction="outbound",peer="dst"\} 9$/m,
  );
  assert.match(
    m.render().toString(),
    /^tcp_open_connections\{direction="outbound",peer="dst"\} 0$/m,
  );
});

test('evicted series take their label-set ids along; a held set records without duplicates', () => {
  let now = 0;
  const sets = new LabelSets();
  const m = new ProxyMetrics({
    clock: () => now,
    retainIdleMs: 60_000,
    buildInfo: BUILD,
    processMetrics: false,
    labelSets: sets,
  });
  const exchange = (ep: ReturnType<LabelSets['make']>, status = 200): void => {
    m.request(ep);
    m.responseStart(ep, status, 3);
    m.responseEnd(ep, status, '', '');
  };
  const eps = Array.from({ length: 100 }, (_, i) =>
    sets.make(['direction', 'inbound', 'authority', `h${i}.test:80`]),
  );
  for (const ep of eps) exchange(ep);
  const conn = sets.make(['direction', 'inbound', 'peer', 'src']);
  const open = m.tcpOpen(conn); // an open connection keeps its set
  const closedConn = sets.make(['direction', 'inbound', 'peer', 'dst']);
  m.tcpClose(m.tcpOpen(closedConn), '', 1, 1);
  now = 30_000;
  exchange(eps[0]);
  assert.equal(sets.size, 102);

  now = 60_001;
  m.render();
  assert.equal(sets.size, 2, 'only the sets of live series keep an id');
  assert.deepEqual(
    [eps[0].retired, eps[1].retired, conn.retired, closedConn.retired],
    [false, true, false, true],
  );

  // A response in flight on a retired set and a new request for the same labels share one
  // fresh id, never the old one (ids are not reused), so no series appears twice.
  m.responseStart(eps[1], 503, 2);
  const again = sets.make(eps[1].pairs);
  assert.notEqual(again.key, eps[1].key);
  assert.ok(parseInt(again.key, 36) > parseInt(closedConn.key, 36));
  m.request(again);
  m.responseEnd(eps[1], 503, '', '');
  const text = m.render().toString();
  const count = (re: RegExp): number => text.split('\n').filter((l) => re.test(l)).length;
  assert.equal(count(/^request_total\{direction="inbound",authority="h1\.test:80"\} 1$/), 1);
  assert.equal(count(/^response_total\{[^}]*authority="h1\.test:80"[^}]*\} 1$/), 1);
  assert.equal(count(/^response_latency_ms_count\{[^}]*authority="h1\.test:80"[^}]*\} 1$/), 1);
  assert.equal(count(/authority="h2\.test:80"/), 0);
  assert.equal(sets.size, 3);

  m.tcpClose(open, '', 0, 0);
  now = 200_000;
  m.render();
  assert.equal(sets.size, 0, 'everything idle: the table is empty');
});

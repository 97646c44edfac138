/**
 * The HTTP API, /federate, /metrics and the /-/ endpoints against an in-process server over
 * a TSDB head filled with known data. Expected texts follow Prometheus 2.42
 * (reference/prometheus-api.md).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Labels } from '../src/model/labels.js';
import { STALE_NAN } from '../src/model/stale.js';
import { Engine } from '../src/promql/index.js';
import { Head } from '../src/tsdb/head.js';
import {
  formatJsonTimestamp,
  formatJsonValue,
  formatScalarTimestamp,
  formatScalarValue,
  parseDuration,
  parseTime,
  WebServer,
  type Lifecycle,
} from '../src/web/index.js';

const T0 = 1_700_000_000_000;

async function fill(head: Head): Promise<void> {
  const app = head.appender();
  const add = (ls: Record<string, string>, t: number, v: number): void => {
    app.append(0, Labels.from(ls), t, v);
  };
  for (const dt of [-60_000, -30_000, 0]) {
    add({ __name__: 'up', job: 'linkerd-proxy', instance: 'a:4191' }, T0 + dt, 1);
    add(
      { __name__: 'request_total', job: 'linkerd-proxy', instance: 'a:4191', direction: 'inbound' },
      T0 + dt,
      100 + (dt + 60_000) / 1000,
    );
  }
  add(
    { __name__: 'request_total', job: 'linkerd-proxy', instance: 'b:4191', direction: 'inbound' },
    T0 - 30_000,
    5,
  );
  add(
    { __name__: 'request_total', job: 'linkerd-proxy', instance: 'b:4191', direction: 'inbound' },
    T0,
    STALE_NAN,
  );
  add({ __name__: 'tiny', job: 'linkerd-controller' }, T0 - 1000, 1e-7);
  add({ __name__: 'huge', job: 'linkerd-controller', instance: 'c:9995' }, T0 - 1000, 1e21);
  add({ __name__: 'gone', job: 'linkerd-proxy' }, T0 - 10 * 60_000, 3);
  add({ __name__: 'future', job: 'linkerd-proxy' }, T0 + 60_000, 9);
  add({ __name__: 'with_upper', Zone: 'eu', job: 'linkerd-proxy' }, T0 - 1000, 7);
  add({ __name__: 'bad.name', job: 'linkerd-proxy' }, T0 - 1000, 8);
  await app.commit();
}

const head = new Head();
await fill(head);
let reloads = 0;
let quits = 0;
const lifecycle: Lifecycle = {
  reload: async () => {
    reloads++;
    return reloads === 1;
  },
  quit: () => void quits++,
};
const server = new WebServer({
  queryable: head,
  engine: new Engine(),
  now: () => T0,
  lookbackDeltaMs: 5 * 60_000,
  externalLabels: () => ({ cluster: 'lab' }),
  head,
  enableLifecycle: true,
  lifecycle,
  selfMetrics: [() => head.metrics()],
  configYaml: () => 'global:\n  scrape_interval: 1m\n',
  flags: () => ({ 'web.enable-admin-api': 'false' }),
});
const { port } = await server.listen('127.0.0.1:0');
after(() => server.close());

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  path: string,
  opts: { method?: string; form?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.form !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    const req = request(
      { host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let b = Buffer.concat(chunks);
          if (res.headers['content-encoding'] === 'gzip') b = gunzipSync(b);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.form);
  });
}

const q = encodeURIComponent;

// Both layouts were checked against a live 2.42 (test/federate-prometheus.test.ts).
test('formats vector and matrix points as 2.42 (exponent for tiny and huge, padded ms)', () => {
  const values: [number, string][] = [
    [1, '1'],
    [1.5, '1.5'],
    [123456789.5, '123456789.5'],
    [1e-7, '1e-07'],
    [1e-6, '0.000001'],
    [1e21, '1e+21'],
    [1.5e300, '1.5e+300'],
    [1e20, '100000000000000000000'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [STALE_NAN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ];
  for (const [v, want] of values) assert.equal(formatJsonValue(v), want, String(v));
  const times: [number, string][] = [
    [1_700_000_000_000, '1700000000'],
    [1_700_000_000_123, '1700000000.123'],
    [1_700_000_000_120, '1700000000.120'],
    [1_700_000_000_005, '1700000000.005'],
    [-1500, '-1.500'],
    [0, '0'],
  ];
  for (const [ms, want] of times) assert.equal(formatJsonTimestamp(ms), want);
});

test('formats scalar results as 2.42 (always positional, shortest-float seconds)', () => {
  const values: [number, string][] = [
    [1.5, '1.5'],
    [1e-7, '0.0000001'],
    [-1.5e-7, '-0.00000015'],
    [1.2345e-10, '0.00000000012345'],
    [1e21, '1000000000000000000000'],
    [1.5e22, '15000000000000000000000'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
  ];
  for (const [v, want] of values) assert.equal(formatScalarValue(v), want, String(v));
  const times: [number, string][] = [
    [1_700_000_000_000, '1700000000'],
    [1_700_000_000_120, '1700000000.12'],
    [1_700_000_000_005, '1700000000.005'],
    [-1500, '-1.5'],
  ];
  for (const [ms, want] of times) assert.equal(formatScalarTimestamp(ms), want);
});

test('parses timestamps and durations as the API does', () => {
  const times: [string, number | string][] = [
    ['1700000000', 1_700_000_000_000],
    ['1700000000.123', 1_700_000_000_123],
    ['1700000000.1234', 1_700_000_000_123],
    ['2023-11-14T22:13:20.123Z', 1_700_000_000_123],
    ['2023-11-15T00:13:20+02:00', 1_700_000_000_000],
    ['', 'cannot parse "" to a valid timestamp'],
    ['yesterday', 'cannot parse "yesterday" to a valid timestamp'],
  ];
  for (const [s, want] of times) {
    if (typeof want === 'number') assert.equal(parseTime(s), want, s);
    else assert.throws(() => parseTime(s), { message: want });
  }
  assert.ok(parseTime('-292273086-05-16T16:47:06Z') < -9e18);
  assert.ok(parseTime('292277025-08-18T07:12:54.999999999Z') > 9e18);
  const durs: [string, number | string][] = [
    ['15', 15_000],
    ['0.5', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['100ms', 100],
    ['1ns', 'cannot parse "1ns" to a valid duration'],
    ['30s1m', 'cannot parse "30s1m" to a valid duration'],
  ];
  for (const [s, want] of durs) {
    if (typeof want === 'number') assert.equal(parseDuration(s), want, s);
    else assert.throws(() => parseDuration(s), { message: want });
  }
});

/** Status, errorType and error text of API failures (messages as observed on 2.42). */
const errorCases: {
  name: string;
  path: string;
  status: number;
  type: string;
  error: string | RegExp;
}[] = [
  {
    name: 'instant parse error carries the parameter prefix',
    path: `/api/v1/query?query=${q('sum(up')}`,
    status: 400,
    type: 'bad_data',
    error: /^invalid parameter "query": 1:\d+: parse error: /,
  },
  {
    name: 'range parse error comes without the prefix',
    path: `/api/v1/query_range?query=${q('sum(up')}&start=0&end=10&step=1`,
    status: 400,
    type: 'bad_data',
    error: /^1:\d+: parse error: /,
  },
  {
    name: 'missing start',
    path: `/api/v1/query_range?query=up&end=10&step=1`,
    status: 400,
    type: 'bad_data',
    error: 'invalid parameter "start": cannot parse "" to a valid timestamp',
  },
  {
    name: 'end before start',
    path: `/api/v1/query_range?query=up&start=10&end=5&step=1`,
    status: 400,
    type: 'bad_data',
    error: 'invalid parameter "end": end timestamp must not be before start time',
  },
  {
    name: 'zero step',
    path: `/api/v1/query_range?query=up&start=0&end=5&step=0`,
    status: 400,
    type: 'bad_data',
    error:
      'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
  },
  {
    name: 'too many points',
    path: `/api/v1/query_range?query=up&start=0&end=11001&step=1`,
    status: 400,
    type: 'bad_data',
    error:
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
  },
  {
    name: 'bad time of an instant query',
    path: `/api/v1/query?query=up&time=x`,
    status: 400,
    type: 'bad_data',
    error: `invalid parameter "time": Invalid time value for 'time': cannot parse "x" to a valid timestamp`,
  },
  {
    name: 'bad timeout',
    path: `/api/v1/query?query=up&timeout=1ns`,
    status: 400,
    type: 'bad_data',
    error: 'invalid parameter "timeout": cannot parse "1ns" to a valid duration',
  },
  {
    name: 'series without match[]',
    path: `/api/v1/series`,
    status: 400,
    type: 'bad_data',
    error: 'no match[] parameter provided',
  },
  {
    name: 'series with only empty matchers',
    path: `/api/v1/series?match[]=${q('{__name__=~".*"}')}`,
    status: 400,
    type: 'bad_data',
    error: 'invalid parameter "match[]": match[] must contain at least one non-empty matcher',
  },
  {
    name: 'invalid label name',
    path: `/api/v1/label/a-b/values`,
    status: 400,
    type: 'bad_data',
    error: 'invalid label name: "a-b"',
  },
  {
    name: 'runtime error is execution (422)',
    path: `/api/v1/query?query=${q('{job="linkerd-controller"} + on(job) {job="linkerd-controller"}')}&time=${T0 / 1000}`,
    status: 422,
    type: 'execution',
    error: /many-to-many matching not allowed/,
  },
  {
    name: 'admin API disabled is unavailable (500)',
    path: `/api/v1/admin/tsdb/clean_tombstones`,
    status: 500,
    type: 'unavailable',
    error: 'admin APIs disabled',
  },
];

for (const tc of errorCases) {
  test(`API error: ${tc.name}`, async () => {
    const method = tc.path.includes('/admin/') ? 'POST' : 'GET';
    const r = await call(tc.path, { method });
    assert.equal(r.status, tc.status, r.body);
    assert.equal(r.headers['content-type'], 'application/json');
    const j = JSON.parse(r.body) as {
      status: string;
      errorType: string;
      error: string;
      data?: unknown;
    };
    assert.equal(j.status, 'error');
    assert.equal(j.errorType, tc.type);
    if (typeof tc.error === 'string') assert.equal(j.error, tc.error);
    else assert.match(j.error, tc.error);
    assert.equal('data' in j, false);
  });
}

test('range of exactly 11000 steps (11001 points) is accepted', async () => {
  const r = await call(`/api/v1/query_range?query=1&start=0&end=11000&step=1`);
  assert.equal(r.status, 200);
  const j = JSON.parse(r.body) as { data: { result: { values: unknown[] }[] } };
  assert.equal(j.data.result[0].values.length, 11001);
});

test('instant query: vector shape, exact body, value strings', async () => {
  const r = await call(`/api/v1/query?query=${q('up')}&time=${T0 / 1000}`);
  assert.equal(r.status, 200);
  assert.equal(
    r.body,
    '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","instance":"a:4191","job":"linkerd-proxy"},"value":[1700000000,"1"]}]}}',
  );
  const cases: [string, string][] = [
    ['tiny', '"1e-07"'],
    ['huge', '"1e+21"'],
    ['scalar(up) / 3', '"0.3333333333333333"'],
  ];
  for (const [expr, want] of cases) {
    const s = await call(`/api/v1/query?query=${q(expr)}&time=${T0 / 1000}`);
    assert.ok(s.body.includes(want), `${expr}: ${s.body}`);
  }
});

test('instant query: scalar and string results, time defaults to now, fractional time', async () => {
  let r = await call(`/api/v1/query?query=${q('1.5')}&time=1700000000.120`);
  assert.equal(
    r.body,
    '{"status":"success","data":{"resultType":"scalar","result":[1700000000.12,"1.5"]}}',
  );
  r = await call(`/api/v1/query?query=${q('"a<b"')}`);
  assert.equal(
    r.body,
    '{"status":"success","data":{"resultType":"string","result":[1700000000,"a\\u003cb"]}}',
  );
});

test('stale series vanish from instant queries', async () => {
  const r = await call(`/api/v1/query?query=${q('request_total')}&time=${T0 / 1000}`);
  const j = JSON.parse(r.body) as { data: { result: { metric: Record<string, string> }[] } };
  assert.deepEqual(
    j.data.result.map((x) => x.metric.instance),
    ['a:4191'],
  );
});

test('range query: matrix shape with points at start + k·step', async () => {
  const form = `query=${q('request_total{instance="a:4191"}')}&start=${(T0 - 60_000) / 1000}&end=${T0 / 1000}&step=30s`;
  const r = await call('/api/v1/query_range', { method: 'POST', form });
  assert.equal(r.status, 200, r.body);
  assert.equal(
    r.body,
    '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"request_total","direction":"inbound","instance":"a:4191","job":"linkerd-proxy"},"values":[[1699999940,"100"],[1699999970,"130"],[1700000000,"160"]]}]}}',
  );
});

test('a query over its timeout parameter is a 503 timeout', async () => {
  const r = await call(
    `/api/v1/query_range?query=${q('sum(rate(request_total[5m])) + sum(up)')}&start=0&end=${T0 / 1000}&step=${Math.ceil(T0 / 1000 / 11000)}&timeout=0.001`,
  );
  assert.equal(r.status, 503, r.body);
  const j = JSON.parse(r.body) as { errorType: string; error: string };
  assert.deepEqual([j.errorType, j.error], ['timeout', 'query timed out in expression evaluation']);
});

test('stats=all adds a stats object', async () => {
  const r = await call(`/api/v1/query?query=up&time=${T0 / 1000}&stats=all`);
  const j = JSON.parse(r.body) as { data: { stats: { timings: { evalTotalTime: number } } } };
  assert.equal(typeof j.data.stats.timings.evalTotalTime, 'number');
});

test('series, labels and label values', async () => {
  const cases: { path: string; want: unknown }[] = [
    {
      path: `/api/v1/series?match[]=up&match[]=${q('{__name__="up"}')}&match[]=tiny`,
      want: [
        { __name__: 'tiny', job: 'linkerd-controller' },
        { __name__: 'up', instance: 'a:4191', job: 'linkerd-proxy' },
      ],
    },
    { path: `/api/v1/labels?match[]=up`, want: ['__name__', 'instance', 'job'] },
    { path: `/api/v1/labels`, want: ['Zone', '__name__', 'direction', 'instance', 'job'] },
    { path: `/api/v1/label/job/values`, want: ['linkerd-controller', 'linkerd-proxy'] },
    { path: `/api/v1/label/job/values?match[]=tiny&match[]=huge`, want: ['linkerd-controller'] },
    { path: `/api/v1/label/nope/values`, want: [] },
    { path: `/api/v1/query_exemplars?query=up`, want: [] },
    {
      path: `/api/v1/format_query?query=${q('sum by(a)(rate(x[5m]))')}`,
      want: 'sum by (a) (rate(x[5m]))',
    },
    {
      path: `/api/v1/format_query?query=${q('a+on(b)group_left(c)x{y="1",z=~"2"} offset 5m')}`,
      want: 'a + on (b) group_left (c) x{y="1",z=~"2"} offset 5m',
    },
    { path: `/api/v1/rules`, want: { groups: [] } },
    { path: `/api/v1/alerts`, want: { alerts: [] } },
    { path: `/api/v1/metadata`, want: {} },
    { path: `/api/v1/targets`, want: { activeTargets: [], droppedTargets: [] } },
    { path: `/api/v1/scrape_pools`, want: { scrapePools: [] } },
    { path: `/api/v1/status/flags`, want: { 'web.enable-admin-api': 'false' } },
    { path: `/api/v1/status/config`, want: { yaml: 'global:\n  scrape_interval: 1m\n' } },
    { path: `/api/v1/status/walreplay`, want: { min: 0, max: 0, current: 0 } },
  ];
  for (const tc of cases) {
    const r = await call(tc.path);
    assert.equal(r.status, 200, `${tc.path}: ${r.body}`);
    const j = JSON.parse(r.body) as { status: string; data: unknown };
    assert.equal(j.status, 'success');
    assert.deepEqual(j.data, tc.want, tc.path);
  }
});

test('status/tsdb counts the head', async () => {
  const r = await call('/api/v1/status/tsdb');
  const j = JSON.parse(r.body) as {
    data: {
      headStats: { numSeries: number };
      seriesCountByMetricName: { name: string; value: number }[];
    };
  };
  assert.equal(j.data.headStats.numSeries, head.seriesCount());
  assert.deepEqual(j.data.seriesCountByMetricName[0], { name: 'request_total', value: 2 });
});

test('gzip when asked', async () => {
  const r = await call(`/api/v1/query?query=up&time=${T0 / 1000}`, {
    headers: { 'Accept-Encoding': 'gzip' },
  });
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.match(r.body, /^\{"status":"success"/);
});

test('unknown paths and methods', async () => {
  assert.deepEqual(await call('/api/v1/nope').then((r) => [r.status, r.body]), [
    404,
    '404 page not found\n',
  ]);
  assert.equal((await call('/nope')).status, 404);
  assert.equal((await call('/api/v1/targets', { method: 'POST' })).status, 405);
});

test('federate: union, newest sample, stale and old series omitted, external labels, instance=""', async () => {
  const r = await call(
    `/federate?match[]=${q('{job="linkerd-proxy"}')}&match[]=${q('{job="linkerd-controller"}')}&match[]=up`,
  );
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(
    r.body,
    [
      '# TYPE huge untyped',
      'huge{instance="c:9995",job="linkerd-controller",cluster="lab"} 1e+21 1699999999000',
      '# TYPE request_total untyped',
      'request_total{direction="inbound",instance="a:4191",job="linkerd-proxy",cluster="lab"} 160 1700000000000',
      '# TYPE tiny untyped',
      'tiny{job="linkerd-controller",cluster="lab",instance=""} 1e-07 1699999999000',
      '# TYPE up untyped',
      'up{instance="a:4191",job="linkerd-proxy",cluster="lab"} 1 1700000000000',
      '# TYPE with_upper untyped',
      'with_upper{Zone="eu",job="linkerd-proxy",cluster="lab",instance=""} 7 1699999999000',
      '',
    ].join('\n'),
  );
});

test('federate: all series through {__name__=~".*"}, POST form, no match[], bad selector', async () => {
  const all = await call('/federate', { method: 'POST', form: `match[]=${q('{__name__=~".*"}')}` });
  assert.equal(all.status, 200);
  assert.equal(all.body.split('\n').filter((l) => l.startsWith('# TYPE')).length, 5);
  const none = await call('/federate');
  assert.deepEqual([none.status, none.body], [200, '']);
  const bad = await call(`/federate?match[]=${q('up{')}`);
  assert.equal(bad.status, 400);
  assert.match(bad.body, /parse error/);
});

test('/metrics serves process and head metrics; /-/ endpoints', async () => {
  const m = await call('/metrics');
  assert.equal(m.status, 200);
  for (const name of [
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'process_start_time_seconds',
    'process_open_fds',
    'prometheus_tsdb_head_series',
  ]) {
    assert.match(m.body, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  const om = await call('/metrics', {
    headers: { Accept: 'application/openmetrics-text; version=1.0.0' },
  });
  assert.match(om.body, /# EOF\n$/);
  assert.deepEqual(await call('/-/healthy').then((r) => r.status), 200);
  assert.deepEqual(await call('/-/ready').then((r) => [r.status, r.body]), [
    200,
    'Prometheus Server is Ready.\n',
  ]);
  assert.deepEqual(await call('/-/reload').then((r) => [r.status, r.body]), [
    405,
    'Only POST or PUT requests allowed',
  ]);
  assert.equal((await call('/-/reload', { method: 'POST' })).status, 200);
  assert.equal((await call('/-/reload', { method: 'POST' })).status, 500);
  assert.equal((await call('/-/quit', { method: 'PUT' })).status, 200);
  assert.equal(quits, 1);
});

test('lifecycle and admin endpoints when not enabled', async () => {
  const s = new WebServer({
    queryable: head,
    engine: new Engine(),
    lookbackDeltaMs: 300_000,
    ready: () => false,
  });
  const a = await s.listen('127.0.0.1:0');
  try {
    const r = await fetch(`http://127.0.0.1:${a.port}/api/v1/query?query=up`);
    assert.deepEqual([r.status, await r.text()], [503, 'Service Unavailable']);
  } finally {
    await s.close();
  }
  const s2 = new WebServer({ queryable: head, engine: new Engine(), lookbackDeltaMs: 300_000 });
  const b = await s2.listen('127.0.0.1:0');
  try {
    const r = await fetch(`http://127.0.0.1:${b.port}/-/reload`, { method: 'POST' });
    assert.deepEqual([r.status, await r.text()], [403, 'Lifecycle API is not enabled.']);
  } finally {
    await s2.close();
  }
});

test('a query that throws inside the engine is answered and the server keeps serving', async () => {
  const s = new WebServer({
    queryable: { querier: () => Promise.reject(new Error('disk on fire')) },
    engine: new Engine(),
    lookbackDeltaMs: 300_000,
  });
  const a = await s.listen('127.0.0.1:0');
  try {
    const r = await fetch(`http://127.0.0.1:${a.port}/api/v1/query?query=up`);
    assert.ok(r.status === 422 || r.status === 500, String(r.status));
    const j = (await r.json()) as { status: string; error: string };
    assert.equal(j.status, 'error');
    assert.match(j.error, /disk on fire/);
    const ok = await fetch(`http://127.0.0.1:${a.port}/api/v1/query?query=1`);
    assert.equal(ok.status, 200);
  } finally {
    await s.close();
  }
});

test('targets, metadata and admin endpoints read the interfaces passed in', async () => {
  const L = (o: Record<string, string>): Labels => Labels.from(o);
  const deleted: string[] = [];
  const s = new WebServer({
    queryable: head,
    engine: new Engine(),
    lookbackDeltaMs: 300_000,
    enableAdminApi: true,
    admin: {
      deleteSeries: async (sets, mint, maxt) =>
        void deleted.push(
          `${sets.map((ms) => ms.map(String).join(',')).join(';')} ${mint} ${maxt}`,
        ),
      snapshot: async (skipHead) => `20231114T221320Z-${skipHead}`,
    },
    targets: {
      targets: () => [
        {
          scrapePool: 'linkerd-proxy',
          active: [
            {
              scrapePool: 'linkerd-proxy',
              scrapeUrl: 'http://10.0.0.1:4191/metrics',
              discoveredLabels: L({ __address__: '10.0.0.1:4191', job: 'linkerd-proxy' }),
              labels: L({ instance: '10.0.0.1:4191', job: 'linkerd-proxy' }),
              health: 'up',
              lastError: '',
              lastScrapeMs: 1_700_000_000_120,
              lastScrapeDurationMs: 12.5,
              scrapeIntervalMs: 10_000,
              scrapeTimeoutMs: 10_000,
            },
          ],
          dropped: [{ discoveredLabels: L({ __address__: '10.0.0.2:80', job: 'linkerd-proxy' }) }],
        },
        { scrapePool: 'node', active: [], dropped: [] },
      ],
    },
    metadata: {
      metadata: () => [
        {
          target: L({ instance: 'a', job: 'linkerd-proxy' }),
          metric: 'request_total',
          type: 'counter',
          help: 'Total requests.',
          unit: '',
        },
        {
          target: L({ instance: 'b', job: 'linkerd-proxy' }),
          metric: 'request_total',
          type: 'counter',
          help: 'Total requests.',
          unit: '',
        },
        {
          target: L({ instance: 'b', job: 'linkerd-proxy' }),
          metric: 'tcp_open_connections',
          type: 'gauge',
          help: 'Open.',
          unit: '',
        },
      ],
    },
  });
  const { port: p2 } = await s.listen('127.0.0.1:0');
  try {
    const get = async (path: string, method = 'GET'): Promise<[number, unknown]> => {
      const r = await fetch(`http://127.0.0.1:${p2}${path}`, { method });
      const text = await r.text();
      return [r.status, text === '' ? null : (JSON.parse(text) as { data: unknown }).data];
    };
    const active = {
      discoveredLabels: { __address__: '10.0.0.1:4191', job: 'linkerd-proxy' },
      labels: { instance: '10.0.0.1:4191', job: 'linkerd-proxy' },
      scrapePool: 'linkerd-proxy',
      scrapeUrl: 'http://10.0.0.1:4191/metrics',
      globalUrl: 'http://10.0.0.1:4191/metrics',
      lastError: '',
      lastScrape: '2023-11-14T22:13:20.12Z',
      lastScrapeDuration: 0.0125,
      health: 'up',
      scrapeInterval: '10s',
      scrapeTimeout: '10s',
    };
    const dropped = { discoveredLabels: { __address__: '10.0.0.2:80', job: 'linkerd-proxy' } };
    const cases: { path: string; method?: string; want: [number, unknown] }[] = [
      {
        path: '/api/v1/targets',
        want: [200, { activeTargets: [active], droppedTargets: [dropped] }],
      },
      {
        path: '/api/v1/targets?state=active',
        want: [200, { activeTargets: [active], droppedTargets: [] }],
      },
      {
        path: '/api/v1/targets?state=dropped',
        want: [200, { activeTargets: [], droppedTargets: [dropped] }],
      },
      {
        path: '/api/v1/targets?scrapePool=node',
        want: [200, { activeTargets: [], droppedTargets: [] }],
      },
      { path: '/api/v1/scrape_pools', want: [200, { scrapePools: ['linkerd-proxy', 'node'] }] },
      {
        path: '/api/v1/metadata',
        want: [
          200,
          {
            request_total: [{ type: 'counter', help: 'Total requests.', unit: '' }],
            tcp_open_connections: [{ type: 'gauge', help: 'Open.', unit: '' }],
          },
        ],
      },
      {
        path: '/api/v1/metadata?limit=1',
        want: [200, { request_total: [{ type: 'counter', help: 'Total requests.', unit: '' }] }],
      },
      {
        path: `/api/v1/targets/metadata?match_target=${q('{instance="b"}')}&metric=tcp_open_connections`,
        want: [
          200,
          [
            {
              target: { instance: 'b', job: 'linkerd-proxy' },
              type: 'gauge',
              help: 'Open.',
              unit: '',
            },
          ],
        ],
      },
      {
        path: `/api/v1/admin/tsdb/delete_series?match[]=up&start=1&end=2`,
        method: 'POST',
        want: [204, null],
      },
      {
        path: `/api/v1/admin/tsdb/snapshot?skip_head=true`,
        method: 'POST',
        want: [200, { name: '20231114T221320Z-true' }],
      },
      { path: `/api/v1/admin/tsdb/clean_tombstones`, method: 'PUT', want: [500, undefined] },
    ];
    for (const tc of cases) assert.deepEqual(await get(tc.path, tc.method), tc.want, tc.path);
    assert.deepEqual(deleted, ['__name__="up" 1000 2000']);
  } finally {
    await s.close();
  }
});

/**
 * A real Prometheus 2.42 federates from our /federate with the federation job of the
 * Linkerd docs (honor_labels, metrics_path /federate, match[] on the linkerd jobs); its
 * series and query results must then hold exactly our series and values. The same instant
 * and range queries, against it and against our API, must agree (it holds the same samples
 * at the same timestamps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../src/model/labels.js';
import { STALE_NAN } from '../src/model/stale.js';
import { Engine } from '../src/promql/index.js';
import { Head } from '../src/tsdb/head.js';
import { WebServer } from '../src/web/index.js';
import { requirePeer } from './support/peers.js';
import { startPrometheus, type RunningServer } from './support/servers.js';

interface VectorReply {
  data: {
    resultType: string;
    result: {
      metric: Record<string, string>;
      value?: [number, string];
      values?: [number, string][];
    }[];
  };
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url);
  const body = await r.text();
  assert.equal(r.status, 200, `${url}: ${body}`);
  return JSON.parse(body) as T;
}

/** A result keyed by label set (without `cluster`), for comparison. */
function keyed(res: VectorReply, dropCluster: boolean): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const r of res.data.result) {
    const metric = { ...r.metric };
    if (dropCluster) delete metric.cluster;
    m.set(JSON.stringify(Object.entries(metric).sort()), r.value ?? r.values);
  }
  return m;
}

test(
  'Prometheus 2.42 federates our series and answers queries as we do',
  { timeout: 60_000 },
  async (t) => {
    const prom = requirePeer(t, 'prometheus', 'prometheus');
    if (prom === null) return;
    const dir = mkdtempSync(join(tmpdir(), 'federate-prom-'));
    let prometheus: RunningServer | null = null;
    t.after(async () => {
      await prometheus?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    // Our data: recent samples (Prometheus ingests them with their own timestamps).
    const T = Math.floor(Date.now() / 1000) * 1000 - 5000;
    const head = new Head();
    const app = head.appender();
    const add = (ls: Record<string, string>, t: number, v: number): void =>
      void app.append(0, Labels.from(ls), t, v);
    const proxy = { job: 'linkerd-proxy', namespace: 'emojivoto' };
    for (const pod of ['web-1', 'vote-1', 'emoji-1']) {
      for (const dt of [-30_000, -15_000, 0]) {
        const base = { ...proxy, instance: `${pod}:4191`, pod, direction: 'inbound' };
        add(
          { __name__: 'request_total', ...base, tls: 'true' },
          T + dt,
          1000 + (dt + 30_000) / 100,
        );
        add({ __name__: 'response_latency_ms_bucket', ...base, le: '25' }, T + dt, 900.5);
        add({ __name__: 'response_latency_ms_bucket', ...base, le: '+Inf' }, T + dt, 1001);
        add({ __name__: 'tcp_open_connections', ...base, peer: 'src' }, T + dt, 3);
      }
    }
    add(
      {
        __name__: 'process_cpu_seconds_total',
        job: 'linkerd-controller',
        instance: 'destination:9996',
      },
      T,
      12.345678,
    );
    add(
      { __name__: 'tiny_ratio', job: 'linkerd-controller', instance: 'destination:9996' },
      T,
      1e-7,
    );
    // A recording-rule-like aggregate without instance: federated with instance="".
    add(
      { __name__: 'namespace:request_total:rate1m', job: 'linkerd-proxy', namespace: 'emojivoto' },
      T,
      0.25,
    );
    // Stale at T: omitted. Too old: omitted. Another job: not matched.
    add(
      {
        __name__: 'request_total',
        ...proxy,
        instance: 'gone-1:4191',
        pod: 'gone-1',
        direction: 'inbound',
        tls: 'true',
      },
      T - 15_000,
      7,
    );
    add(
      {
        __name__: 'request_total',
        ...proxy,
        instance: 'gone-1:4191',
        pod: 'gone-1',
        direction: 'inbound',
        tls: 'true',
      },
      T,
      STALE_NAN,
    );
    add({ __name__: 'old_total', ...proxy, instance: 'old:4191' }, T - 10 * 60_000, 1);
    add({ __name__: 'node_load1', job: 'node', instance: 'n1' }, T, 0.5);
    await app.commit();

    const engine = new Engine();
    const ours = new WebServer({
      queryable: head,
      engine,
      lookbackDeltaMs: 5 * 60_000,
      externalLabels: () => ({ cluster: 'lab' }),
    });
    const { port: ourPort } = await ours.listen('127.0.0.1:0');
    t.after(() => ours.close());

    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(
      cfg,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        'scrape_configs:',
        '  - job_name: linkerd',
        '    honor_labels: true',
        '    metrics_path: /federate',
        '    params:',
        "      'match[]':",
        `        - '{job="linkerd-proxy"}'`,
        `        - '{job="linkerd-controller"}'`,
        '    static_configs:',
        `      - targets: ['127.0.0.1:${ourPort}']`,
        '',
      ].join('\n'),
    );
    prometheus = await startPrometheus(null, prom, { configFile: cfg, dataDir: join(dir, 'data') });
    const { base, child, stderr } = prometheus;
    const ourBase = `http://127.0.0.1:${ourPort}`;
    const sel = encodeURIComponent('{job=~"linkerd-.*"}');

    // What we federate, as the scraper stores it: cluster appended, instance="" removed.
    const fed = await (
      await fetch(
        `${ourBase}/federate?match[]=${encodeURIComponent('{job="linkerd-proxy"}')}&match[]=${encodeURIComponent('{job="linkerd-controller"}')}`,
      )
    ).text();
    const expectedSeries = fed
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const name = l.slice(0, l.indexOf('{'));
        const labels: Record<string, string> = { __name__: name };
        for (const m of l
          .slice(l.indexOf('{') + 1, l.lastIndexOf('}'))
          .matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g)) {
          if (m[2] !== '') labels[m[1]] = m[2];
        }
        return JSON.stringify(Object.entries(labels).sort());
      })
      .sort();
    assert.equal(expectedSeries.length, 3 * 4 + 3);

    let got: Record<string, string>[] = [];
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      if (child.exitCode !== null) assert.fail(`prometheus exited: ${stderr()}`);
      try {
        const r = await fetch(`${base}/api/v1/series?match[]=${sel}`);
        if (!r.ok) continue;
        got = ((await r.json()) as { data: Record<string, string>[] }).data;
        if (got.length >= expectedSeries.length) break;
      } catch {
        // not up yet
      }
    }
    const gotKeys = got.map((l) => JSON.stringify(Object.entries(l).sort())).sort();
    assert.deepEqual(gotKeys, expectedSeries);

    // The same queries against both: instant at T and a little after, and a range over T.
    const queries = [
      '{job=~"linkerd-.*"}',
      'sum by (namespace) (request_total)',
      'histogram_quantile(0.5, sum by (le) (response_latency_ms_bucket))',
      'tiny_ratio * 3',
      'count(tcp_open_connections) by (peer)',
    ];
    for (const qs of queries) {
      const q = encodeURIComponent(qs);
      for (const at of [T, T + 20_000]) {
        const theirs = await getJson<VectorReply>(
          `${base}/api/v1/query?query=${q}&time=${at / 1000}`,
        );
        const mine = await getJson<VectorReply>(
          `${ourBase}/api/v1/query?query=${q}&time=${at / 1000}`,
        );
        assert.equal(theirs.data.result.length > 0, true, `${qs}: Prometheus has no result`);
        assert.deepEqual(keyed(theirs, true), keyed(mine, false), `instant ${qs} @${at}`);
      }
      const range = `start=${T / 1000}&end=${(T + 60_000) / 1000}&step=15`;
      const theirs = await getJson<VectorReply>(`${base}/api/v1/query_range?query=${q}&${range}`);
      const mine = await getJson<VectorReply>(`${ourBase}/api/v1/query_range?query=${q}&${range}`);
      assert.deepEqual(keyed(theirs, true), keyed(mine, false), `range ${qs}`);
    }

    // Bad requests: the same status, errorType and message from both.
    const bad = [
      `/api/v1/query?query=${encodeURIComponent('sum(up')}`,
      `/api/v1/query?query=${encodeURIComponent('up{')}`,
      `/api/v1/query?query=${encodeURIComponent('rate(up)')}`,
      '/api/v1/query?query=up&time=abc',
      '/api/v1/query?query=up&timeout=1ns',
      `/api/v1/query_range?query=${encodeURIComponent('sum(up')}&start=0&end=10&step=1`,
      '/api/v1/query_range?query=up&end=10&step=1',
      '/api/v1/query_range?query=up&start=10&end=5&step=1',
      '/api/v1/query_range?query=up&start=0&end=5&step=0',
      '/api/v1/query_range?query=up&start=0&end=5&step=-1',
      '/api/v1/query_range?query=up&start=0&end=11001&step=1',
      '/api/v1/query_range?query=up&start=0&end=5&step=abc',
      `/api/v1/query_range?query=${encodeURIComponent('up[5m]')}&start=0&end=5&step=1`,
      '/api/v1/series',
      `/api/v1/series?match[]=${encodeURIComponent('{__name__=~".*"}')}`,
      `/api/v1/series?match[]=${encodeURIComponent('up{')}`,
      `/api/v1/series?match[]=up&start=x`,
      '/api/v1/label/a-b/values',
      `/api/v1/labels?match[]=${encodeURIComponent('{a=""}')}`,
      `/api/v1/label/job/values?match[]=${encodeURIComponent('{a=~".*"}')}`,
      `/api/v1/label/job/values?match[]=${encodeURIComponent('up{')}`,
      `/api/v1/query?query=${encodeURIComponent('sum(rate(request_total[5m])) by (pod) / on() group_left sum(up)')}&time=${T / 1000}`,
      `/api/v1/admin/tsdb/snapshot`,
    ];
    // The parser's own wording after "parse error:" is the PromQL parser's business (it differs
    // for a few inputs: "unclosed left parenthesis", "… inside braces"); the API's part is
    // compared exactly.
    const answer = async (u: string): Promise<[number, unknown]> => {
      const r = await fetch(u, { method: u.includes('/admin/') ? 'POST' : 'GET' });
      const j = (await r.json()) as { errorType?: string; error?: string };
      return [r.status, [j.errorType, j.error?.replace(/(parse error: ).*/, '$1…')]];
    };
    const diffs: string[] = [];
    for (const path of bad) {
      const a = JSON.stringify(await answer(ourBase + path));
      const b = JSON.stringify(await answer(base + path));
      if (a !== b) diffs.push(`${path}\n  ours:   ${a}\n  theirs: ${b}`);
    }
    assert.deepEqual(diffs, []);

    // Successful answers whose bodies must be identical byte for byte.
    const bodyDiffs: string[] = [];
    const at = T / 1000;
    const same = [
      ...[
        '1.5',
        '"a<b&c"',
        '1e-7',
        '1e21',
        '-0',
        'NaN',
        'Inf',
        '-Inf',
        '123456789.5',
        '1/3',
        '0.1+0.2',
      ].map((e) => `/api/v1/query?query=${encodeURIComponent(e)}&time=${at}.120`),
      `/api/v1/query?query=${encodeURIComponent('count(request_total)')}&time=${at + 0.005}`,
      `/api/v1/query_range?query=${encodeURIComponent('sum(request_total) / 7')}&start=${at + 0.5}&end=${at + 30}&step=7.25`,
      `/api/v1/query_range?query=${encodeURIComponent('time()')}&start=${at}&end=${at + 10}&step=2.5`,
      `/api/v1/label/__name__/values?match[]=${encodeURIComponent('{job="linkerd-controller"}')}`,
      `/api/v1/label/pod/values?match[]=tcp_open_connections`,
      `/api/v1/series?match[]=${encodeURIComponent('{__name__=~"tcp_.*|nothing"}')}&match[]=nothing2`,
      ...[
        'sum by(a)(rate(x[5m]))',
        'a+on(b)group_left(c)x{y="1",z=~"2"} offset 5m',
        'topk(3, -x) unless y',
        'rate(x[1h30m:5m] @ 100)',
        'max without (le) (x) > bool 2',
      ].map((e) => `/api/v1/format_query?query=${encodeURIComponent(e)}`),
    ];
    for (const path of same) {
      const mine = await (await fetch(ourBase + path)).text();
      // Prometheus stores the external label it federated with; we don't hold it locally.
      const theirs = (await (await fetch(base + path)).text()).replaceAll('"cluster":"lab",', '');
      if (mine !== theirs) bodyDiffs.push(`${path}\n  ours:   ${mine}\n  theirs: ${theirs}`);
    }
    assert.deepEqual(bodyDiffs, []);

    // Status endpoints: the same shape (keys and value types).
    const shape = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.length > 0
          ? [shape(v[0])]
          : []
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .map(([k, x]) => [k, shape(x)])
                .sort(),
            )
          : typeof v;
    for (const path of [
      '/api/v1/status/buildinfo',
      '/api/v1/status/runtimeinfo',
      '/api/v1/status/tsdb',
      '/api/v1/status/walreplay',
      '/api/v1/scrape_pools',
    ]) {
      const mine = shape(((await (await fetch(ourBase + path)).json()) as { data: unknown }).data);
      const theirs = shape(((await (await fetch(base + path)).json()) as { data: unknown }).data);
      if (path.endsWith('scrape_pools'))
        assert.deepEqual(Object.keys(mine as object), Object.keys(theirs as object), path);
      else assert.deepEqual(mine, theirs, path);
    }
  },
);

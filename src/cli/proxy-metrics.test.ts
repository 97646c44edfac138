import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  endpointOfAddress,
  endpointsOfWorkload,
  filterFamilies,
  formatProxyResults,
  inFamilies,
  isAddress,
  obfuscateBody,
  obfuscateValue,
} from './proxy-metrics.js';
import type { ActiveTarget } from './prom-api.js';

test('isAddress and endpointOfAddress', () => {
  const f = (s: string, addr: boolean, url?: string) => {
    assert.equal(isAddress(s), addr, s);
    if (url) assert.equal(endpointOfAddress(s).url, url);
  };
  f('127.0.0.1:4191', true, 'http://127.0.0.1:4191/metrics');
  f('[::1]:4191', true, 'http://[::1]:4191/metrics');
  f('web-1.demo:4191', true, 'http://web-1.demo:4191/metrics');
  f('http://10.0.0.1:4191', true, 'http://10.0.0.1:4191/metrics');
  f('http://10.0.0.1:4191/other', true, 'http://10.0.0.1:4191/other');
  f('deploy/web', false);
  f('po/web-1', false);
});

test('endpointsOfWorkload picks, dedupes and sorts the targets of a workload', () => {
  const t = (
    pod: string,
    ns: string,
    labels: Record<string, string>,
    url: string,
    job = 'linkerd-proxy',
  ): ActiveTarget => ({
    discoveredLabels: {},
    labels: { job, namespace: ns, pod, instance: url, ...labels },
    scrapePool: job,
    scrapeUrl: url,
    health: 'up',
    lastError: '',
  });
  const targets = [
    t('web-b', 'demo', { deployment: 'web' }, 'http://b/metrics'),
    t('web-a', 'demo', { deployment: 'web' }, 'http://a/metrics'),
    t('web-a', 'demo', { deployment: 'web' }, 'http://a/metrics', 'other-job'),
    t('web-z', 'prod', { deployment: 'web' }, 'http://z/metrics'),
    t('db-0', 'demo', { statefulset: 'db' }, 'http://db/metrics'),
    t('cron-1', 'demo', { k8s_job: 'cron' }, 'http://cron/metrics'),
  ];
  const f = (target: string, ns: string, job: string, want: string[]) =>
    assert.deepEqual(
      endpointsOfWorkload(targets, target, ns, job).map((e) => `${e.pod} ${e.url}`),
      want,
      `${target} -n ${ns}`,
    );
  f('deploy/web', 'demo', '', ['web-a http://a/metrics', 'web-b http://b/metrics']);
  f('deploy/web', '', '', [
    'web-a http://a/metrics',
    'web-b http://b/metrics',
    'web-z http://z/metrics',
  ]);
  f('deploy/web', 'demo', 'other-job', ['web-a http://a/metrics']);
  f('sts/db', 'demo', '', ['db-0 http://db/metrics']);
  f('job/cron', 'demo', '', ['cron-1 http://cron/metrics']);
  f('po/web-b', 'demo', '', ['web-b http://b/metrics']);
  f('deploy/none', 'demo', '', []);
  assert.throws(() => endpointsOfWorkload(targets, 'deploy/', 'demo', ''), /TYPE\/NAME/);
  assert.throws(() => endpointsOfWorkload(targets, 'ns/demo', 'demo', ''), /not on namespaces/);
});

test('formatProxyResults frames each pod as linkerd does', () => {
  assert.equal(
    formatProxyResults([
      { pod: 'a', body: 'x 1\n', error: null },
      { pod: 'b', body: 'y 2', error: null },
      { pod: 'c', body: null, error: 'connection refused' },
    ]),
    '#\n# POD a (1 of 3)\n#\nx 1\n#\n# POD b (2 of 3)\n#\ny 2\n#\n# POD c (3 of 3)\n#\n# ERROR: connection refused\n',
  );
});

test('obfuscateValue is the first 4 bytes of SHA-256 in hex', () => {
  // sha256("") = e3b0c442…, sha256("abc") = ba7816bf…
  assert.equal(obfuscateValue(''), 'e3b0c442');
  assert.equal(obfuscateValue('abc'), 'ba7816bf');
});

const BODY = `# HELP request_total Total count of HTTP requests.
# TYPE request_total counter
request_total{direction="outbound",authority="web.demo.svc.cluster.local:8080",target_addr="10.0.0.1:8080",dst_service="web",dst_namespace="demo",server_id="web.demo.serviceaccount.identity.linkerd.cluster.local",tls="true"} 7
# HELP response_latency_ms Elapsed times.
# TYPE response_latency_ms histogram
response_latency_ms_bucket{direction="inbound",client_id="x",le="1"} 0
response_latency_ms_bucket{direction="inbound",client_id="x",le="+Inf"} 3
response_latency_ms_sum{direction="inbound",client_id="x"} 12
response_latency_ms_count{direction="inbound",client_id="x"} 3
# TYPE tcp_open_connections gauge
tcp_open_connections{direction="inbound",peer="src"} 2
`;

test('inFamilies and filterFamilies keep whole families', () => {
  const fam = new Set(['response_latency_ms', 'tcp_open_connections']);
  for (const [n, want] of [
    ['response_latency_ms_bucket', true],
    ['response_latency_ms', true],
    ['tcp_open_connections', true],
    ['request_total', false],
    ['response_latency', false],
  ] as const) {
    assert.equal(inFamilies(n, fam), want, n);
  }
  const out = filterFamilies(BODY, new Set(['request']));
  assert.equal(out, BODY.split('\n').slice(0, 3).join('\n') + '\n');
  assert.equal(filterFamilies(BODY, new Set(['nope'])), '');
});

test('obfuscateBody hashes the six labels, keeps the rest, and can filter', () => {
  const h = obfuscateValue;
  assert.equal(
    obfuscateBody(BODY, new Set(['request_total', 'response_latency_ms'])),
    '# HELP request_total Total count of HTTP requests.\n# TYPE request_total counter\n' +
      `request_total{authority="${h('web.demo.svc.cluster.local:8080')}",direction="outbound",dst_namespace="${h('demo')}",dst_service="${h('web')}",server_id="${h('web.demo.serviceaccount.identity.linkerd.cluster.local')}",target_addr="${h('10.0.0.1:8080')}",tls="true"} 7\n` +
      '# HELP response_latency_ms Elapsed times.\n# TYPE response_latency_ms histogram\n' +
      `response_latency_ms_bucket{client_id="${h('x')}",direction="inbound",le="1"} 0\n` +
      `response_latency_ms_bucket{client_id="${h('x')}",direction="inbound",le="+Inf"} 3\n` +
      `response_latency_ms_sum{client_id="${h('x')}",direction="inbound"} 12\n` +
      `response_latency_ms_count{client_id="${h('x')}",direction="inbound"} 3\n`,
  );
  assert.match(
    obfuscateBody(BODY, null),
    /^tcp_open_connections\{direction="inbound",peer="src"\} 2$/m,
  );
});

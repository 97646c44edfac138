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
import { ParseError } from '../model/errors.js';

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

test('obfuscateBody hashes the six labels in place, keeping order and empty values', () => {
  const h = obfuscateValue;
  assert.equal(
    obfuscateBody(BODY, new Set(['request_total', 'response_latency_ms'])),
    '# HELP request_total Total count of HTTP requests.\n# TYPE request_total counter\n' +
      `request_total{direction="outbound",authority="${h('web.demo.svc.cluster.local:8080')}",target_addr="${h('10.0.0.1:8080')}",dst_service="${h('web')}",dst_namespace="${h('demo')}",server_id="${h('web.demo.serviceaccount.identity.linkerd.cluster.local')}",tls="true"} 7\n` +
      '# HELP response_latency_ms Elapsed times.\n# TYPE response_latency_ms histogram\n' +
      `response_latency_ms_bucket{direction="inbound",client_id="${h('x')}",le="1"} 0\n` +
      `response_latency_ms_bucket{direction="inbound",client_id="${h('x')}",le="+Inf"} 3\n` +
      `response_latency_ms_sum{direction="inbound",client_id="${h('x')}"} 12\n` +
      `response_latency_ms_count{direction="inbound",client_id="${h('x')}"} 3\n`,
  );
  assert.match(
    obfuscateBody(BODY, null),
    /^tcp_open_connections\{direction="inbound",peer="src"\} 2$/m,
  );
  const cases: { name: string; line: string; want: string }[] = [
    {
      name: 'empty values stay; an empty obfuscated value is hashed as linkerd does',
      line: 'response_total{direction="inbound",authority="",grpc_status="",error=""} 1',
      want: `response_total{direction="inbound",authority="${h('')}",grpc_status="",error=""} 1`,
    },
    {
      name: 'the hash is of the unescaped value',
      line: 'x{dst_service="a\\"b\\\\c\\nd",other="q\\"r"} 1',
      want: `x{dst_service="${h('a"b\\c\nd')}",other="q\\"r"} 1`,
    },
    {
      name: 'blanks, a trailing comma, a timestamp and float formatting are kept',
      line: 'x{ client_id = "id" , le="0.5", } 1.50e+00 1700000000000',
      want: `x{ client_id = "${h('id')}" , le="0.5", } 1.50e+00 1700000000000`,
    },
    {
      name: 'no label set',
      line: 'process_cpu_seconds_total 0.25',
      want: 'process_cpu_seconds_total 0.25',
    },
    {
      name: 'a label-like value is not a label',
      line: 'x{a="authority=\\"z\\""} 1',
      want: 'x{a="authority=\\"z\\""} 1',
    },
  ];
  for (const tc of cases)
    assert.equal(obfuscateBody(tc.line + '\n', null), tc.want + '\n', tc.name);
  // Comments of any kind and a missing final newline pass through.
  assert.equal(obfuscateBody('# EOF', null), '# EOF');
  assert.equal(
    obfuscateBody('# UNIT x seconds\nx{authority="a"} 1', null),
    `# UNIT x seconds\nx{authority="${h('a')}"} 1`,
  );
});

test('obfuscateBody names the line and column of a malformed label set', () => {
  const cases = [
    {
      body: 'ok 1\nx{authority="a} 1\n',
      want: /unterminated value of label authority \(line 2, column 13\)/,
    },
    {
      body: 'x{authority=a} 1\n',
      want: /expected a quoted value for label authority \(line 1, column 13\)/,
    },
    { body: 'x{="a"} 1\n', want: /expected a label name \(line 1, column 3\)/ },
    {
      body: 'x{a="1" b="2"} 1\n',
      want: /expected "," or "}" after a label value \(line 1, column 9\)/,
    },
  ];
  for (const tc of cases) {
    assert.throws(
      () => obfuscateBody(tc.body, null),
      (err: Error) => err instanceof ParseError && tc.want.test(err.message),
      tc.body,
    );
  }
});

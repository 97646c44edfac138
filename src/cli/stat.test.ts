import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildStatQueries,
  formatStat,
  parseResources,
  promDuration,
  selectorMatchers,
  type StatOptions,
  type StatRow,
} from './stat.js';

const BASE: StatOptions = {
  resources: [],
  namespace: 'emojivoto',
  allNamespaces: false,
  windowMs: 60_000,
  to: null,
  toNamespace: '',
  from: null,
  fromNamespace: '',
  selector: '',
  accurate: false,
  clusterDomain: 'cluster.local',
};

test('parseResources', async (t) => {
  const f = (args: string[], want: string[]) =>
    t.test(args.join(' '), () =>
      assert.deepEqual(
        parseResources(args).map((r) => `${r.kind.kind}/${r.name}`),
        want,
      ),
    );
  await f(['deploy'], ['deployment/']);
  await f(['deployments/web'], ['deployment/web']);
  await f(['po', 'a', 'b'], ['pod/a', 'pod/b']);
  await f(
    ['sts/db', 'ds/agent', 'job/x', 'rc/y', 'rs/z'],
    ['statefulset/db', 'daemonset/agent', 'job/x', 'replicationcontroller/y', 'replicaset/z'],
  );
  await f(['ns'], ['namespace/']);
  await f(['svc/web', 'authority/web.ns:80'], ['service/web', 'authority/web.ns:80']);
  await t.test('rejects', () => {
    assert.throws(() => parseResources([]), /specify a resource type/);
    assert.throws(() => parseResources(['bogus']), /unknown resource type "bogus"/);
    assert.throws(() => parseResources(['deploy', 'po/x']), /cannot mix/);
    assert.throws(() => parseResources(['deploy/a', 'b']), /must be TYPE\/NAME/);
  });
});

test('promDuration', () => {
  for (const [ms, want] of [
    [60_000, '1m'],
    [3_600_000, '1h'],
    [90_000, '90s'],
    [1500, '1500ms'],
    [7_200_000, '2h'],
  ] as const) {
    assert.equal(promDuration(ms), want);
  }
});

test('selectorMatchers', () => {
  const f = (sel: string, want: string[]) => assert.deepEqual(selectorMatchers(sel), want, sel);
  f('app=web', ['app="web"']);
  f('app==web,tier!=db', ['app="web"', 'tier!="db"']);
  f('pod-template-hash=abc', ['pod_template_hash="abc"']);
  f('linkerd.io/proxy-deployment=web', ['deployment="web"']);
  f('env in (prod, dev.1)', ['env=~"prod|dev\\\\.1"']);
  f('env notin (a)', ['env!~"a"']);
  f('app', ['app!=""']);
  f('!app', ['app=""']);
  assert.throws(() => selectorMatchers('a=b=c'), /cannot parse label selector/);
});

test('buildStatQueries follows metrics-api', async (t) => {
  const cases: {
    name: string;
    args: string[];
    opts?: Partial<StatOptions>;
    want: Partial<Record<string, string | null>>;
  }[] = [
    {
      name: 'deployments of a namespace',
      args: ['deploy'],
      want: {
        requests:
          'sum(increase(response_total{direction="inbound", namespace="emojivoto", deployment!=""}[1m])) by (namespace, deployment, classification, tls)',
        p50: 'histogram_quantile(0.5, sum(irate(response_latency_ms_bucket{direction="inbound", namespace="emojivoto", deployment!=""}[1m])) by (le, namespace, deployment))',
        tcpConnections:
          'sum(tcp_open_connections{direction="inbound", namespace="emojivoto", deployment!=""}) by (namespace, deployment)',
        tcpRead:
          'sum(increase(tcp_read_bytes_total{direction="inbound", namespace="emojivoto", deployment!="", peer="src"}[1m])) by (namespace, deployment)',
        meshed:
          'count(count(process_start_time_seconds{namespace="emojivoto", deployment!=""}) by (pod, namespace, deployment)) by (namespace, deployment)',
        total:
          'count(count(up{namespace="emojivoto", deployment!=""}) by (pod, namespace, deployment)) by (namespace, deployment)',
      },
    },
    {
      name: 'one job, all namespaces, accurate, 5m',
      args: ['job/backup'],
      opts: { allNamespaces: true, accurate: true, windowMs: 300_000 },
      want: {
        requests:
          'sum(increase(response_total{direction="inbound", k8s_job="backup"}[5m])) by (namespace, k8s_job, classification, tls)',
        p99: 'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{direction="inbound", k8s_job="backup"}[5m])) by (le, namespace, k8s_job))',
      },
    },
    {
      name: 'namespaces',
      args: ['ns'],
      want: {
        requests:
          'sum(increase(response_total{direction="inbound"}[1m])) by (namespace, classification, tls)',
      },
    },
    {
      name: '--to',
      args: ['deploy/web'],
      opts: { to: parseResources(['deploy/voting'])[0], toNamespace: 'other' },
      want: {
        requests:
          'sum(increase(response_total{direction="outbound", namespace="emojivoto", deployment="web", dst_namespace="other", dst_deployment="voting"}[1m])) by (namespace, deployment, classification, tls)',
        tcpWrite:
          'sum(increase(tcp_write_bytes_total{direction="outbound", namespace="emojivoto", deployment="web", dst_namespace="other", dst_deployment="voting", peer="dst"}[1m])) by (namespace, deployment)',
      },
    },
    {
      name: '--from',
      args: ['po'],
      opts: { from: parseResources(['deploy/web'])[0] },
      want: {
        requests:
          'sum(increase(response_total{direction="outbound", namespace="emojivoto", deployment="web", dst_namespace="emojivoto", dst_pod!=""}[1m])) by (dst_namespace, dst_pod, classification, tls)',
      },
    },
    {
      name: 'a service matches its authority',
      args: ['svc/web'],
      want: {
        requests:
          'sum(increase(response_total{direction="outbound", authority=~"^web\\\\.emojivoto\\\\.svc\\\\.cluster\\\\.local.*"}[1m])) by (dst_namespace, dst_service, classification, tls)',
        meshed: null,
      },
    },
    {
      name: 'authority has no TCP and no MESHED',
      args: ['authority'],
      opts: { selector: 'app=web' },
      want: {
        requests:
          'sum(increase(response_total{direction="inbound", namespace="emojivoto", authority!="", app="web"}[1m])) by (namespace, authority, classification, tls)',
        tcpConnections: null,
        meshed: null,
      },
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const q = buildStatQueries(parseResources(tc.args)[0], { ...BASE, ...tc.opts });
      const got: Record<string, string | null> = {
        ...q,
        p50: q.latency[0],
        p95: q.latency[1],
        p99: q.latency[2],
      } as never;
      for (const [k, v] of Object.entries(tc.want)) assert.equal(got[k], v, k);
    });
  }
});

test('formatStat', () => {
  const row = (o: Partial<StatRow>): StatRow => ({
    namespace: 'demo',
    kind: 'deployment',
    name: 'web',
    meshed: '1/1',
    success: null,
    rps: null,
    latencyP50: null,
    latencyP95: null,
    latencyP99: null,
    tcpOpenConnections: null,
    tcpReadBytesRate: null,
    tcpWriteBytesRate: null,
    ...o,
  });
  const rows = [
    row({
      name: 'books',
      success: 0.98765,
      rps: 3.25,
      latencyP50: 1,
      latencyP95: 19,
      latencyP99: 100,
      tcpOpenConnections: 2,
      tcpReadBytesRate: 10.25,
      tcpWriteBytesRate: 0,
    }),
    row({ name: 'idle', meshed: '0/2' }),
  ];
  assert.equal(
    formatStat(rows, 'table', false, false),
    'NAME    MESHED   SUCCESS   RPS      LATENCY_P50   LATENCY_P95   LATENCY_P99   TCP_CONN\n' +
      'books   1/1      98.77%    3.2rps   1ms           19ms          100ms         2\n' +
      'idle    0/2      -         -        -             -             -             -\n',
  );
  assert.equal(
    formatStat(rows.slice(0, 1), 'wide', true, true),
    'NAMESPACE   NAME               MESHED   SUCCESS   RPS      LATENCY_P50   LATENCY_P95   LATENCY_P99   TCP_CONN   READ_BYTES/SEC   WRITE_BYTES/SEC\n' +
      'demo        deployment/books   1/1      98.77%    3.2rps   1ms           19ms          100ms         2          10.2B/s          0.0B/s\n',
  );
  const json = JSON.parse(formatStat(rows.slice(1), 'json', false, false));
  assert.deepEqual(json, [
    {
      namespace: 'demo',
      kind: 'deployment',
      name: 'idle',
      meshed: '0/2',
      success: null,
      rps: null,
      latency_ms_p50: null,
      latency_ms_p95: null,
      latency_ms_p99: null,
      tcp_open_connections: null,
      tcp_read_bytes_rate: null,
      tcp_write_bytes_rate: null,
    },
  ]);
});

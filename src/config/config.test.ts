import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ConfigFileError, loadConfig, loadConfigFile, QUEUE_DEFAULTS } from './index.js';
import type { Config } from './index.js';

const VIZ = fileURLToPath(new URL('./testdata/linkerd-viz.yml', import.meta.url));

interface GoodCase {
  name: string;
  yaml: string;
  check: (c: Config) => void;
}

const good: GoodCase[] = [
  {
    name: 'empty file gives the defaults',
    yaml: '',
    check: (c) => {
      assert.deepEqual(c.global, {
        scrapeIntervalMs: 60_000,
        scrapeTimeoutMs: 10_000,
        evaluationIntervalMs: 60_000,
        externalLabels: {},
        queryLogFile: '',
      });
      assert.deepEqual(c.scrapeConfigs, []);
    },
  },
  {
    name: 'scrape config inherits interval and timeout from global',
    yaml: 'global:\n  scrape_interval: 15s\n  scrape_timeout: 5s\nscrape_configs:\n  - job_name: a\n',
    check: (c) => {
      const sc = c.scrapeConfigs[0];
      assert.equal(sc.scrapeIntervalMs, 15_000);
      assert.equal(sc.scrapeTimeoutMs, 5_000);
      assert.equal(sc.metricsPath, '/metrics');
      assert.equal(sc.scheme, 'http');
      assert.equal(sc.honorLabels, false);
      assert.equal(sc.honorTimestamps, true);
      assert.equal(sc.httpClient.followRedirects, true);
      assert.equal(sc.httpClient.enableHttp2, true);
    },
  },
  {
    name: 'timeout is cut to an interval shorter than the global timeout',
    yaml: 'scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n',
    check: (c) => assert.equal(c.scrapeConfigs[0].scrapeTimeoutMs, 5_000),
  },
  {
    name: 'global timeout is cut to a short global interval',
    yaml: 'global:\n  scrape_interval: 2s\n',
    check: (c) => assert.equal(c.global.scrapeTimeoutMs, 2_000),
  },
  {
    name: 'durations in every unit',
    yaml: 'global:\n  scrape_interval: 1y2w3d4h5m6s7ms\n  evaluation_interval: 1h30m\n',
    check: (c) => {
      assert.equal(
        c.global.scrapeIntervalMs,
        ((((365 + 14 + 3) * 24 + 4) * 60 + 5) * 60 + 6) * 1000 + 7,
      );
      assert.equal(c.global.evaluationIntervalMs, 5_400_000);
    },
  },
  {
    name: 'body size limit units are base 2',
    yaml: 'scrape_configs:\n  - job_name: a\n    body_size_limit: 10MB\n  - job_name: b\n    body_size_limit: 1GiB\n',
    check: (c) => {
      assert.equal(c.scrapeConfigs[0].bodySizeLimitBytes, 10 * 1024 * 1024);
      assert.equal(c.scrapeConfigs[1].bodySizeLimitBytes, 1024 ** 3);
    },
  },
  {
    name: 'legacy bearer_token_file becomes a Bearer authorization',
    yaml: 'scrape_configs:\n  - job_name: a\n    bearer_token_file: /t\n',
    check: (c) =>
      assert.deepEqual(c.scrapeConfigs[0].httpClient.authorization, {
        type: 'Bearer',
        credentials: '',
        credentialsFile: '/t',
      }),
  },
  {
    name: 'authorization type defaults to Bearer; basic auth and tls are read',
    yaml:
      'scrape_configs:\n  - job_name: a\n    authorization:\n      credentials: s\n' +
      '  - job_name: b\n    scheme: https\n    basic_auth: {username: u, password_file: /p}\n' +
      '    tls_config: {ca_file: /ca, insecure_skip_verify: yes, min_version: TLS12, server_name: x}\n',
    check: (c) => {
      assert.deepEqual(c.scrapeConfigs[0].httpClient.authorization, {
        type: 'Bearer',
        credentials: 's',
        credentialsFile: '',
      });
      const b = c.scrapeConfigs[1].httpClient;
      assert.deepEqual(b.basicAuth, { username: 'u', password: '', passwordFile: '/p' });
      assert.equal(b.tlsConfig.caFile, '/ca');
      assert.equal(b.tlsConfig.insecureSkipVerify, true);
      assert.equal(b.tlsConfig.minVersion, 'TLS12');
    },
  },
  {
    name: 'static, file and kubernetes discovery with params and limits',
    yaml: `scrape_configs:
  - job_name: fed
    metrics_path: /federate
    honor_labels: true
    params:
      'match[]': ['{job="linkerd-proxy"}', '{job="linkerd-controller"}']
    sample_limit: 1000
    label_limit: 30
    static_configs:
      - targets: [a:1, 'b:2']
        labels: {env: prod}
    file_sd_configs:
      - files: [/etc/sd/*.json, x.yml]
      - files: [y.yaml]
        refresh_interval: 30s
    kubernetes_sd_configs:
      - role: pod
        api_server: http://127.0.0.1:6443
        namespaces: {names: [linkerd-viz]}
        selectors:
          - role: pod
            label: app=web
            field: spec.nodeName=n1
`,
    check: (c) => {
      const sc = c.scrapeConfigs[0];
      assert.deepEqual(sc.params, {
        'match[]': ['{job="linkerd-proxy"}', '{job="linkerd-controller"}'],
      });
      assert.equal(sc.honorLabels, true);
      assert.equal(sc.sampleLimit, 1000);
      assert.equal(sc.labelLimit, 30);
      assert.deepEqual(sc.staticConfigs, [{ targets: ['a:1', 'b:2'], labels: { env: 'prod' } }]);
      assert.deepEqual(sc.fileSdConfigs, [
        { files: ['/etc/sd/*.json', 'x.yml'], refreshIntervalMs: 300_000 },
        { files: ['y.yaml'], refreshIntervalMs: 30_000 },
      ]);
      const k = sc.kubernetesSdConfigs[0];
      assert.equal(k.role, 'pod');
      assert.equal(k.apiServer, 'http://127.0.0.1:6443');
      assert.deepEqual(k.namespaces, { ownNamespace: false, names: ['linkerd-viz'] });
      assert.deepEqual(k.selectors, [{ role: 'pod', label: 'app=web', field: 'spec.nodeName=n1' }]);
    },
  },
  {
    name: 'remote_write gets the 2.42 queue defaults in one place',
    yaml: 'remote_write:\n  - url: http://vm:8428/api/v1/write\n    queue_config: {max_shards: 10}\n',
    check: (c) => {
      const rw = c.remoteWrite[0];
      assert.equal(rw.remoteTimeoutMs, 30_000);
      assert.deepEqual(rw.queueConfig, { ...QUEUE_DEFAULTS, maxShards: 10 });
      assert.deepEqual(QUEUE_DEFAULTS, {
        capacity: 2500,
        maxShards: 200,
        minShards: 1,
        maxSamplesPerSend: 500,
        batchSendDeadlineMs: 5000,
        minBackoffMs: 30,
        maxBackoffMs: 5000,
        retryOnHttp429: false,
      });
    },
  },
  {
    name: 'rule_files and alerting are accepted with warnings',
    yaml: 'rule_files: [a_rules.yml]\nalerting:\n  alertmanagers: []\n',
    check: (c) => {
      assert.deepEqual(c.ruleFiles, ['a_rules.yml']);
      assert.equal(c.warnings.length, 2);
      assert.match(c.warnings.join('\n'), /c\.yml:3:3: alerting: accepted but ignored/);
    },
  },
  {
    name: 'relabel rules are kept raw with their positions',
    yaml: 'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - source_labels: [x, y]\n        separator: ","\n        regex: (.*)\n        target_label: z\n      - action: hashmod\n        modulus: 8\n        target_label: shard\n',
    check: (c) => {
      const rl = c.scrapeConfigs[0].relabelConfigs;
      assert.deepEqual(rl.rules, [
        { source_labels: ['x', 'y'], separator: ',', regex: '(.*)', target_label: 'z' },
        { action: 'hashmod', modulus: 8, target_label: 'shard' },
      ]);
      assert.deepEqual(
        rl.compiled.map((r) => r.action),
        ['replace', 'hashmod'],
      );
      assert.deepEqual(rl.where, [
        'c.yml:4:9: scrape_configs[0].relabel_configs[0]',
        'c.yml:8:9: scrape_configs[0].relabel_configs[1]',
      ]);
    },
  },
  {
    name: 'anchors and aliases resolve',
    yaml: 'scrape_configs:\n  - job_name: a\n    tls_config: &tls {insecure_skip_verify: true}\n  - job_name: b\n    tls_config: *tls\n',
    check: (c) => assert.equal(c.scrapeConfigs[1].httpClient.tlsConfig.insecureSkipVerify, true),
  },
];

for (const tc of good) {
  test(`loads: ${tc.name}`, () => tc.check(loadConfig(tc.yaml, 'c.yml')));
}

interface BadCase {
  name: string;
  yaml: string;
  /** Expected `line:column: key.path: reason` after the file name. */
  want: string;
}

const bad: BadCase[] = [
  {
    name: 'invalid duration',
    yaml: 'global:\n  scrape_interval: 10x\n',
    want: '2:20: global.scrape_interval: not a valid duration string: "10x"',
  },
  {
    name: 'fractional duration',
    yaml: 'scrape_configs:\n  - job_name: a\n    scrape_interval: 1.5s\n',
    want: '3:22: scrape_configs[0].scrape_interval: not a valid duration string: "1.5s"',
  },
  {
    name: 'bare number as duration',
    yaml: 'global:\n  evaluation_interval: 10\n',
    want: '2:24: global.evaluation_interval: not a valid duration string: "10"',
  },
  {
    name: 'unknown key',
    yaml: 'scrape_configs:\n  - job_name: a\n    foo: 1\n',
    want: '3:5: scrape_configs[0].foo: unknown key',
  },
  {
    name: 'unknown top-level key',
    yaml: 'scrape_config:\n  - job_name: a\n',
    want: '1:1: scrape_config: unknown key',
  },
  {
    name: 'wrong type for a bool',
    yaml: 'scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n',
    want: '3:19: scrape_configs[0].honor_labels: cannot unmarshal !!str `maybe` into bool',
  },
  {
    name: 'wrong type for a limit',
    yaml: 'scrape_configs:\n  - job_name: a\n    sample_limit: -1\n',
    want: '3:19: scrape_configs[0].sample_limit: cannot unmarshal !!int `-1` into uint',
  },
  {
    name: 'list expected',
    yaml: 'scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: x\n',
    want: '4:18: scrape_configs[0].static_configs[0].targets: expected a list, got !!str `x`',
  },
  {
    name: 'timeout above interval',
    yaml: 'scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n',
    want: '4:5: scrape_configs[0].scrape_timeout: scrape timeout greater than scrape interval for scrape config with job name "a"',
  },
  {
    name: 'global timeout above interval',
    yaml: 'global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n',
    want: '3:3: global.scrape_timeout: global scrape timeout greater than scrape interval',
  },
  {
    name: 'duplicate job',
    yaml: 'scrape_configs:\n  - job_name: a\n  - job_name: a\n',
    want: '3:5: scrape_configs[1].job_name: found multiple scrape configs with job name "a"',
  },
  {
    name: 'missing job_name',
    yaml: 'scrape_configs:\n  - scrape_interval: 5s\n',
    want: '2:5: scrape_configs[0].job_name: job_name is empty',
  },
  {
    name: 'bad body size unit',
    yaml: 'scrape_configs:\n  - job_name: a\n    body_size_limit: 10XB\n',
    want: '3:22: scrape_configs[0].body_size_limit: units: unknown unit XB in 10XB',
  },
  {
    name: 'bearer token and authorization together',
    yaml: 'scrape_configs:\n  - job_name: a\n    bearer_token: x\n    authorization: {credentials: y}\n',
    want: '4:5: scrape_configs[0].authorization: authorization is not compatible with bearer_token & bearer_token_file',
  },
  {
    name: 'unknown relabel action',
    yaml: 'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: foo\n',
    want: '4:9: scrape_configs[0].relabel_configs[0]: unknown relabel action "foo"',
  },
  {
    name: 'invalid relabel regex',
    yaml: "scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - regex: '(a'\n",
    want: '4:9: scrape_configs[0].relabel_configs[0]: invalid regex "(a": missing closing ) at position 0',
  },
  {
    name: 'hashmod without modulus',
    yaml: 'scrape_configs:\n  - job_name: a\n    metric_relabel_configs:\n      - {action: hashmod, target_label: x}\n',
    want: '4:9: scrape_configs[0].metric_relabel_configs[0]: relabel configuration for hashmod requires non-zero modulus',
  },
  {
    name: 'write relabel replace without target_label',
    yaml: 'remote_write:\n  - url: http://x/\n    write_relabel_configs:\n      - {action: replace, source_labels: [a]}\n',
    want: "4:9: remote_write[0].write_relabel_configs[0]: relabel configuration for replace action requires 'target_label' value",
  },
  {
    name: 'bad TLS version',
    yaml: 'scrape_configs:\n  - job_name: a\n    tls_config:\n      min_version: TLS9\n',
    want: '4:7: scrape_configs[0].tls_config.min_version: unknown TLS version: TLS9',
  },
  {
    name: 'file_sd glob outside the last element',
    yaml: 'scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: [/a/*/b.json, c.txt]\n',
    want: '4:17: scrape_configs[0].file_sd_configs[0].files[0]: path name "/a/*/b.json" is not valid for file discovery',
  },
  {
    name: 'kubernetes role missing',
    yaml: 'scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - api_server: http://x\n',
    want: '4:9: scrape_configs[0].kubernetes_sd_configs[0]: role missing (one of: pod, service, endpoints, endpointslice, node, ingress)',
  },
  {
    name: 'kubernetes selector of another role',
    yaml: 'scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pod\n        selectors:\n          - role: node\n',
    want: '6:13: scrape_configs[0].kubernetes_sd_configs[0].selectors[0].role: pod role supports only pod selectors',
  },
  {
    name: 'kubernetes client config without api_server',
    yaml: 'scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pod\n        bearer_token: t\n',
    want: "4:9: scrape_configs[0].kubernetes_sd_configs[0]: to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
  },
  {
    name: 'invalid static label name',
    yaml: 'scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels: {"a-b": x}\n',
    want: '4:17: scrape_configs[0].static_configs[0].labels: "a-b" is not a valid label name',
  },
  {
    name: 'unknown relabel key',
    yaml: 'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - sourcelabels: [a]\n',
    want: '4:9: scrape_configs[0].relabel_configs[0].sourcelabels: unknown key',
  },
  {
    name: 'remote_write without url',
    yaml: 'remote_write:\n  - name: x\n',
    want: '2:5: remote_write[0]: url for remote_write is empty',
  },
  {
    name: 'remote_write reserved header',
    yaml: 'remote_write:\n  - url: http://x/\n    headers: {User-Agent: me}\n',
    want: '3:5: remote_write[0].headers: User-Agent is a reserved header. It must not be changed',
  },
  {
    name: 'unsupported service discovery',
    yaml: 'scrape_configs:\n  - job_name: a\n    consul_sd_configs: [{}]\n',
    want: '3:5: scrape_configs[0].consul_sd_configs: service discovery not supported by meshmetrics (static, file and kubernetes are)',
  },
  {
    name: 'duplicate key',
    yaml: 'global: {}\nglobal: {}\n',
    want: '2:1: yaml: Map keys must be unique',
  },
  {
    name: 'YAML syntax error',
    yaml: 'scrape_configs:\n  - job_name: "a\n',
    want: '3:1: yaml: Missing closing "quote',
  },
];

for (const tc of bad) {
  test(`rejects: ${tc.name}`, () => {
    assert.throws(
      () => loadConfig(tc.yaml, 'config.yml'),
      (err: unknown) => {
        assert.ok(err instanceof ConfigFileError, `not a ConfigFileError: ${String(err)}`);
        assert.equal(err.message, `config.yml:${tc.want}`);
        assert.equal(err.code, 'ERR_CONFIG');
        return true;
      },
    );
  });
}

test('the linkerd-viz Prometheus configuration loads unchanged', async () => {
  const c = await loadConfigFile(VIZ);
  assert.deepEqual(
    c.scrapeConfigs.map((s) => s.jobName),
    [
      'prometheus',
      'kubernetes-nodes-cadvisor',
      'linkerd-controller',
      'linkerd-multicluster-controller',
      'linkerd-proxy',
    ],
  );
  assert.equal(c.global.scrapeIntervalMs, 10_000);
  assert.equal(c.global.scrapeTimeoutMs, 10_000);
  const proxy = c.scrapeConfigs[4];
  assert.equal(proxy.relabelConfigs.rules.length, 13);
  assert.equal(proxy.relabelConfigs.compiled.length, 13);
  assert.equal(proxy.relabelConfigs.compiled[9].action, 'labelmap');
  assert.equal(proxy.kubernetesSdConfigs[0].role, 'pod');
  assert.deepEqual(proxy.relabelConfigs.rules[1], {
    source_labels: [
      '__meta_kubernetes_pod_container_name',
      '__meta_kubernetes_pod_container_port_name',
      '__meta_kubernetes_pod_label_linkerd_io_control_plane_ns',
    ],
    action: 'keep',
    regex: '^linkerd-proxy;linkerd-admin;linkerd$',
  });
  const cadvisor = c.scrapeConfigs[1];
  assert.equal(cadvisor.scheme, 'https');
  assert.equal(
    cadvisor.httpClient.authorization?.credentialsFile,
    '/var/run/secrets/kubernetes.io/serviceaccount/token',
  );
  assert.equal(cadvisor.metricRelabelConfigs.rules.length, 2);
  assert.deepEqual(c.scrapeConfigs[2].kubernetesSdConfigs[0].namespaces.names, [
    'linkerd',
    'linkerd-viz',
  ]);
});

test('a missing file is a ConfigFileError naming the file', async () => {
  await assert.rejects(loadConfigFile('/nonexistent/prometheus.yml'), (err: unknown) => {
    assert.ok(err instanceof ConfigFileError);
    assert.match(err.message, /^\/nonexistent\/prometheus\.yml: cannot read config file: ENOENT/);
    return true;
  });
});

test('relative file paths resolve against the config file directory', () => {
  const c = loadConfig(
    'rule_files: [rules/*.yml]\nscrape_configs:\n  - job_name: a\n    bearer_token_file: token\n' +
      '    tls_config: {ca_file: /abs/ca.crt}\n    file_sd_configs:\n      - files: [sd/*.json]\n',
    '/etc/meshmetrics/config.yml',
  );
  assert.deepEqual(c.ruleFiles, ['/etc/meshmetrics/rules/*.yml']);
  const sc = c.scrapeConfigs[0];
  assert.equal(sc.httpClient.authorization?.credentialsFile, '/etc/meshmetrics/token');
  assert.equal(sc.httpClient.tlsConfig.caFile, '/abs/ca.crt');
  assert.deepEqual(sc.fileSdConfigs[0].files, ['/etc/meshmetrics/sd/*.json']);
});

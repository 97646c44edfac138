import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config.js';
import { formatBase2Bytes, marshalConfig, yamlString } from './marshal.js';

const testdata = (name: string) => fileURLToPath(new URL(`./testdata/${name}`, import.meta.url));

// The golden files are /api/v1/status/config of Prometheus 2.42 (Debian 2.42.0+ds) run on
// the matching input files.
for (const name of ['status-config', 'status-config-2']) {
  test(`renders ${name}.yml as Prometheus 2.42 does`, () => {
    const cfg = loadConfig(
      readFileSync(testdata(`${name}.yml`), 'utf8'),
      `/etc/prometheus/${name}.yml`,
    );
    assert.equal(marshalConfig(cfg), readFileSync(testdata(`${name}.golden.yml`), 'utf8'));
  });
}

test('an empty file renders the global defaults', () => {
  assert.equal(
    marshalConfig(loadConfig('', 'p.yml')),
    'global:\n  scrape_interval: 1m\n  scrape_timeout: 10s\n  evaluation_interval: 1m\n',
  );
});

test('the rendering loads back to the same configuration', () => {
  const viz = loadConfig(
    readFileSync(testdata('linkerd-viz.yml'), 'utf8'),
    '/etc/prometheus/prometheus.yml',
  );
  const again = loadConfig(marshalConfig(viz), '/etc/prometheus/prometheus.yml');
  const strip = (c: typeof viz) =>
    JSON.stringify({
      ...c,
      warnings: [],
      scrapeConfigs: c.scrapeConfigs.map((s) => ({
        ...s,
        relabelConfigs: s.relabelConfigs.compiled.length,
        metricRelabelConfigs: s.metricRelabelConfigs.compiled.length,
      })),
    });
  assert.equal(strip(again), strip(viz));
  assert.match(
    marshalConfig(viz),
    /kubernetes_sd_configs:\n {2}- role: pod\n {4}kubeconfig_file: ""\n {4}follow_redirects: true\n {4}enable_http2: true\n {4}namespaces:\n {6}own_namespace: false\n {6}names:\n {6}- linkerd\n {6}- linkerd-viz\n/,
  );
});

const strings: Array<[string, string]> = [
  ['plain', 'plain'],
  ['', '""'],
  ['0', '"0"'],
  ['true', '"true"'],
  ['yes', '"yes"'],
  ['1.5', '"1.5"'],
  ['(.*)', '(.*)'],
  ['$1', '$1'],
  [';', ';'],
  [',', "','"],
  ['{job="x"}', `'{job="x"}'`],
  ["it's: here", `'it''s: here'`],
  ['a #b', "'a #b'"],
  ['a#b', 'a#b'],
  ['- x', "'- x'"],
  ['http://x:1/y', 'http://x:1/y'],
];
for (const [s, want] of strings) {
  test(`yamlString(${JSON.stringify(s)}) = ${want}`, () => assert.equal(yamlString(s), want));
}

const sizes: Array<[number, string]> = [
  [0, '0B'],
  [512, '512B'],
  [1536, '1KiB512B'],
  [10 * 1024 * 1024, '10MiB'],
  [1024 ** 3, '1GiB'],
];
for (const [n, want] of sizes) {
  test(`formatBase2Bytes(${n}) = ${want}`, () => assert.equal(formatBase2Bytes(n), want));
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../model/labels.js';
import {
  compileRelabelConfigs,
  finishTargetLabels,
  formatDuration,
  parseDuration,
  splitHostPort,
  type RelabelConfig,
  type TargetJobConfig,
} from './index.js';

function job(over: Partial<TargetJobConfig> = {}, rules: RelabelConfig[] = []): TargetJobConfig {
  return {
    jobName: 'mesh',
    scrapeIntervalMs: 15_000,
    scrapeTimeoutMs: 10_000,
    metricsPath: '/metrics',
    scheme: 'http',
    relabel: compileRelabelConfigs(rules),
    ...over,
  };
}

interface Case {
  name: string;
  discovered: Record<string, string>;
  job: TargetJobConfig;
  /** Expected full labels (internal ones included), null when dropped or invalid. */
  labels: Record<string, string> | null;
  error?: string;
}

const cases: Case[] = [
  {
    name: 'adds job and scrape settings, defaults instance, drops __meta_*',
    discovered: { __address__: '10.0.0.1:4191', __meta_pod: 'web-0', app: 'web' },
    job: job({ params: { format: ['prometheus', 'ignored'] } }),
    labels: {
      __address__: '10.0.0.1:4191',
      __metrics_path__: '/metrics',
      __param_format: 'prometheus',
      __scheme__: 'http',
      __scrape_interval__: '15s',
      __scrape_timeout__: '10s',
      app: 'web',
      instance: '10.0.0.1:4191',
      job: 'mesh',
    },
  },
  {
    name: 'discovered settings win over the job (except params)',
    discovered: { __address__: 'h:1', job: 'other', __scheme__: 'https', __param_x: 'd' },
    job: job({ params: { x: ['job'] } }),
    labels: {
      __address__: 'h:1',
      __metrics_path__: '/metrics',
      __param_x: 'job',
      __scheme__: 'https',
      __scrape_interval__: '15s',
      __scrape_timeout__: '10s',
      instance: 'h:1',
      job: 'other',
    },
  },
  {
    name: 'an explicit instance stays',
    discovered: { __address__: 'h:1', instance: 'mine' },
    job: job(),
    labels: {
      __address__: 'h:1',
      __metrics_path__: '/metrics',
      __scheme__: 'http',
      __scrape_interval__: '15s',
      __scrape_timeout__: '10s',
      instance: 'mine',
      job: 'mesh',
    },
  },
  {
    name: 'relabeling sees the added labels and may rewrite them',
    discovered: { __address__: 'h', __meta_port: '4191' },
    job: job({ scrapeIntervalMs: 90_000 }, [
      {
        source_labels: ['__address__', '__meta_port'],
        separator: ':',
        target_label: '__address__',
      },
      { source_labels: ['job'], target_label: 'origin', replacement: 'from-$1' },
      { target_label: '__metrics_path__', replacement: '/admin/metrics' },
    ]),
    labels: {
      __address__: 'h:4191',
      __metrics_path__: '/admin/metrics',
      __scheme__: 'http',
      __scrape_interval__: '1m30s',
      __scrape_timeout__: '10s',
      instance: 'h:4191',
      job: 'mesh',
      origin: 'from-mesh',
    },
  },
  {
    name: 'a bare host gets :80 for http (Prometheus 2.x)',
    discovered: { __address__: 'web' },
    job: job(),
    labels: {
      __address__: 'web:80',
      __metrics_path__: '/metrics',
      __scheme__: 'http',
      __scrape_interval__: '15s',
      __scrape_timeout__: '10s',
      instance: 'web:80',
      job: 'mesh',
    },
  },
  {
    name: 'a bare IPv6 host gets :443 for https',
    discovered: { __address__: '[::1]' },
    job: job({ scheme: 'https' }),
    labels: {
      __address__: '[::1]:443',
      __metrics_path__: '/metrics',
      __scheme__: 'https',
      __scrape_interval__: '15s',
      __scrape_timeout__: '10s',
      instance: '[::1]:443',
      job: 'mesh',
    },
  },
  {
    name: 'noDefaultPort leaves a bare host and strips the scheme port (Prometheus 3)',
    discovered: { __address__: 'web:80' },
    job: job({ noDefaultPort: true }),
    labels: {
      __address__: 'web',
      __metrics_path__: '/metrics',
      __scheme__: 'http',
      __scrape_interval__: '15s',
      __scrape_timeout__: '10s',
      instance: 'web:80',
      job: 'mesh',
    },
  },
  {
    name: 'dropped by relabeling',
    discovered: { __address__: 'h:1', __meta_phase: 'Failed' },
    job: job({}, [{ source_labels: ['__meta_phase'], regex: 'Running', action: 'keep' }]),
    labels: null,
  },
  {
    name: 'no address after relabeling',
    discovered: { __address__: 'h:1' },
    job: job({}, [{ regex: '__address__', action: 'labeldrop' }]),
    labels: null,
    error: 'no address',
  },
  {
    name: 'an address with a path',
    discovered: { __address__: 'h:1/x' },
    job: job(),
    labels: null,
    error: '"h:1/x" is not a valid hostname',
  },
  {
    name: 'an unknown scheme with a bare host',
    discovered: { __address__: 'h', __scheme__: 'ftp' },
    job: job(),
    labels: null,
    error: 'invalid scheme: "http"',
  },
  {
    name: 'a relabeled interval that does not parse',
    discovered: { __address__: 'h:1', __scrape_interval__: '1.5s' },
    job: job(),
    labels: null,
    error: 'error parsing scrape interval',
  },
  {
    name: 'a timeout above the interval',
    discovered: { __address__: 'h:1', __scrape_timeout__: '1m' },
    job: job(),
    labels: null,
    error: 'scrape timeout cannot be greater than scrape interval ("1m" > "15s")',
  },
  {
    name: 'a zero interval',
    discovered: { __address__: 'h:1', __scrape_interval__: '0' },
    job: job(),
    labels: null,
    error: 'scrape interval cannot be 0',
  },
  {
    name: 'a value that is not UTF-8',
    discovered: { __address__: 'h:1', bad: 'x\ud800' },
    job: job(),
    labels: null,
    error: 'invalid label value for "bad"',
  },
];

test('finishTargetLabels follows PopulateLabels', async (t) => {
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const r = finishTargetLabels(Labels.from(tc.discovered), tc.job);
      if (tc.error) {
        assert.ok(r.error, 'expected an error');
        assert.ok(r.error.message.includes(tc.error), r.error.message);
        assert.equal(r.discoveredLabels, null);
      } else {
        assert.equal(r.error, null);
        assert.notEqual(r.discoveredLabels, null);
      }
      if (tc.labels === null) {
        assert.equal(r.labels, null);
        assert.equal(r.publicLabels, null);
        return;
      }
      assert.deepEqual(r.labels!.toObject(), tc.labels);
      const pub = Object.fromEntries(
        Object.entries(tc.labels).filter(([n]) => !n.startsWith('__')),
      );
      assert.deepEqual(r.publicLabels!.toObject(), pub);
    });
  }
});

test('a dropped target keeps its labels from before relabeling', () => {
  const r = finishTargetLabels(
    Labels.from({ __address__: 'h:1', __meta_x: 'y' }),
    job({ params: { p: ['1'] } }, [
      { target_label: 'added', replacement: 'v' },
      { source_labels: ['__meta_x'], regex: 'y', action: 'drop' },
    ]),
  );
  assert.equal(r.labels, null);
  assert.deepEqual(r.discoveredLabels!.toObject(), {
    __address__: 'h:1',
    __meta_x: 'y',
    __metrics_path__: '/metrics',
    __param_p: '1',
    __scheme__: 'http',
    __scrape_interval__: '15s',
    __scrape_timeout__: '10s',
    job: 'mesh',
  });
});

test('splitHostPort is net.SplitHostPort', () => {
  const f = (s: string, want: [string, string] | null): void =>
    assert.deepEqual(splitHostPort(s), want, s);
  f('h:80', ['h', '80']);
  f('h:', ['h', '']);
  f('h', null);
  f('', null);
  f('[::1]:9', ['::1', '9']);
  f('[::1]', null);
  f('::1', null);
  f('a:b:c', null);
  f('[a]b:1', null);
  f('a]:1', null);
});

test('durations print and parse as Prometheus', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(15_000), '15s');
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(86_400_000 + 1), '1d1ms');
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration(''), null);
  assert.equal(parseDuration('1.5s'), null);
  assert.equal(parseDuration('30s1m'), null);
});

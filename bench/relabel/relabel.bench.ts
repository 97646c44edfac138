/**
 * Regex matching and relabeling throughput, single core, in ns per operation:
 * - label-value matching by fast path (literal, set, prefix, suffix, contains, `.*`) against
 *   the same pattern run through the translated RegExp;
 * - the linear-time VM against the JavaScript engine, and on a pattern that backtracks badly;
 * - RE2 → JavaScript translation (the per-pattern cost at config load and per PromQL regex);
 * - `relabel()` with metric_relabel-style rules on a Linkerd-like series, when no rule changes
 *   the labels (the steady state: same object back) and when one drops a label;
 * - hashmod; target finishing for a typical Kubernetes job.
 *
 * Times are CPU time of this process (process.cpuUsage), best of three rounds; the machine is
 * shared, so treat the figures as indicative.
 *
 * Run: node --expose-gc --import tsx bench/relabel/relabel.bench.ts
 */

import { Labels } from '../../src/model/labels.js';
import { FastRegexMatcher, translateRegex } from '../../src/model/regex.js';
import {
  compileRelabelConfigs,
  finishTargetLabels,
  hashMod,
  relabel,
  type TargetJobConfig,
} from '../../src/relabel/index.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
let sink = 0;

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** Runs `fn(i)` n times per round, three rounds; prints the best ns/op. */
function bench(name: string, n: number, fn: (i: number) => void): number {
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    gc();
    const t0 = cpuNs();
    for (let i = 0; i < n; i++) fn(i);
    const ns = (cpuNs() - t0) / n;
    if (ns < best) best = ns;
  }
  console.log(`${name.padEnd(58)} ${best.toFixed(1).padStart(9)} ns/op`);
  return best;
}

// Label values shaped like a mesh: deployment names, paths, statuses.
const values: string[] = [];
for (let i = 0; i < 1024; i++) {
  values.push(
    i % 3 === 0 ? `web-${i}` : i % 3 === 1 ? `/api/v1/items/${i}` : `deploy/emoji-${i % 17}-svc`,
  );
}

console.log('-- label value matching (fast path vs the same pattern as RegExp.test)');
const patterns = [
  'web-42',
  'web-1|web-2|web-3|api|db',
  '/api/.*',
  '.*-svc',
  '.*emoji.*',
  '.*',
  '.+',
  'web-[0-9]+',
  '(?i)WEB-.*',
];
for (const p of patterns) {
  const m = new FastRegexMatcher(p);
  const re = m.regexp;
  const fast = bench(`${JSON.stringify(p)} [${m.fastPath}]`, 500_000, (i) => {
    if (m.matches(values[i & 1023])) sink++;
  });
  const slow = bench(`${JSON.stringify(p)} [RegExp]`, 500_000, (i) => {
    if (re.test(values[i & 1023])) sink++;
  });
  console.log(`${''.padEnd(58)} x${(slow / fast).toFixed(1)} faster`);
}

console.log('-- linear-time VM (patterns that backtrack badly) against the JavaScript engine');
for (const p of ['web-[0-9]+', '(web|api)-[0-9]+']) {
  const vm = new FastRegexMatcher(p, { linearTime: true });
  const js = new FastRegexMatcher(p).regexp;
  const a = bench(`${JSON.stringify(p)} [VM]`, 100_000, (i) => {
    if (vm.matches(values[i & 1023])) sink++;
  });
  const b = bench(`${JSON.stringify(p)} [RegExp]`, 100_000, (i) => {
    if (js.test(values[i & 1023])) sink++;
  });
  console.log(`${''.padEnd(58)} VM x${(a / b).toFixed(1)} slower`);
}
const evil = 'a'.repeat(24) + '!';
const evilVm = new FastRegexMatcher('(a+)+b');
bench(`"(a+)+b" on 24 a's + '!' [VM, chosen automatically]`, 2_000, () => {
  if (evilVm.matches(evil)) sink++;
});
{
  const re = evilVm.regexp;
  const t0 = cpuNs();
  if (re.test(evil)) sink++;
  console.log(
    `${"\"(a+)+b\" on 24 a's + '!' [RegExp, once]".padEnd(58)} ${((cpuNs() - t0) / 1).toFixed(1).padStart(9)} ns/op`,
  );
}

console.log('-- RE2 translation (distinct patterns, cache bypassed by a suffix)');
const srcs = [
  '(?P<ns>[a-z0-9-]+)/(?P<pod>.+)',
  '[[:alpha:]]+\\d{2,3}\\z',
  '(?i)foo|bar|baz',
  'a(?i:b)c',
];
bench('translateRegex (4 shapes)', 5_000, (i) => {
  sink += translateRegex(`(?:${srcs[i & 3]})|z${i}`).groupNames.length;
});

console.log('-- relabel() on a 9-label series');
const series = Labels.from({
  __name__: 'response_total',
  authority: 'web.emojivoto.svc.cluster.local:80',
  classification: 'success',
  deployment: 'web',
  direction: 'inbound',
  namespace: 'emojivoto',
  pod: 'web-5d6d8d7b9c-x2x7k',
  status_code: '200',
  tls: 'true',
});
const unchanged = compileRelabelConfigs([
  { source_labels: ['__name__'], regex: 'go_.*|process_.*', action: 'drop' },
  { source_labels: ['direction'], regex: 'inbound|outbound', action: 'keep' },
  { regex: 'tmp_.*', action: 'labeldrop' },
  { source_labels: ['pod'], regex: 'nope-(.*)', target_label: 'x' },
]);
bench('4 rules, nothing changes (returns the same object)', 300_000, () => {
  if (relabel(series, unchanged) === series) sink++;
});
const changing = compileRelabelConfigs([
  { regex: 'pod|tls', action: 'labeldrop' },
  { source_labels: ['namespace', 'deployment'], separator: '/', target_label: 'workload' },
]);
bench('labeldrop 2 + replace (new label set)', 300_000, () => {
  sink += relabel(series, changing)!.size;
});
const hm = compileRelabelConfigs([
  { source_labels: ['pod'], target_label: '__tmp_shard', modulus: 7, action: 'hashmod' },
  { source_labels: ['__tmp_shard'], regex: '3', action: 'keep' },
]);
bench('hashmod + keep (sharding)', 100_000, () => {
  if (relabel(series, hm) !== null) sink++;
});
bench('hashMod() alone', 100_000, (i) => {
  sink += hashMod(values[i & 1023], 7n).length;
});

console.log('-- target finishing (PopulateLabels) with a Kubernetes-style job');
const targets: Labels[] = [];
for (let i = 0; i < 1000; i++) {
  targets.push(
    Labels.from({
      __address__: `10.1.${i >> 8}.${i & 255}:4191`,
      __meta_kubernetes_namespace: `ns-${i % 20}`,
      __meta_kubernetes_pod_name: `pod-${i}`,
      __meta_kubernetes_pod_container_port_name: i % 2 ? 'linkerd-admin' : 'http',
      __meta_kubernetes_pod_label_app: `app-${i % 30}`,
      __meta_kubernetes_pod_label_linkerd_io_proxy_deployment: `app-${i % 30}`,
      __meta_kubernetes_pod_phase: 'Running',
    }),
  );
}
const k8sJob: TargetJobConfig = {
  jobName: 'linkerd-proxy',
  scrapeIntervalMs: 10_000,
  scrapeTimeoutMs: 10_000,
  metricsPath: '/metrics',
  scheme: 'http',
  relabel: compileRelabelConfigs([
    {
      source_labels: ['__meta_kubernetes_pod_container_port_name'],
      regex: 'linkerd-admin',
      action: 'keep',
    },
    { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
    { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    { regex: '__meta_kubernetes_pod_label_linkerd_io_(.+)', replacement: '$1', action: 'labelmap' },
    {
      regex: '__meta_kubernetes_pod_label_(.+)',
      replacement: '__tmp_pod_label_$1',
      action: 'labelmap',
    },
    { regex: '__tmp_pod_label_(.+)', replacement: '$1', action: 'labelmap' },
  ]),
};
bench('finishTargetLabels, 6 rules (half the targets dropped)', 30_000, (i) => {
  if (finishTargetLabels(targets[i % 1000], k8sJob).labels !== null) sink++;
});

if (sink === -1) console.log(sink);

/**
 * Relabeling and RE2 regexes against the real Prometheus: one Prometheus (2.42, Debian) loads a
 * config with ~50 fake static targets and relabel rules of every common kind, plus one small job
 * per regex case; its `/api/v1/targets` must list the same final labels, discovered labels and
 * dropped set as `finishTargetLabels` computes. The fake targets point at closed loopback ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Labels } from '../src/model/labels.js';
import { FastRegexMatcher } from '../src/model/regex.js';
import {
  compileRelabelConfigs,
  finishTargetLabels,
  relabel,
  type RelabelConfig,
  type TargetJobConfig,
} from '../src/relabel/index.js';
import { findProgram, requirePeer } from './support/peers.js';
import { startPrometheus, type RunningServer } from './support/servers.js';

// ---------------------------------------------------------------------------------------
// The mesh job: ~50 targets, rules of every kind.

const NAMESPACES = ['Default', 'KUBE-system', 'linkerd', 'Emojivoto'];
const APPS = ['web', 'api', 'db', 'voting', 'emoji'];
const PHASES = ['Running', 'Pending', 'Succeeded'];

interface Group {
  targets: string[];
  labels: Record<string, string>;
}

function meshGroups(): Group[] {
  const groups: Group[] = [];
  for (let i = 0; i < 50; i++) {
    // Closed ports on loopback; every 9th target has no port (default-port behaviour).
    const address = i % 9 === 4 ? (i % 2 ? '127.0.0.1' : 'localhost') : `127.0.0.1:${i + 1}`;
    const labels: Record<string, string> = {
      __meta_id: `mesh:${i}`,
      __meta_kubernetes_namespace: NAMESPACES[i % 4],
      __meta_kubernetes_pod_name: `pod-${i}`,
      __meta_kubernetes_pod_label_app: APPS[i % 5],
      __meta_kubernetes_pod_phase: PHASES[i % 3],
    };
    if (i % 4 === 1) labels.__meta_kubernetes_pod_label_tmp_build = `b${i}`;
    if (i % 6 === 0) labels.__meta_env = i % 12 === 0 ? 'prod-eu' : 'staging straße';
    if (i % 10 === 3) labels.instance = `custom-${i}`;
    if (i % 7 === 2) labels.team = 'café ☕ "quoted"';
    if (i === 22) labels.__meta_bad = 'yes'; // relabeled into an address with a '/'
    if (i === 25) labels.__meta_noaddr = 'yes'; // relabeled into no address
    if (i === 31) labels.__meta_twin = 'pod-31'; // dropequal drops it
    groups.push({ targets: [address], labels });
  }
  return groups;
}

const meshRules: RelabelConfig[] = [
  { source_labels: ['__address__'], target_label: '__tmp_shard', modulus: 7, action: 'hashmod' },
  { source_labels: ['__tmp_shard'], regex: '3', action: 'drop' },
  { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Running|Pending', action: 'keep' },
  {
    source_labels: ['__meta_kubernetes_pod_name'],
    target_label: '__meta_twin',
    action: 'dropequal',
  },
  { regex: '__meta_kubernetes_pod_label_(.+)', replacement: '${1}', action: 'labelmap' },
  { regex: 'tmp_.*', action: 'labeldrop' },
  {
    source_labels: ['__meta_kubernetes_namespace', '__meta_kubernetes_pod_name'],
    separator: '/',
    regex: '(.+)/pod-(\\d+)',
    target_label: 'pod_ref',
    replacement: '${2}.${1}',
  },
  {
    source_labels: ['__meta_kubernetes_namespace'],
    target_label: 'namespace',
    action: 'lowercase',
  },
  { source_labels: ['__meta_env'], target_label: 'env_upper', action: 'uppercase' },
  { source_labels: ['__tmp_shard'], target_label: 'shard' },
  // `$1x` is the group named "1x": empty, so the app label is deleted for pod-1, pod-1x.
  {
    source_labels: ['__meta_kubernetes_pod_name'],
    regex: 'pod-(1)(.*)',
    target_label: 'app',
    replacement: '$1x',
  },
  { source_labels: ['app'], regex: '(?i)DB', action: 'drop' },
  {
    source_labels: ['__meta_bad'],
    regex: 'yes',
    target_label: '__address__',
    replacement: '127.0.0.1:9/bad',
  },
  { source_labels: ['__meta_noaddr'], regex: 'yes', target_label: '__address__', replacement: '' },
  { source_labels: ['team'], regex: '(.*) "(.*)"', target_label: 'team_${2}', replacement: '$1' },
];

const httpsGroups: Group[] = [
  { targets: ['127.0.0.1', '127.0.0.1:8443', 'localhost'], labels: { __meta_id: 'mesh-https:4' } },
  { targets: ['[::1]', '[::1]:7'], labels: { __meta_id: 'mesh-https:6' } },
];

// ---------------------------------------------------------------------------------------
// Regex oracle: one job per pattern, one target per input, a keep rule with the pattern. 2.42
// compiles `^(?:re)$` without the s flag; wrapping as `(?s:re)` gives Prometheus 3 semantics.

const regexCases: [string, string[]][] = [
  ['b', ['ab', 'b']],
  ['a|b', ['ab', 'a']],
  ['a.c', ['abc', 'a\nc', 'ac']],
  ['(?-s).*', ['x\ny', 'xy']],
  ['.', ['😀', 'é', 'ab']],
  ['\\Afoo\\z', ['foo', 'foo\n']],
  ['(?m)a$\\nb', ['a\nb']],
  ['(?i)foo', ['FoO', 'fo']],
  ['(?i)k', ['\u212a', 'K', 'x']],
  ['(?i:a)b', ['Ab', 'AB']],
  ['a(?i)b', ['aB', 'AB']],
  ['x(?i)[^a-z]', ['xK', 'x\u212a', 'x1', 'x\u017f']],
  ['(?i)σ', ['Σ', 'ς']],
  ['(?i)ß', ['ẞ', 'ss']],
  ['(?i)s', ['\u017f', 'S']],
  ['(?i)[a-c]x', ['BX', 'dx']],
  ['\\Qa.b*\\E', ['a.b*', 'axbb']],
  ['[[:alpha:]]+', ['abcXYZ', 'abc1']],
  ['[[:^alpha:]]', ['1', 'a']],
  ['[[:space:]]', ['\v', ' ', 'x']],
  ['[[:punct:]]+', ['!~`', 'a']],
  ['\\pL+', ['héllo', '1']],
  ['\\p{Greek}+', ['αβγ', 'a']],
  ['\\PL', ['1', 'a']],
  ['\\p{^Greek}', ['a', 'α']],
  ['[\\p{Lu}\\d]+', ['A1Ö', 'a']],
  ['\\pN', ['٣', 'x']],
  ['\\d', ['٣', '3']],
  ['\\s', ['\v', '\f', ' ', '\u00a0']],
  ['\\w', ['é', '_']],
  ['\\v\\f\\a', ['\v\f\u0007']],
  ['\\123\\0', ['S\u0000']],
  ['\\12', ['\n']],
  ['\\x{1F600}\\x41', ['😀A']],
  ['\\-\\/\\:\\!\\"\\#\\%\\&\\,\\;\\<\\=\\>\\@\\`\\~', ['-/:!"#%&,;<=>@`~']],
  ['[\\-\\]\\[]+', ['-][', 'a']],
  ['[a-b-c]+', ['a-cb', 'd']],
  ['[\\d-z]+', ['1-z', 'y']],
  ['[]a]+', [']a', 'b']],
  ['[^]a]', ['b', ']']],
  ['a{', ['a{']],
  ['a{,2}', ['a{,2}', 'aa']],
  ['x}', ['x}']],
  ['a]', ['a]']],
  ['^*a', ['a']],
  ['.*\\bfoo\\b.*', ['x foo y', 'xfooy']],
  ['(?U)a+b', ['aab']],
  ['foo|bar|', ['foo', 'foobar']],
  ['(?P<x>a+)b', ['aab', 'b']],
  ['[^\\d\\s]', ['\n', '1', 'a']],
  ['(?i)[^k]', ['K', '\u212a', 'x']],
  ['(?i)\\W', ['\u017f', '\u212a', '!']],
  ['x(?i)\\W', ['x\u017f', 'x!']],
  ['(?i)straße', ['STRASSE', 'STRAẞE']],
  ['\\08', ['\u00008']],
  ['\\101', ['A']],
  ['a{0}b', ['b', 'ab']],
  ['[[:^space:]]+', ['ab', 'a b']],
  ['\\p{Latin}+\\p{Han}', ['abc中', 'abc']],
  ['a^b', ['ab']],
  ['(?m)\\n^a', ['\na']],
  ['(?i)\\Qa.B\\E', ['A.b', 'AxB']],
  ['[^\\x00-\\x{10FFFF}]', ['a']],
  ['[\\PC]', ['a', '\u0001', '\u0378']],
  ['\\PC', ['\u0378', '\u0001']],
  ['[^\\PC]', ['\u0001', 'a']],
  ['x(?i)\\p{Lu}', ['xa', 'x1']],
  ['x(?i)[^\\p{Lu}]', ['xa', 'x1']],
  ['(?i)\\p{Lu}', ['a', '1']],
  ['(?i)[^\\p{Lu}]', ['a', '1']],
  ['(?i)\\bK', ['\u212a', 'k']],
  ['(?-s:a.)(?s:.)', ['a\n\n', 'aa\n']],
  ['(?U)a??b', ['ab', 'b']],
  ['x*?y+?', ['xxyy']],
];

// Captures through `replace`: [pattern, replacement, inputs].
const captureCases: [string, string, string[]][] = [
  ['(?U)(a+)(a*)', '$1|$2', ['aaa']],
  ['(a|ab)(c|bcd)(d*)', '$1|$2|$3', ['abcd']],
  ['(?P<user>\\w+)@(?P<host>.+)', '${host}/$user', ['me@example.org']],
  ['(a*)+', '[$1]', ['b', 'aa']],
  ['(a+)(b)?', '$1-$2-$3-$1x-${1}x', ['aa', 'aab']],
  ['(?i)(K+)(.*)', '$2$1', ['kK\u212ax']],
  ['(.)(.)', '$2$1', ['😀é']],
  ['(?P<a>x)(?P<a>y)', '$a${a}', ['xy']],
  ['(a*?)(a*)', '$1|$2', ['aa']],
  ['(?U)(a??)(a*)', '$1|$2', ['aa']],
  ['(?U)(a*?)(a*)', '$1|$2', ['aa']],
  ['(x)?(y)', '[$1][$2]', ['y']],
  // Go keeps $2 = "a" from an earlier repetition; JavaScript's engine would clear it.
  ['((a)|b)+', '$1$2', ['ab']],
  ['(?:(a)|(b))+', '$1$2', ['ab', 'ba']],
  ['(a+)+b', '[$1]', ['aab']],
  ['(a*)*', '[$1]', ['aa', 'b']],
  ['(a|)+', '[$1]', ['aa']],
  ['(a*)+', '[$1]', ['aa']],
  ['(a?)*?b', '[$1]', ['aab']],
];

// Patterns Go rejects, checked with promtool.
const invalidPatterns = [
  'a\\1',
  'a(?=b)',
  '(?<=a)b',
  'a++',
  'a**',
  '\\C',
  '\\Z',
  'a{1001}',
  '[z-a]',
  '\\p{Klingon}',
  '[[:alfa:]]',
  '(?>a)',
  '(?#c)a',
  '(?x)a',
  '\\8',
  'a{2}{3}',
  '*a',
  '(abc',
  'abc)',
  '[abc',
  'abc\\',
  '[a-\\d]',
  '(a{100}){20}',
  '('.repeat(1001) + ')'.repeat(1001),
];

interface ApiTarget {
  discoveredLabels: Record<string, string>;
  labels?: Record<string, string>;
  scrapePool?: string;
}

test('relabeling and target labels agree with Prometheus', { timeout: 60_000 }, async (t) => {
  const prom = requirePeer(t, 'prometheus', 'prometheus');
  if (prom === null) return;
  const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-relabel-'));
  let server: RunningServer | null = null;
  t.after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Our side: jobs as the collector would configure them.
  const mesh: TargetJobConfig = {
    jobName: 'mesh',
    scrapeIntervalMs: 30_000,
    scrapeTimeoutMs: 10_000,
    metricsPath: '/metrics',
    scheme: 'http',
    params: { format: ['prometheus'] },
    relabel: compileRelabelConfigs(meshRules),
  };
  const https: TargetJobConfig = {
    jobName: 'mesh-https',
    scrapeIntervalMs: 60_000,
    scrapeTimeoutMs: 10_000,
    metricsPath: '/admin/metrics',
    scheme: 'https',
    relabel: compileRelabelConfigs([{ source_labels: ['__address__'], target_label: 'addr' }]),
  };
  const regexJobs = regexCases.map(([pattern, inputs], k) => ({
    name: `re_${k}`,
    pattern,
    inputs,
    rules: [
      { source_labels: ['__meta_input'], regex: `(?s:${pattern})`, action: 'keep' },
    ] as RelabelConfig[],
  }));
  const captureJobs = captureCases.map(([pattern, replacement, inputs], k) => ({
    name: `cap_${k}`,
    pattern,
    inputs,
    rules: [
      {
        source_labels: ['__meta_input'],
        regex: `(?s:${pattern})`,
        target_label: 'cap',
        replacement,
      },
    ] as RelabelConfig[],
  }));

  const staticJob = (
    name: string,
    groups: Group[],
    extra: Record<string, unknown>,
    rules: RelabelConfig[],
  ) => ({
    job_name: name,
    ...extra,
    static_configs: groups,
    relabel_configs: rules,
  });
  const inputGroups = (job: string, inputs: string[]): Group[] =>
    inputs.map((s, j) => ({
      targets: [`127.0.0.1:${j + 1}`],
      labels: { __meta_input: s, __meta_id: `${job}:${j}` },
    }));
  const config = {
    global: { scrape_interval: '1m', scrape_timeout: '10s' },
    scrape_configs: [
      staticJob(
        'mesh',
        meshGroups(),
        { scrape_interval: '30s', params: { format: ['prometheus'] } },
        meshRules,
      ),
      staticJob('mesh-https', httpsGroups, { scheme: 'https', metrics_path: '/admin/metrics' }, [
        { source_labels: ['__address__'], target_label: 'addr' },
      ]),
      ...regexJobs.map((j) => staticJob(j.name, inputGroups(j.name, j.inputs), {}, j.rules)),
      ...captureJobs.map((j) => staticJob(j.name, inputGroups(j.name, j.inputs), {}, j.rules)),
    ],
  };
  const cfgFile = join(dir, 'prometheus.yml');
  writeFileSync(cfgFile, stringify(config));

  // Expected listings, computed by us, keyed by job and __meta_id.
  const ours = new Map<string, ReturnType<typeof finishTargetLabels>>();
  const finishAll = (job: TargetJobConfig, groups: Group[]): void => {
    for (const g of groups) {
      for (const addr of g.targets) {
        const discovered = Labels.from({ ...g.labels, __address__: addr });
        ours.set(`${g.labels.__meta_id}/${addr}`, finishTargetLabels(discovered, job));
      }
    }
  };
  finishAll(mesh, meshGroups());
  finishAll(https, httpsGroups);
  for (const j of [...regexJobs, ...captureJobs]) {
    const job: TargetJobConfig = {
      jobName: j.name,
      scrapeIntervalMs: 60_000,
      scrapeTimeoutMs: 10_000,
      metricsPath: '/metrics',
      scheme: 'http',
      relabel: compileRelabelConfigs(j.rules),
    };
    finishAll(job, inputGroups(j.name, j.inputs));
  }
  const expectedListed = [...ours.values()].filter((r) => r.discoveredLabels !== null).length;

  server = await startPrometheus(null, prom, { configFile: cfgFile, dataDir: join(dir, 'data') });

  // Poll until every target is listed (discovery and the scrape manager update every 5 s).
  let active: ApiTarget[] = [];
  let dropped: ApiTarget[] = [];
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    if (server.child.exitCode !== null) assert.fail(`prometheus exited: ${server.stderr()}`);
    try {
      const res = await fetch(`${server.base}/api/v1/targets`);
      if (!res.ok) continue;
      const body = (await res.json()) as {
        data: { activeTargets: ApiTarget[]; droppedTargets: ApiTarget[] };
      };
      active = body.data.activeTargets;
      dropped = body.data.droppedTargets;
      if (active.length + dropped.length >= expectedListed) break;
    } catch {
      // not up yet
    }
  }

  const theirs = new Map<
    string,
    { labels: Record<string, string> | null; discovered: Record<string, string> }
  >();
  // Prometheus 2.42 relabels a dropped target's discovered labels in place (fixed in later
  // versions), so only labels that sort before every rewritten one identify it.
  const keyOf = (d: Record<string, string>): string => `${d.__meta_id}/${d.__address__}`;
  for (const a of active)
    theirs.set(keyOf(a.discoveredLabels), {
      labels: a.labels ?? {},
      discovered: a.discoveredLabels,
    });
  for (const d of dropped)
    theirs.set(keyOf(d.discoveredLabels), { labels: null, discovered: d.discoveredLabels });

  await t.test('the same targets are listed (invalid ones are not)', () => {
    const listed = [...ours]
      .filter(([, r]) => r.discoveredLabels !== null)
      .map(([k]) => k)
      .sort();
    assert.deepEqual([...theirs.keys()].sort(), listed);
  });

  await t.test('the same targets are dropped', () => {
    const oursDropped = [...ours]
      .filter(([, r]) => r.discoveredLabels !== null && r.labels === null)
      .map(([k]) => k)
      .sort();
    const theirsDropped = [...theirs]
      .filter(([, r]) => r.labels === null)
      .map(([k]) => k)
      .sort();
    assert.deepEqual(oursDropped, theirsDropped);
    assert.ok(
      oursDropped.length > 5 && oursDropped.length < ours.size - 5,
      'a meaningful mix of kept and dropped',
    );
  });

  await t.test(
    'discovered labels match (job, scheme, path, interval, timeout, params added)',
    () => {
      let compared = 0;
      for (const [k, r] of ours) {
        const p = theirs.get(k);
        if (!p || r.discoveredLabels === null) continue;
        // 2.42 rewrites discovered labels in place during relabeling (fixed in later versions):
        // only names that sort before every label a rule adds (`__tmp_shard`, `addr`, `app`,
        // `cap`…) are still intact. Keep-only jobs add nothing, so they compare in full.
        const intact = (o: Record<string, string>): Record<string, string> =>
          Object.fromEntries(Object.entries(o).filter(([n]) => n < '__tmp' || k.startsWith('re_')));
        const mine = r.discoveredLabels.toObject();
        assert.deepEqual(intact(mine), intact(p.discovered), k);
        if (k.startsWith('re_')) assert.equal(mine.job, p.discovered.job);
        compared++;
      }
      assert.ok(compared > 100, `compared ${compared}`);
    },
  );

  await t.test('final labels match (instance defaulting, __ labels removed)', () => {
    let compared = 0;
    for (const [k, r] of ours) {
      const p = theirs.get(k);
      if (!p || p.labels === null) continue;
      assert.notEqual(r.publicLabels, null, `${k} kept by Prometheus`);
      assert.deepEqual(r.publicLabels!.toObject(), p.labels, k);
      compared++;
    }
    assert.ok(compared > 20, `compared ${compared} active targets`);
  });

  await t.test('2.42 adds the scheme default port to a bare host, and instance takes it', () => {
    const bare = [...theirs].filter(
      ([k, p]) =>
        p.labels !== null &&
        !p.labels.instance.startsWith('custom-') &&
        /\/(localhost|127\.0\.0\.1|\[::1\])$/.test(k),
    );
    assert.ok(bare.length >= 3, `bare-host targets listed: ${bare.length}`);
    for (const [k, p] of bare) {
      const host = k.slice(k.indexOf('/') + 1);
      assert.equal(p.labels!.instance, host + (k.startsWith('mesh-https') ? ':443' : ':80'), k);
    }
  });

  await t.test('regex matching agrees with Go for every oracle input', () => {
    for (const j of regexJobs) {
      const m = new FastRegexMatcher(j.pattern);
      j.inputs.forEach((input, idx) => {
        const p = theirs.get(`${j.name}:${idx}/127.0.0.1:${idx + 1}`);
        assert.ok(p, `${j.name} input ${idx} listed`);
        assert.equal(
          m.matches(input),
          p.labels !== null,
          `${JSON.stringify(j.pattern)} ~ ${JSON.stringify(input)}`,
        );
      });
    }
  });

  await t.test('captures and template expansion agree with Go', () => {
    for (const j of captureJobs) {
      const cfgs = compileRelabelConfigs([
        {
          source_labels: ['in'],
          regex: j.pattern,
          target_label: 'cap',
          replacement: captureCases[Number(j.name.slice(4))][1],
        },
      ]);
      j.inputs.forEach((input, idx) => {
        const p = theirs.get(`${j.name}:${idx}/127.0.0.1:${idx + 1}`);
        assert.ok(p && p.labels, `${j.name} input ${idx} active`);
        const got = relabel(Labels.from({ in: input }), cfgs)!;
        assert.equal(
          got.get('cap'),
          p.labels.cap ?? '',
          `${JSON.stringify(j.pattern)} on ${JSON.stringify(input)}`,
        );
      });
    }
  });
});

test('patterns Go rejects are rejected by promtool and by us', { timeout: 60_000 }, async (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  assert.ok(findProgram('promtool'));
  const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-re2-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const pattern of invalidPatterns) {
    const file = join(dir, 'p.yml');
    writeFileSync(
      file,
      stringify({
        scrape_configs: [
          {
            job_name: 'x',
            static_configs: [{ targets: ['127.0.0.1:1'] }],
            relabel_configs: [{ source_labels: ['a'], regex: pattern, action: 'keep' }],
          },
        ],
      }),
    );
    const r = spawnSync(promtool, ['check', 'config', file], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, `promtool accepted ${pattern}`);
    assert.throws(
      () => compileRelabelConfigs([{ source_labels: ['a'], regex: pattern, action: 'keep' }]),
      /invalid regex/,
      pattern,
    );
  }
  // And a valid one is accepted by both, so the check above is meaningful.
  const file = join(dir, 'ok.yml');
  writeFileSync(
    file,
    stringify({
      scrape_configs: [
        {
          job_name: 'x',
          static_configs: [{ targets: ['127.0.0.1:1'] }],
          relabel_configs: [
            { source_labels: ['a'], regex: '(?i)a\\z[[:alpha:]]\\pL\\x{41}', action: 'keep' },
          ],
        },
      ],
    }),
  );
  const r = spawnSync(promtool, ['check', 'config', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

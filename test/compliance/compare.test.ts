// The compliance test's own parts: template expansion, the upstream tolerance, the verdict
// rules, set comparison and the version-difference rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  ISSUE_TOLERANCE,
  UPSTREAM_TOLERANCE,
  compareSets,
  judge,
  maxRelativeDifference,
  valuesEqual,
  type ApiReply,
} from './compare.js';
import { expandTemplates, readTemplates } from './queries.js';
import { REPO_ROOT } from './servers.js';
import { durationMs, leftOpenEquivalent, utf8LabelNameChange } from './version-rules.js';
import { generateDemoData } from './demo-data.js';
import { isStaleNaN, STALE_NAN } from '../../src/model/stale.js';

test('expands the upstream list to 539 queries, 5 of them should_fail, host replaced', () => {
  const file = join(
    REPO_ROOT,
    '..',
    'shared',
    'peer-tests',
    'compliance',
    'promql-test-queries.yml',
  );
  const templates = readTemplates(file);
  assert.equal(templates.length, 118);
  const qs = expandTemplates(templates, 'example.test');
  assert.equal(qs.length, 539);
  assert.equal(qs.filter((q) => q.shouldFail).length, 5);
  assert.ok(qs.every((q) => !q.query.includes('{{') && !q.query.includes('demo.promlabs.com')));
  assert.ok(qs.some((q) => q.query.includes('instance!="example.test:10000"')));
});

test('expands several variant args as a cartesian product, first name slowest', () => {
  const qs = expandTemplates(
    [
      {
        query: '{{.instantRateFunc}}(x[{{.offset}}])',
        variant_args: ['instantRateFunc', 'offset'],
      },
    ],
    'h',
  ).map((q) => q.query);
  assert.deepEqual(qs, [
    'idelta(x[1m])',
    'idelta(x[5m])',
    'idelta(x[10m])',
    'irate(x[1m])',
    'irate(x[5m])',
    'irate(x[10m])',
  ]);
});

test('values compare with the upstream tolerance', () => {
  const f = (a: string, b: string, want: boolean): void =>
    assert.equal(valuesEqual(a, b), want, `${a} vs ${b}`);
  f('1', '1', true);
  f('NaN', 'NaN', true);
  f('NaN', '1', false);
  f('+Inf', '+Inf', true);
  f('+Inf', '-Inf', false);
  f('100000', '100000.9', true); // 0.9 ≤ 1e-5·100000
  f('100000', '100001.1', false);
  f('0', '1e-300', false); // margin 0: zero equals only zero
  f('-2', '-2.00001', true);
});

const ok = (resultType: string, result: unknown): ApiReply => ({
  httpStatus: 200,
  status: 'success',
  resultType,
  result,
});
const fail = (httpStatus: number, errorType: string): ApiReply => ({
  httpStatus,
  status: 'error',
  errorType,
  error: 'x',
});
const vec = (pairs: [Record<string, string>, string][]): ApiReply =>
  ok(
    'vector',
    pairs.map(([metric, v]) => ({ metric, value: [10, v] })),
  );

test('verdicts follow the upstream tester, plus error kinds', () => {
  const cases: [string, ApiReply, ApiReply, boolean, string, string][] = [
    [
      'same vector, other order',
      vec([
        [{ a: '1' }, '1'],
        [{ a: '2' }, '2'],
      ]),
      vec([
        [{ a: '2' }, '2'],
        [{ a: '1' }, '1'],
      ]),
      false,
      'passed',
      '',
    ],
    [
      'label order inside a set does not matter',
      vec([[{ a: '1', b: '2' }, '1']]),
      vec([[{ b: '2', a: '1' }, '1']]),
      false,
      'passed',
      '',
    ],
    [
      'a missing series',
      vec([
        [{ a: '1' }, '1'],
        [{ a: '2' }, '2'],
      ]),
      vec([[{ a: '1' }, '1']]),
      false,
      'failed',
      'series differ',
    ],
    [
      'a value off',
      vec([[{ a: '1' }, '1']]),
      vec([[{ a: '1' }, '1.1']]),
      false,
      'failed',
      'values differ',
    ],
    [
      'a point missing',
      ok('matrix', [
        {
          metric: {},
          values: [
            [1, '1'],
            [2, '1'],
          ],
        },
      ]),
      ok('matrix', [{ metric: {}, values: [[1, '1']] }]),
      false,
      'failed',
      'timestamps differ',
    ],
    [
      'result type',
      ok('scalar', [1, '1']),
      vec([[{}, '1']]),
      false,
      'failed',
      'result type differs',
    ],
    ['ours fails', vec([]), fail(422, 'execution'), false, 'failed', 'unexpected failure'],
    [
      'ours says 501',
      vec([]),
      { ...fail(501, 'internal'), error: 'not implemented (501)' },
      false,
      'unsupported',
      'unexpected failure',
    ],
    [
      'ours succeeds where it should fail',
      fail(400, 'bad_data'),
      vec([]),
      true,
      'failed',
      'unexpected success',
    ],
    ['both fail alike', fail(422, 'execution'), fail(422, 'execution'), true, 'passed', ''],
    [
      'both fail, other kind',
      fail(422, 'execution'),
      fail(400, 'bad_data'),
      true,
      'failed',
      'error kind differs',
    ],
    [
      'reference fails a good case',
      fail(422, 'execution'),
      vec([]),
      false,
      'setup-broken',
      'reference failed',
    ],
  ];
  for (const [name, ref, ours, shouldFail, verdict, cause] of cases) {
    const o = judge(ref, ours, shouldFail);
    assert.equal(o.verdict, verdict, name);
    assert.equal(o.cause, cause, name);
  }
});

test('metadata lists compare as sets', () => {
  const list = (xs: unknown[]): ApiReply => ({ httpStatus: 200, status: 'success', result: xs });
  assert.equal(compareSets(list(['a', 'b']), list(['b', 'a'])).verdict, 'passed');
  assert.equal(
    compareSets(list([{ a: '1', b: '2' }]), list([{ b: '2', a: '1' }])).verdict,
    'passed',
  );
  assert.equal(compareSets(list(['a', 'b']), list(['a'])).verdict, 'failed');
});

test('left-open rule shortens every range and subquery range by 1 ms', () => {
  const f = (q: string, want: string | null): void => assert.equal(leftOpenEquivalent(q), want, q);
  f('rate(x[5m])', 'rate(x[299999ms])');
  f(
    'max_over_time((time() - x)[5m:10s] offset 5m)',
    'max_over_time((time() - x)[299999ms:10s] offset 5m)',
  );
  f('avg_over_time(rate(x[1m])[2m:])', 'avg_over_time(rate(x[59999ms])[119999ms:])');
  f('x offset 5m', null);
  f('x{a=~"[ab]"}', null);
  assert.equal(durationMs('1h30m'), 5_400_000);
  assert.equal(durationMs('5x'), null);
});

test('UTF-8 label-name rule applies only to valid UTF-8 names 2.42 refused', () => {
  const f = (err: string, want: string | null): void =>
    assert.equal(utf8LabelNameChange(err), want, err);
  f('invalid destination label name in label_replace(): ~invalid', '~invalid');
  f('invalid destination label name in label_join(): 1abc', '1abc');
  f('invalid destination label name in label_join(): \uFFFD', null);
  f('invalid destination label name in label_join(): ok_name', null);
  f('invalid regular expression in label_replace(): (.*', null);
});

test('the demo data is the same every run, ends with # EOF, and marks staleness', () => {
  const opts = { endMs: Date.UTC(2026, 0, 1), durationMs: 180_000, host: 'h', seed: 7 };
  const a = generateDemoData(opts, STALE_NAN);
  assert.equal(a.openMetrics, generateDemoData(opts, STALE_NAN).openMetrics);
  assert.ok(a.openMetrics.endsWith('# EOF\n'));
  assert.match(a.openMetrics, /^demo_num_cpus\{instance="h:10000",job="demo"\} 4 \d+\.\d{3}$/m);
  assert.match(
    a.openMetrics,
    /^demo_api_request_duration_seconds_bucket\{instance="h:10002",job="demo",method="POST",path="\/api\/foo",status="500",le="\+Inf"\} /m,
  );
  assert.ok(!a.openMetrics.includes('demo_intermittent_metric'));
  assert.notEqual(a.openMetrics, generateDemoData({ ...opts, seed: 8 }, STALE_NAN).openMetrics);
  // Minutes 23:57 (odd), 23:58, 23:59, 00:00: present in even minutes, one stale marker after each.
  assert.equal(a.staleSeries.length, 3);
  for (const s of a.staleSeries) {
    const stale = [...s.vs].flatMap((v, i) => (isStaleNaN(v) ? [s.ts[i]] : []));
    assert.equal(stale.length, 1, JSON.stringify(s.labels));
    assert.equal(Math.floor(stale[0] / 60_000) % 2, 1);
    assert.ok(s.ts.every((t, i) => isStaleNaN(s.vs[i]) || Math.floor(t / 60_000) % 2 === 0));
  }
});

test('values compare with the issue tolerance of 1e-6', () => {
  const cases: [string, string, boolean][] = [
    ['100000', '100000.09', true], // 0.09 ≤ 1e-6·100000
    ['100000', '100000.11', false],
    ['100000', '100000.9', false], // passes at 1e-5, fails at 1e-6
    ['NaN', 'NaN', true],
    ['-Inf', '-Inf', true],
  ];
  for (const [a, b, want] of cases)
    assert.equal(valuesEqual(a, b, ISSUE_TOLERANCE), want, `${a} vs ${b}`);
  assert.equal(
    judge(ok('scalar', [1, '1']), ok('scalar', [1, '1.000002']), false, ISSUE_TOLERANCE).verdict,
    'failed',
  );
  assert.equal(
    judge(ok('scalar', [1, '1']), ok('scalar', [1, '1.000002']), false, UPSTREAM_TOLERANCE).verdict,
    'passed',
  );
});

test('the largest relative difference between two answers', () => {
  const vec = (...vs: [string, string][]): ApiReply =>
    ok(
      'vector',
      vs.map(([pod, v]) => ({ metric: { pod }, value: [10, v] })),
    );
  const cases: [ApiReply, ApiReply, number][] = [
    [vec(['a', '1'], ['b', '2']), vec(['a', '1'], ['b', '2']), 0],
    [vec(['a', '100'], ['b', '2']), vec(['a', '100.001'], ['b', '2']), 1e-5],
    [vec(['a', 'NaN']), vec(['a', 'NaN']), 0],
    [vec(['a', '+Inf']), vec(['a', '1']), 0], // not finite: judged by valuesEqual, not measured
    [vec(['a', '1']), vec(['b', '2']), 0], // no common series
    [ok('scalar', [1, '4']), ok('scalar', [1, '4.000004']), 1e-6],
  ];
  for (const [a, b, want] of cases) {
    const got = maxRelativeDifference(a, b);
    assert.ok(Math.abs(got - want) <= 1e-12, `got ${got}, want ${want}`);
  }
});

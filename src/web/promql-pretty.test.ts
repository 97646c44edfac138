// Cases ported from Prometheus's promql/parser/prettier_test.go (Apache-2.0, The Prometheus
// Authors), which run with maxCharactersPerLine = 10. The duration-expression cases are left
// out: 2.42 has no duration arithmetic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExpr } from '../promql/index.js';
import { prettyExpr } from './promql-pretty.js';
import { exprString, formatPromDuration, goFloatString } from './promql-print.js';

const pretty10 = (q: string): string =>
  prettyExpr(parseExpr(q), { source: q, maxCharactersPerLine: 10 });

const upstream: Record<string, [string, string][]> = {
  aggregation: [
    ['sum(foo)', 'sum(foo)'],
    ['sum by() (task:errors:rate10s{job="s"})', 'sum(\n  task:errors:rate10s{job="s"}\n)'],
    [
      'sum without(job,foo) (task:errors:rate10s{job="s"})',
      'sum without (job, foo) (\n  task:errors:rate10s{job="s"}\n)',
    ],
    [
      'sum(task:errors:rate10s{job="s"}) without(job,foo)',
      'sum without (job, foo) (\n  task:errors:rate10s{job="s"}\n)',
    ],
    [
      'sum by(job,foo) (task:errors:rate10s{job="s"})',
      'sum by (job, foo) (\n  task:errors:rate10s{job="s"}\n)',
    ],
    [
      'sum (task:errors:rate10s{job="s"}) by(job,foo)',
      'sum by (job, foo) (\n  task:errors:rate10s{job="s"}\n)',
    ],
    ['topk(10, ask:errors:rate10s{job="s"})', 'topk(\n  10,\n  ask:errors:rate10s{job="s"}\n)'],
    [
      'sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"}))',
      'sum by (job, foo) (\n  sum by (job, foo) (\n    task:errors:rate10s{job="s"}\n  )\n)',
    ],
    [
      'sum by(job,foo) (sum by(job,foo) (sum by(job,foo) (task:errors:rate10s{job="s"})))',
      'sum by (job, foo) (\n  sum by (job, foo) (\n    sum by (job, foo) (\n      task:errors:rate10s{job="s"}\n    )\n  )\n)',
    ],
    [
      'sum by(job,foo)\n(sum by(job,foo) (task:errors:rate10s{job="s"}))',
      'sum by (job, foo) (\n  sum by (job, foo) (\n    task:errors:rate10s{job="s"}\n  )\n)',
    ],
    [
      'sum by(job,foo)\n(sum(task:errors:rate10s{job="s"}) without(job,foo))',
      'sum by (job, foo) (\n  sum without (job, foo) (\n    task:errors:rate10s{job="s"}\n  )\n)',
    ],
    [
      'sum by(job,foo) # Comment 1.\n(sum by(job,foo) ( # Comment 2.\ntask:errors:rate10s{job="s"}))',
      'sum by (job, foo) (\n  sum by (job, foo) (\n    task:errors:rate10s{job="s"}\n  )\n)',
    ],
  ],
  binary: [
    ['a+b', 'a + b'],
    ['a == bool 1', '  a\n== bool\n  1'],
    ['a + ignoring(job) b', '  a\n+ ignoring (job)\n  b'],
    ['foo_1 + foo_2', '  foo_1\n+\n  foo_2'],
    ['foo_1 + foo_2 + foo_3', '    foo_1\n  +\n    foo_2\n+\n  foo_3'],
    ['foo + baar + foo_3', '  foo + baar\n+\n  foo_3'],
    [
      'foo_1 + foo_2 + foo_3 + foo_4',
      '      foo_1\n    +\n      foo_2\n  +\n    foo_3\n+\n  foo_4',
    ],
    [
      'foo_1 + ignoring(foo) foo_2 + ignoring(job) group_left foo_3 + on(instance) group_right foo_4',
      '      foo_1\n    + ignoring (foo)\n      foo_2\n  + ignoring (job) group_left ()\n    foo_3\n+ on (instance) group_right ()\n  foo_4',
    ],
  ],
  call: [
    ['rate(foo[1m])', 'rate(\n  foo[1m]\n)'],
    ['sum_over_time(foo[1m])', 'sum_over_time(\n  foo[1m]\n)'],
    [
      'rate(long_vector_selector[10m:1m] @ start() offset 1m)',
      'rate(\n  long_vector_selector[10m:1m] @ start() offset 1m\n)',
    ],
    [
      'histogram_quantile(0.9, rate(foo[1m]))',
      'histogram_quantile(\n  0.9,\n  rate(\n    foo[1m]\n  )\n)',
    ],
    [
      'max_over_time(rate(demo_api_request_duration_seconds_count[1m])[1m:] @ start() offset 1m)',
      'max_over_time(\n  rate(\n    demo_api_request_duration_seconds_count[1m]\n  )[1m:] @ start() offset 1m\n)',
    ],
    [
      'label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*")',
      'label_replace(\n  up{job="api-server",service="a:c"},\n  "foo",\n  "$1",\n  "service",\n  "(.*):.*"\n)',
    ],
    [
      'label_replace(label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*"), "foo", "$1", "service", "(.*):.*")',
      'label_replace(\n  label_replace(\n    up{job="api-server",service="a:c"},\n    "foo",\n    "$1",\n    "service",\n    "(.*):.*"\n  ),\n  "foo",\n  "$1",\n  "service",\n  "(.*):.*"\n)',
    ],
  ],
  paren: [
    ['(foo)', '(foo)'],
    ['(_foo_long_)', '(\n  _foo_long_\n)'],
    ['((foo_long))', '(\n  (foo_long)\n)'],
    ['((_foo_long_))', '(\n  (\n    _foo_long_\n  )\n)'],
    ['(((foo_long)))', '(\n  (\n    (foo_long)\n  )\n)'],
  ],
  'step invariant': [
    ['a @ 1', 'a @ 1.000'],
    ['a @ start()', 'a @ start()'],
    ['vector_selector @ start()', 'vector_selector @ start()'],
  ],
  expr: [
    ['(1 + 2)', '(1 + 2)'],
    ['(foo + bar)', '(\n  foo + bar\n)'],
    ['(foo_long + bar_long)', '(\n    foo_long\n  +\n    bar_long\n)'],
    [
      '(foo_long + bar_long + bar_2_long)',
      '(\n      foo_long\n    +\n      bar_long\n  +\n    bar_2_long\n)',
    ],
    [
      '((foo_long + bar_long) + bar_2_long)',
      '(\n    (\n        foo_long\n      +\n        bar_long\n    )\n  +\n    bar_2_long\n)',
    ],
    ['(1111 + 2222)', '(\n    1111\n  +\n    2222\n)'],
    ['(sum_over_time(foo[1m]))', '(\n  sum_over_time(\n    foo[1m]\n  )\n)'],
    [
      'histogram_quantile(0.9, rate(foo[1m] @ start()))',
      'histogram_quantile(\n  0.9,\n  rate(\n    foo[1m] @ start()\n  )\n)',
    ],
    [
      '(label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*"))',
      '(\n  label_replace(\n    up{job="api-server",service="a:c"},\n    "foo",\n    "$1",\n    "service",\n    "(.*):.*"\n  )\n)',
    ],
    [
      '(label_replace(label_replace(up{job="api-server",service="a:c"}, "foo", "$1", "service", "(.*):.*"), "foo", "$1", "service", "(.*):.*"))',
      '(\n  label_replace(\n    label_replace(\n      up{job="api-server",service="a:c"},\n      "foo",\n      "$1",\n      "service",\n      "(.*):.*"\n    ),\n    "foo",\n    "$1",\n    "service",\n    "(.*):.*"\n  )\n)',
    ],
    [
      '(label_replace(label_replace((up{job="api-server",service="a:c"}), "foo", "$1", "service", "(.*):.*"), "foo", "$1", "service", "(.*):.*"))',
      '(\n  label_replace(\n    label_replace(\n      (\n        up{job="api-server",service="a:c"}\n      ),\n      "foo",\n      "$1",\n      "service",\n      "(.*):.*"\n    ),\n    "foo",\n    "$1",\n    "service",\n    "(.*):.*"\n  )\n)',
    ],
    // From https://monitoring.mixins.dev/, as upstream.
    [
      '(node_filesystem_avail_bytes{job="node",fstype!=""} / node_filesystem_size_bytes{job="node",fstype!=""} * 100 < 40 and predict_linear(node_filesystem_avail_bytes{job="node",fstype!=""}[6h], 24*60*60) < 0 and node_filesystem_readonly{job="node",fstype!=""} == 0)',
      `(
            node_filesystem_avail_bytes{fstype!="",job="node"}
          /
            node_filesystem_size_bytes{fstype!="",job="node"}
        *
          100
      <
        40
    and
        predict_linear(
          node_filesystem_avail_bytes{fstype!="",job="node"}[6h],
            24 * 60
          *
            60
        )
      <
        0
  and
      node_filesystem_readonly{fstype!="",job="node"}
    ==
      0
)`,
    ],
    [
      '(node_timex_offset_seconds > 0.05 and deriv(node_timex_offset_seconds[5m]) >= 0) or (node_timex_offset_seconds < -0.05 and deriv(node_timex_offset_seconds[5m]) <= 0)',
      `  (
        node_timex_offset_seconds
      >
        0.05
    and
        deriv(
          node_timex_offset_seconds[5m]
        )
      >=
        0
  )
or
  (
        node_timex_offset_seconds
      <
        -0.05
    and
        deriv(
          node_timex_offset_seconds[5m]
        )
      <=
        0
  )`,
    ],
    [
      '1 - ((node_memory_MemAvailable_bytes{job="node"} or (node_memory_Buffers_bytes{job="node"} + node_memory_Cached_bytes{job="node"} + node_memory_MemFree_bytes{job="node"} + node_memory_Slab_bytes{job="node"}) ) / node_memory_MemTotal_bytes{job="node"})',
      `  1
-
  (
      (
          node_memory_MemAvailable_bytes{job="node"}
        or
          (
                  node_memory_Buffers_bytes{job="node"}
                +
                  node_memory_Cached_bytes{job="node"}
              +
                node_memory_MemFree_bytes{job="node"}
            +
              node_memory_Slab_bytes{job="node"}
          )
      )
    /
      node_memory_MemTotal_bytes{job="node"}
  )`,
    ],
    [
      'min by (job, integration) (rate(alertmanager_notifications_failed_total{job="alertmanager", integration=~".*"}[5m]) / rate(alertmanager_notifications_total{job="alertmanager", integration="~.*"}[5m])) > 0.01',
      `  min by (job, integration) (
      rate(
        alertmanager_notifications_failed_total{integration=~".*",job="alertmanager"}[5m]
      )
    /
      rate(
        alertmanager_notifications_total{integration="~.*",job="alertmanager"}[5m]
      )
  )
>
  0.01`,
    ],
    [
      '(count by (job) (changes(process_start_time_seconds{job="alertmanager"}[10m]) > 4) / count by (job) (up{job="alertmanager"})) >= 0.5',
      `  (
      count by (job) (
          changes(
            process_start_time_seconds{job="alertmanager"}[10m]
          )
        >
          4
      )
    /
      count by (job) (
        up{job="alertmanager"}
      )
  )
>=
  0.5`,
    ],
  ],
  unary: [
    ['-1', '-1'],
    ['-vector_selector', '-vector_selector'],
    ['(-vector_selector)', '(\n  -vector_selector\n)'],
    [
      '-histogram_quantile(0.9,rate(foo[1m]))',
      '-histogram_quantile(\n  0.9,\n  rate(\n    foo[1m]\n  )\n)',
    ],
    [
      '-histogram_quantile(0.99, sum by (le) (rate(foo[1m])))',
      '-histogram_quantile(\n  0.99,\n  sum by (le) (\n    rate(\n      foo[1m]\n    )\n  )\n)',
    ],
    [
      '-histogram_quantile(0.9, -rate(foo[1m] @ start()))',
      '-histogram_quantile(\n  0.9,\n  -rate(\n    foo[1m] @ start()\n  )\n)',
    ],
    [
      '(-histogram_quantile(0.9, -rate(foo[1m] @ start())))',
      '(\n  -histogram_quantile(\n    0.9,\n    -rate(\n      foo[1m] @ start()\n    )\n  )\n)',
    ],
  ],
};

/**
 * Upstream cases our parser cannot take yet, reported as TODO (they still run): a comment
 * right after an aggregation's `(` reaches the tree walker as a LineComment node, which
 * src/promql/parser/parser.ts does not skip ("unexpected "# Comment 2."").
 */
for (const [group, cases] of Object.entries(upstream)) {
  for (const [input, want] of cases) {
    test(`prettier_test.go ${group}: ${JSON.stringify(input)}`, () => {
      assert.equal(pretty10(input), want);
    });
  }
}

// Checked by hand against Prometheus 2.42 (test/promql-text.test.ts compares them live).
const edges: [string, string, string][] = [
  [
    'a short subquery inside a split call keeps no indent (as the Go code does)',
    'quantile_over_time(scalar(long_metric_name), x[5m:1m])',
    'quantile_over_time(\n  scalar(\n    long_metric_name\n  ),\nx[5m:1m]\n)',
  ],
  ['limit counts UTF-8 bytes, not characters', 'x{a="üüü"}', 'x{a="üüü"}'],
  [
    'a long unary operand moves its indent before the operator',
    '-(foo_long_x)',
    '-(\n  foo_long_x\n)',
  ],
];
for (const [name, input, want] of edges) {
  test(name, () => assert.equal(pretty10(input), want));
}

test('fits in 100 characters: one line, as String()', () => {
  const q = 'sum by (namespace) (rate(request_total{direction="inbound"}[1m]))';
  assert.equal(prettyExpr(parseExpr(q), { source: q }), exprString(parseExpr(q), q));
});

test('goFloatString writes numbers as Go fmt.Sprint(float64)', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [-0, '-0'],
    [1000, '1000'],
    [123456, '123456'],
    [1234567, '1.234567e+06'],
    [1e6, '1e+06'],
    [1e21, '1e+21'],
    [1.5e300, '1.5e+300'],
    [0.0001, '0.0001'],
    [0.000012345, '1.2345e-05'],
    [5e-324, '5e-324'],
    [12345678901234567000, '1.2345678901234567e+19'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ];
  for (const [v, want] of cases) assert.equal(goFloatString(v), want, String(v));
});

test('formatPromDuration uses years and weeks only when exact', () => {
  const day = 24 * 3600_000;
  const cases: [number, string][] = [
    [0, '0s'],
    [90_000, '1m30s'],
    [14 * day, '2w'],
    [365 * day, '1y'],
    [381 * day + 4 * 3600_000 + 7, '381d4h7ms'],
    [10 * day, '10d'],
  ];
  for (const [ms, want] of cases) assert.equal(formatPromDuration(ms), want, String(ms));
});

test('{__name__="x"} prints as written when the source is known', () => {
  for (const [q, want] of [
    ['{__name__="x"}', '{__name__="x"}'],
    ['{__name__="x",a!="2"}', '{__name__="x",a!="2"}'],
    ['x{a!="2"}', 'x{a!="2"}'],
    ['rate({__name__="x"}[5m])', 'rate({__name__="x"}[5m])'],
  ]) {
    assert.equal(exprString(parseExpr(q), q), want);
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ParseError } from '../model/errors.js';
import {
  cardinalityStats,
  collectFamilies,
  lintExposition,
  lintFamily,
  type LintFamily,
} from './lint.js';

// Expected texts are promtool 2.42's (see test/promtool-check.test.ts for the live comparison).
test('lintFamily applies each promlint rule', () => {
  const f = (
    name: string,
    type: LintFamily['type'],
    want: string[],
    metrics: string[][] = [[]],
    help: string | null = 'h',
  ) =>
    assert.deepEqual(
      lintFamily({ name, type, help, metrics, parts: metrics.map(() => 0) }).map((p) => p.text),
      want,
      name,
    );
  f('ok_total', 'counter', []);
  f('ok', 'gauge', ['no help text'], [[]], '');
  f('ok', 'gauge', ['no help text'], [[]], null);
  f('requests', 'counter', ['counter metrics should have "_total" suffix']);
  f('temp_total', 'gauge', ['non-counter metrics should not have "_total" suffix']);
  f('temp_total', 'untyped', []);
  f('x_bucket', 'summary', ['non-histogram metrics should not have "_bucket" suffix']);
  f('x_count', 'gauge', ['non-histogram and non-summary metrics should not have "_count" suffix']);
  f('x_sum', 'summary', []);
  f('x_sum', 'gauge', ['non-histogram and non-summary metrics should not have "_sum" suffix']);
  f(
    'x',
    'gauge',
    [
      'non-histogram metrics should not have "le" label',
      'non-histogram metrics should not have "le" label',
    ],
    [['le'], ['le']],
  );
  f('x', 'histogram', ['non-summary metrics should not have "quantile" label'], [['quantile']]);
  f('x', 'untyped', [], [['le', 'quantile']]);
  f('latency_milliseconds', 'gauge', ['use base unit "seconds" instead of "milliseconds"']);
  f('size_kibibytes', 'gauge', ['use base unit "bytes" instead of "kibibytes"']);
  f('size_mebibytes', 'gauge', []); // "mebi" is not among promlint's prefixes
  f('thermometers_count_total', 'counter', []);
  f('temp_celsius_milliseconds', 'gauge', ['use base unit "seconds" instead of "milliseconds"']);
  f('my_gauge_value', 'gauge', ["metric name should not include type 'gauge'"]);
  f('my_GAUGE', 'untyped', ["metric name should not include type 'gauge'"]);
  f('a_gauge_histogram', 'gauge', [
    "metric name should not include type 'gauge'",
    "metric name should not include type 'histogram'",
    "metric name should not include type 'gauge_histogram'",
  ]);
  f('job:rate5m', 'gauge', ["metric names should not contain ':'"]);
  f('fooBar', 'gauge', ["metric names should be written in 'snake_case' not 'camelCase'"]);
  f(
    'x',
    'gauge',
    ["label names should be written in 'snake_case' not 'camelCase'"],
    [['podName', 'ns']],
  );
  f('Foo_bar', 'gauge', []);
  f('x_ms', 'gauge', ['metric names should not contain abbreviated units']);
  f('x_sec_ms', 'gauge', [
    'metric names should not contain abbreviated units',
    'metric names should not contain abbreviated units',
  ]);
});

test('collectFamilies groups lines as expfmt does', () => {
  const fams = collectFamilies(
    Buffer.from(
      '# TYPE s summary\ns{quantile="0.5",a="1"} 1\ns{quantile="0.9",a="1"} 1\ns_sum{a="1"} 1\ns_count{a="1"} 1\n' +
        's{quantile="0.5",a="2"} 1\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_count 1\n' +
        'g{x="1"} 1\ng{x="1"} 2\ns_extra 1\n# TYPE empty gauge\n',
    ),
  );
  assert.deepEqual(
    fams.map((f) => [f.name, f.type, f.metrics, f.parts]),
    [
      ['s', 'summary', [['a'], ['a']], [2, 1]],
      ['h', 'histogram', [[]], [2]],
      ['g', 'untyped', [['x'], ['x']], [0, 0]],
      ['s_extra', 'untyped', [[]], [0]],
    ],
  );
  assert.deepEqual(cardinalityStats(fams), {
    total: 15,
    stats: [
      { name: 's', cardinality: 8, share: 8 / 15 },
      { name: 'h', cardinality: 4, share: 4 / 15 },
      { name: 'g', cardinality: 2, share: 2 / 15 },
      { name: 's_extra', cardinality: 1, share: 1 / 15 },
    ],
  });
});

test('expfmt strictness beyond the scrape parser, with expfmt messages', () => {
  const cases: [string, string, number][] = [
    ['# HELP a x\n# HELP a y\na 1\n', 'second HELP line for metric name "a"', 2],
    [
      'a 1\n# TYPE a gauge\n',
      'second TYPE line for metric name "a", or TYPE reported after samples',
      2,
    ],
    ['a{b="x\\ty"} 1\n', "invalid escape sequence '\\t'", 1],
    ['# HELP a x\\ty\na 1\n', "invalid escape sequence '\\t'", 1],
    [
      '# TYPE a histogram\na_bucket{le="x"} 1\n',
      'expected float as value for \'le\' label, got "x"',
      2,
    ],
    ['a{b="1",b="2"} 1\n', 'duplicate label names for metric "a"', 1],
    ['a{__name__="b"} 1\n', 'label name "__name__" is reserved', 1],
    ['a 1\nb 2', 'unexpected end of input stream', 2],
  ];
  for (const [body, msg, line] of cases) {
    assert.throws(
      () => lintExposition(Buffer.from(body)),
      (err: unknown) =>
        err instanceof ParseError && err.line === line && err.message.startsWith(msg),
      body,
    );
  }
  // Accepted escapes and TYPE words in any case.
  assert.deepEqual(
    lintExposition(
      Buffer.from('# HELP a_total x\\\\y\\n\n# TYPE a_total COUNTER\na_total{b="\\"\\\\\\n"} 1\n'),
    ),
    [],
  );
});

test('OpenMetrics input: counters are judged by their _total name', () => {
  const body =
    '# HELP req Requests.\n# TYPE req counter\nreq_total 1\n# HELP t_seconds T.\n# TYPE t_seconds gauge\n# UNIT t_seconds seconds\nt_seconds 1.5\n# EOF\n';
  assert.deepEqual(lintExposition(Buffer.from(body), 'openmetrics'), []);
  assert.throws(() => lintExposition(Buffer.from('a 1\n'), 'openmetrics'), ParseError);
});

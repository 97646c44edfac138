import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { ParseError } from '../model/errors.js';
import { LabelsBuilder } from '../model/labels.js';
import { EntryType, ExpositionParser, type ExpositionFormat } from './parser.js';
import { decodeBody } from './parser-body.js';

/** Renders every entry of a body as one short line, calling labels() for each series. */
function entries(body: string | Buffer, format: ExpositionFormat = 'text'): string[] {
  const p = new ExpositionParser(typeof body === 'string' ? Buffer.from(body) : body, { format });
  const out: string[] = [];
  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    switch (t) {
      case EntryType.Series: {
        const ts = p.timestamp();
        const ex = p.exemplar();
        let s = `${p.labels().toString()} ${p.value()}${ts === null ? '' : ' @' + ts}`;
        if (ex)
          s += ` # ${ex.labels.toString()} ${ex.value}${ex.timestamp === null ? '' : ' @' + ex.timestamp}`;
        out.push(s);
        break;
      }
      case EntryType.Help:
        out.push(`help ${p.family()} ${JSON.stringify(p.help())}`);
        break;
      case EntryType.Type:
        out.push(`type ${p.family()} ${p.type()}`);
        break;
      case EntryType.Unit:
        out.push(`unit ${p.family()} ${p.unit()}`);
        break;
      default:
        out.push('comment');
    }
  }
  return out;
}

/** Asserts that parsing throws a ParseError whose message contains `want`. */
function rejects(
  body: string | Buffer,
  want: string,
  format: ExpositionFormat = 'text',
): ParseError {
  try {
    entries(body, format);
  } catch (err) {
    assert.ok(err instanceof ParseError, `not a ParseError: ${String(err)}`);
    assert.ok(
      err.message.includes(want),
      `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(want)}`,
    );
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(body.toString().slice(0, 80))}`);
}

test('text: samples, labels, values and timestamps', () => {
  const f = (body: string, want: string[]): void =>
    assert.deepEqual(entries(body), want, JSON.stringify(body));
  f('m 1\n', ['{__name__="m"} 1']);
  f('a:b:c 1\n', ['{__name__="a:b:c"} 1']);
  f('m{a="1",b="2"} 3 1395066363000\n', ['{__name__="m", a="1", b="2"} 3 @1395066363000']);
  f('m{b="2",a="1"} 3\n', ['{__name__="m", a="1", b="2"} 3']);
  f('m_sp { a = "b" , } 7\n', ['{__name__="m_sp", a="b"} 7']);
  f('m{a="1" b="2"} 1\n', ['{__name__="m", a="1", b="2"} 1']); // promparse: commas are optional
  f('m{} 3\n', ['{__name__="m"} 3']);
  f('m{}3\n', ['{__name__="m"} 3']);
  f('m 1', ['{__name__="m"} 1']); // no final newline
  f('\n\n  m 1  \n\n', ['{__name__="m"} 1']);
  f('\tm\t1\t2\t\n', ['{__name__="m"} 1 @2']);
  f('m{a=""} 1\n', ['{__name__="m"} 1']); // empty value = absent
  f('m{a="",b="x"} 1\n', ['{__name__="m", b="x"} 1']);
  f('m NaN\nm +Inf\nm -inf\nm Infinity\nm 1E3\nm 007.50\n', [
    '{__name__="m"} NaN',
    '{__name__="m"} Infinity',
    '{__name__="m"} -Infinity',
    '{__name__="m"} Infinity',
    '{__name__="m"} 1000',
    '{__name__="m"} 7.5',
  ]);
  f('m 1 0\n', ['{__name__="m"} 1 @0']);
  f('m-1\nm+Inf 2\n', ['{__name__="m"} -1', '{__name__="m"} Infinity @2']); // promparse: no blank needed before a value
  f('m{a="x y, z"} 1\n', ['{__name__="m", a="x y, z"} 1']);
  f('m{a="ünï☃"} 1\n', ['{__name__="m", a="ünï☃"} 1']);
});

test('text: integer values (the fast path) and what falls back to the float parser', () => {
  const cases: [string, string][] = [
    ['a 007\n', '{__name__="a"} 7'],
    ['a 123456789012345\n', '{__name__="a"} 123456789012345'],
    ['a 1234567890123456789\n', '{__name__="a"} 1234567890123456800'],
    ['a 12\t34\n', '{__name__="a"} 12 @34'],
    ['a 5', '{__name__="a"} 5'],
    ['a 1e3\n', '{__name__="a"} 1000'],
    ['a 10.5 7\n', '{__name__="a"} 10.5 @7'],
    ['a{b="1"}-3\n', '{__name__="a", b="1"} -3'],
  ];
  for (const [body, want] of cases) assert.deepEqual(entries(body), [want], body);
  rejects('a 1{b="1"} 2\n', 'expected value after metric');
  rejects('a 12x\n', 'invalid value "12x": expected a float');
});

test('text: label value escapes as promparse (unknown ones kept literally)', () => {
  const one = (body: string): string => {
    const p = new ExpositionParser(Buffer.from(body), { format: 'text' });
    assert.equal(p.next(), EntryType.Series);
    return p.labels().get('l');
  };
  const f = (raw: string, want: string): void => assert.equal(one(`m{l="${raw}"} 1\n`), want, raw);
  f('a\\\\b', 'a\\b');
  f('a\\"b', 'a"b');
  f('a\\nb', 'a\nb');
  f('a\\tb', 'a\\tb');
  f('a\\zb', 'a\\zb');
  f('\\\\\\n', '\\\n');
  f('x\\"y\\\\z\\nw', 'x"y\\z\nw');
  f('}{#,=', '}{#,=');
});

test('text: HELP, TYPE and comments as promparse', () => {
  const f = (body: string, want: string[]): void =>
    assert.deepEqual(entries(body), want, JSON.stringify(body));
  f('# HELP m some help\n', ['help m "some help"']);
  f('#  HELP  m_hs  spaced help\n', ['help m_hs " spaced help"']); // one separator dropped
  f('# HELP m\n', ['help m ""']);
  f('# HELP m.x help\n', ['help m "x help"']); // the byte after the name is dropped, whatever it is
  f('# HELP m a\\\\b\\nc\\td\n', ['help m "a\\\\b\\nc\\\\td"']);
  f('# HELP\n# TYPE\n#HELP m x\n# HELPER m x\n', ['comment', 'comment', 'comment', 'comment']);
  f('# TYPE m counter\n# TYPE m gauge\n# TYPE m histogram\n# TYPE m summary\n# TYPE m untyped\n', [
    'type m counter',
    'type m gauge',
    'type m histogram',
    'type m summary',
    'type m untyped',
  ]);
  f('#no space comment\n# just words\n', ['comment', 'comment']);
  f('# UNIT m_seconds seconds\n# EOF\nm 1\n', ['comment', 'comment', '{__name__="m"} 1']); // promparse knows no UNIT/EOF
  f('# HELP m a\n# HELP m b\nm 1\n', ['help m "a"', 'help m "b"', '{__name__="m"} 1']);
  f('m 1\n# TYPE m counter\n', ['{__name__="m"} 1', 'type m counter']);
});

test('text: every metric type, with _sum/_count as plain series', () => {
  const body = [
    '# TYPE c counter',
    'c_total 1',
    '# TYPE g gauge',
    'g -2.5',
    '# TYPE h histogram',
    'h_bucket{le="0.1"} 1',
    'h_bucket{le="+Inf"} 2',
    'h_sum 0.3',
    'h_count 2',
    '# TYPE s summary',
    's{quantile="0.5"} 0.1',
    's{quantile="not-a-float"} 1',
    's_sum 1',
    's_count 3',
    '# TYPE u untyped',
    'u 4',
    '',
  ].join('\n');
  assert.deepEqual(entries(body), [
    'type c counter',
    '{__name__="c_total"} 1',
    'type g gauge',
    '{__name__="g"} -2.5',
    'type h histogram',
    '{__name__="h_bucket", le="0.1"} 1',
    '{__name__="h_bucket", le="+Inf"} 2',
    '{__name__="h_sum"} 0.3',
    '{__name__="h_count"} 2',
    'type s summary',
    '{__name__="s", quantile="0.5"} 0.1',
    '{__name__="s", quantile="not-a-float"} 1',
    '{__name__="s_sum"} 1',
    '{__name__="s_count"} 3',
    'type u untyped',
    '{__name__="u"} 4',
  ]);
});

test('text: whole-scrape errors carry line, column and what was expected', () => {
  const f = (body: string, want: string, line: number, column: number): void => {
    const err = rejects(body, want);
    assert.deepEqual([err.line, err.column], [line, column], `${err.message}`);
  };
  f('m 1\nm{a=x} 1\n', 'expected label value in quotes, got "x}"', 2, 5);
  f('m_crlf 1\r\n', 'invalid value "1\\r"', 1, 8);
  f('m 0x10\n', 'invalid value "0x10"', 1, 3);
  f('m 1_2\n', 'invalid value "1_2"', 1, 3);
  f('m 1 1.5\n', 'expected next entry after timestamp, got ".5"', 1, 6);
  f('m 1 -5\n', 'expected timestamp or new record, got "-5"', 1, 5);
  f('m 1 2 3\n', 'expected next entry after timestamp, got "3"', 1, 7);
  f('m 1 99999999999999999999\n', 'invalid timestamp', 1, 5);
  f('m\n', 'expected value after metric, got end of line', 1, 2);
  f('m{a="1"\n', 'expected label name or "}", got end of line', 1, 8);
  f('m{a="1\n"} 1\n', 'unterminated label value', 1, 5);
  f('m{a="1} 1', 'unterminated label value: expected closing quote, got end of input', 1, 5);
  f('m{1="1"} 1\n', 'expected label name or "}"', 1, 3);
  f('m{a.b="1"} 1\n', 'expected "=" after label name', 1, 4);
  f('m{,} 1\n', 'expected label name or "}"', 1, 3);
  f('{"m"} 1\n', 'expected a metric name, a comment or a blank line', 1, 1);
  f('@m 1\n', 'expected a metric name', 1, 1);
  f('m.x 1\n', 'invalid value ".x"', 1, 2);
  f('# TYPE m.x counter\n', 'invalid metric type "x counter"', 1, 10);
  f('# TYPE m Counter\n', 'invalid metric type "Counter"', 1, 10);
  f('# TYPE m bla\n', 'invalid metric type "bla"', 1, 10);
  f('# TYPE m gaugehistogram\n', 'invalid metric type', 1, 10);
  f('# TYPE m counter \n', 'invalid metric type "counter "', 1, 10);
  f('# HELP #x y\n', 'expected metric name after HELP', 1, 8);
  f('# TYPE met-ric counter\n', 'invalid metric type "ric counter"', 1, 12);
  f('# HELP \n', 'expected metric name after HELP, got end of line', 1, 8); // the blank after HELP commits to metadata
  f('m{a="1",a="2"} 1\n', 'label name "a" is not unique', 1, 1);
  f('m{__name__="other"} 1\n', 'label name "__name__" is not unique', 1, 1);
  f('m 1 # {a="b"} 1\n', 'expected timestamp or new record, got "#"', 1, 5);
});

test('openmetrics: types, units, timestamps in seconds, exemplars', () => {
  const f = (body: string, want: string[]): void =>
    assert.deepEqual(entries(body + '# EOF\n', 'openmetrics'), want, JSON.stringify(body));
  f('# TYPE a counter\n# HELP a help\na_total 0 123 # {a="b"} 0.5\n', [
    'type a counter',
    'help a "help"',
    '{__name__="a_total"} 0 @123000 # {a="b"} 0.5',
  ]);
  f('# TYPE a counter\na_total 1 1.5\na_created 1.5e3\n', [
    'type a counter',
    '{__name__="a_total"} 1 @1500',
    '{__name__="a_created"} 1500',
  ]);
  f('# TYPE a_seconds gauge\n# UNIT a_seconds seconds\na_seconds 1 -1.25\n', [
    'type a_seconds gauge',
    'unit a_seconds seconds',
    '{__name__="a_seconds"} 1 @-1250',
  ]);
  f(
    '# TYPE a histogram\na_bucket{le="1.0"} 0 # {a="b"} 0.5 123.001\na_bucket{le="+Inf"} 3\na_count 3\na_sum 2\n',
    [
      'type a histogram',
      '{__name__="a_bucket", le="1.0"} 0 # {a="b"} 0.5 @123001',
      '{__name__="a_bucket", le="+Inf"} 3',
      '{__name__="a_count"} 3',
      '{__name__="a_sum"} 2',
    ],
  );
  f('# TYPE a gaugehistogram\na_bucket{le="+Inf"} 3\na_gcount 3\na_gsum 2\n', [
    'type a gaugehistogram',
    '{__name__="a_bucket", le="+Inf"} 3',
    '{__name__="a_gcount"} 3',
    '{__name__="a_gsum"} 2',
  ]);
  f('# TYPE a summary\na{quantile="0.5"} 0.7\na_count 1\na_sum 2\n', [
    'type a summary',
    '{__name__="a", quantile="0.5"} 0.7',
    '{__name__="a_count"} 1',
    '{__name__="a_sum"} 2',
  ]);
  f('# TYPE a stateset\na{a="bar"} 0\na{a="foo"} 1.0\n', [
    'type a stateset',
    '{__name__="a", a="bar"} 0',
    '{__name__="a", a="foo"} 1',
  ]);
  f('# TYPE a info\na_info{v="1.2"} 1\n', ['type a info', '{__name__="a_info", v="1.2"} 1']);
  f('# TYPE a unknown\na 1\nb 2\n', ['type a unknown', '{__name__="a"} 1', '{__name__="b"} 2']);
  f('a{foo="b\\"a\\nr",z="\\\\\\z"} 1\n', ['{__name__="a", foo="b\\"a\\nr", z="\\\\\\\\z"} 1']);
  f('# HELP a he\\n\\\\l\\tp \\"q\\"\n', ['help a "he\\n\\\\l\\\\tp \\"q\\""']);
});

test('openmetrics: syntax and semantic errors', () => {
  const f = (body: string, want: string): void => void rejects(body, want, 'openmetrics');
  f('a 1\n', 'expected "# EOF" as the last line');
  f('a 1\n\n# EOF\n', 'blank lines are not allowed');
  f('a 1\n# EOF\n\n', 'unexpected data after "# EOF"');
  f('a  1\n# EOF\n', 'expected a float value');
  f('a{a="1",} 1\n# EOF\n', 'expected label name');
  f('a{a = "1"} 1\n# EOF\n', 'expected "=" after label name');
  f('# TYPE a counter\na 1\n# EOF\n', 'does not fit the current family');
  f('# TYPE a counter\na_total -1\n# EOF\n', 'counter "a_total" has invalid value -1');
  f('# TYPE a gauge\na 1 # {a="b"} 1\n# EOF\n', 'exemplar not allowed on gauge');
  f('# TYPE a histogram\na_bucket{le="1"} 0\n# EOF\n', 'no le="+Inf" bucket');
  f(
    '# TYPE a histogram\na_bucket{le="2"} 0\na_bucket{le="1"} 0\na_bucket{le="+Inf"} 0\n# EOF\n',
    'increasing "le" order',
  );
  f('a 1\nb 1\na 2\n# EOF\n', 'already ended');
  f('# UNIT a seconds\n# EOF\n', 'not a suffix of family name');
  f('# TYPE a gauge\n# TYPE a gauge\n# EOF\n', 'TYPE for family "a" given twice');
  f('a 1 1.0002\na 2 1.0001\n# EOF\n', 'timestamps of series "a" go backwards'); // same ms, still ordered
  // A repeated series in one point, among few series and among many (past the linear search).
  const buckets = (n: number): string =>
    Array.from({ length: n }, (_, k) => `a_bucket{x="1",le="${k}"} ${k}\n`).join('');
  for (const n of [3, 40]) {
    f(
      `# TYPE a histogram\n${buckets(n)}a_bucket{x="1",le="1"} 9\n# EOF\n`,
      'repeated without timestamps',
    );
  }
  // Same groups written in another label order are still one group.
  f(
    '# TYPE a histogram\na_bucket{x="1",le="1"} 0\na_bucket{le="+Inf",x="1"} 1\na_count{x="1"} 1\na_sum{x="1"} 1\na_bucket{y="1",le="+Inf"} 0\na_bucket{x="1",le="+Inf"} 0\n# EOF\n',
    'interleaved with other label sets',
  );
});

test('openmetrics: points of many series and groups in any label order are accepted', () => {
  const series = Array.from({ length: 40 }, (_, k) => `a_bucket{x="1",le="${k}"} ${k}\n`).join('');
  const body = `# TYPE a histogram\n${series}a_bucket{le="+Inf",x="1"} 40\na_count{x="1"} 40\na_sum{x="1"} 3\n${series.replaceAll('x="1"', 'x="2"')}a_bucket{x="2",le="+Inf"} 40\n# EOF\n`;
  const p = new ExpositionParser(Buffer.from(body), { format: 'openmetrics' });
  let n = 0;
  while (p.next() !== EntryType.EOF) n++;
  assert.equal(n, 85); // TYPE and 84 samples
});

test('openmetrics strict: false checks the syntax only', () => {
  const body = Buffer.from(
    '# TYPE a histogram\na_bucket{le="-1"} 0\na_bucket{le="+Inf"} 1\na_sum -1\na_count 1\n# EOF\n',
  );
  assert.throws(() => entries(body, 'openmetrics'), ParseError);
  const p = new ExpositionParser(body, { format: 'openmetrics', strict: false });
  let n = 0;
  while (p.next() !== EntryType.EOF) n++;
  assert.equal(n, 5);
  const bad = new ExpositionParser(Buffer.from('a 1\n'), { format: 'openmetrics', strict: false });
  assert.equal(bad.next(), EntryType.Series);
  assert.throws(() => bad.next(), /# EOF/);
});

test('openmetrics: reset() forgets the families of the previous body', () => {
  const body = Buffer.from('# TYPE a counter\na_total 1\n# EOF\n');
  const p = new ExpositionParser(body, { format: 'openmetrics' });
  for (let round = 0; round < 3; round++) {
    let n = 0;
    while (p.next() !== EntryType.EOF) n++;
    assert.equal(n, 2, `round ${round}`);
    p.reset(body);
  }
});

test('text: lexer corner cases, as a live Prometheus 2.42 scrape showed them', () => {
  // Each body was served to Debian prometheus 2.42.0 as text/plain; version=0.0.4 and the
  // target's health, stored series and metadata were read back from its API.
  assert.deepEqual(entries('m_glued-1\n'), ['{__name__="m_glued"} -1']); // stored -1
  assert.deepEqual(entries('m_gluedinf+Inf 2\n'), ['{__name__="m_gluedinf"} Infinity @2']); // up (sample out of bounds)
  assert.deepEqual(entries('# HELP m_hdot.x help\nm_hdot 1\n'), [
    'help m_hdot "x help"',
    '{__name__="m_hdot"} 1',
  ]);
  assert.deepEqual(entries('m_nocomma{a="1" b="2"} 1\n'), [
    '{__name__="m_nocomma", a="1", b="2"} 1',
  ]);
  assert.deepEqual(entries(Buffer.from('m_nul_a 1\n\0m_nul_b 2\n')), ['{__name__="m_nul_a"} 1']); // m_nul_b never stored
  assert.deepEqual(entries('m_eof_a 1\n# EOF\nm_eof_b 2\n'), [
    '{__name__="m_eof_a"} 1',
    'comment',
    '{__name__="m_eof_b"} 2',
  ]);
  assert.deepEqual(entries('# UNIT m_unit_seconds seconds\nm_unit_seconds 1\n'), [
    'comment',
    '{__name__="m_unit_seconds"} 1',
  ]);
  rejects('# HELP \nm_help_blank 1\n', 'expected metric name after HELP'); // down: same message
  rejects('# TYPE m_tdot.x counter\nm_tdot 1\n', 'invalid metric type "x counter"'); // down: same message
});

test('seriesKey is the raw name{labels} text, without value or timestamp', () => {
  const p = new ExpositionParser(Buffer.from('m{b="2", a="1"} 3 4\nm 5\nm{} 6\nm {x="\\n"}7\n'), {
    format: 'text',
  });
  const keys: string[] = [];
  while (p.next() !== EntryType.EOF)
    keys.push(p.seriesKey() + '|' + p.metricName() + '|' + p.line());
  assert.deepEqual(keys, ['m{b="2", a="1"}|m|1', 'm|m|2', 'm{}|m|3', 'm {x="\\n"}|m|4']);
});

test('reset() reuses the parser for another body; labels(b) fills a builder', () => {
  const p = new ExpositionParser(Buffer.from('a{x="1"} 1\n'), { format: 'text' });
  assert.equal(p.next(), EntryType.Series);
  const b = new LabelsBuilder();
  assert.equal(p.labels(b).toString(), '{__name__="a", x="1"}');
  assert.equal(b.get('x'), '1');
  assert.equal(p.next(), EntryType.EOF);
  assert.equal(p.next(), EntryType.EOF);
  p.reset(Buffer.from('b 2\n'));
  assert.equal(p.next(), EntryType.Series);
  assert.equal(p.metricName(), 'b');
  assert.equal(p.line(), 1);
});

test('bad input: NUL bytes, invalid UTF-8', () => {
  // A NUL where a line starts ends the input (2.42 lexer); elsewhere it is an ordinary byte.
  assert.deepEqual(entries(Buffer.from('a 1\n\0b 2\n')), ['{__name__="a"} 1']);
  assert.deepEqual(entries(Buffer.from('a{l="x\0y"} 1\n')), ['{__name__="a", l="x\\u0000y"} 1']);
  assert.deepEqual(entries(Buffer.from('# HELP a x\0y\n')), ['help a "x\\u0000y"']);
  rejects(Buffer.from('a 1\0\n'), 'invalid value');
  rejects(
    Buffer.concat([Buffer.from('a{l="x'), Buffer.from([0xc3, 0x28]), Buffer.from('"} 1\n')]),
    'invalid UTF-8 in label value',
  );
  rejects(
    Buffer.concat([Buffer.from('a{l="'), Buffer.from([0xff]), Buffer.from('"} 1\n# EOF\n')]),
    'invalid UTF-8',
    'openmetrics',
  );
  rejects(
    Buffer.concat([Buffer.from('# HELP a '), Buffer.from([0xfe]), Buffer.from('\n# EOF\n')]),
    'invalid UTF-8 in HELP',
    'openmetrics',
  );
});

test('bad input: limits on label values, labels per series and line length', () => {
  const big = 'x'.repeat(1_000_000);
  const one = entries(`m{l="${big}"} 1\n`);
  assert.equal(one.length, 1);
  assert.ok(one[0].includes(big));
  rejects(
    `m{l="${'y'.repeat(1024 * 1024 + 1)}"} 1\n`,
    'label value is 1048577 bytes long, over the limit of 1048576',
  );

  const labels = (n: number): string => {
    let s = 'm{';
    for (let i = 0; i < n; i++) s += `l${i}="${i}",`;
    return s + '} 1\n';
  };
  const p = new ExpositionParser(Buffer.from(labels(10_000)), { format: 'text' });
  assert.equal(p.next(), EntryType.Series);
  const ls = p.labels();
  assert.equal(ls.size, 10_001);
  assert.equal(ls.get('l9999'), '9999');
  assert.equal(ls.name(0), '__name__');
  rejects(labels(10_001), 'more than 10000 labels, the limit');

  const small = new ExpositionParser(Buffer.from('m 1\nmmmmmmmmmmmmmmmmmmmm 1\n'), {
    format: 'text',
    maxLineBytes: 10,
  });
  assert.equal(small.next(), EntryType.Series);
  assert.throws(
    () => small.next(),
    /line is 22 bytes long, over the limit of 10 \(line 2, column 1\)/,
  );
  const few = new ExpositionParser(Buffer.from('m{a="1",b="2"} 1\n'), {
    format: 'text',
    maxLabelsPerSeries: 1,
  });
  assert.throws(() => few.next(), /more than 1 labels/);
  const short = new ExpositionParser(Buffer.from('m{a="12345"} 1\n'), {
    format: 'text',
    maxLabelValueBytes: 4,
  });
  assert.throws(() => short.next(), /over the limit of 4/);
});

test('bad input: a 100 MB body parses in bounded memory', () => {
  const line = Buffer.from(
    'http_requests_total{method="post",code="200",handler="/api/v1/query"} 1027 1395066363000\n',
  );
  const chunk = Buffer.alloc(line.length * 10_000);
  for (let i = 0; i < 10_000; i++) line.copy(chunk, i * line.length);
  const reps = Math.ceil(100e6 / chunk.length);
  const body = Buffer.allocUnsafe(chunk.length * reps);
  for (let i = 0; i < reps; i++) chunk.copy(body, i * chunk.length);
  const heapBefore = process.memoryUsage().heapUsed;
  const p = new ExpositionParser(body, { format: 'text' });
  let n = 0;
  let sum = 0;
  let peak = 0;
  while (p.next() === EntryType.Series) {
    if (p.seriesKey().length > 0) sum += p.value();
    if ((++n & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - heapBefore);
  }
  assert.equal(n, reps * 10_000);
  assert.equal(sum, 1027 * n);
  assert.ok(body.length >= 100e6);
  // Only short-lived key strings are allocated: the heap never holds a copy of the body.
  assert.ok(peak < 64 * 1024 * 1024, `heap grew by ${peak} bytes`);
});

test('decodeBody: gzip, limits and errors', () => {
  const plain = Buffer.from('m 1\n'.repeat(1000));
  assert.ok(decodeBody(plain, undefined).equals(plain));
  assert.ok(decodeBody(plain, 'identity').equals(plain));
  assert.ok(decodeBody(gzipSync(plain), 'gzip').equals(plain));
  assert.ok(decodeBody(gzipSync(plain), 'x-gzip').equals(plain));
  assert.throws(
    () => decodeBody(gzipSync(plain), 'gzip', 1000),
    /decompressed body is over the limit of 1000 bytes/,
  );
  assert.throws(
    () => decodeBody(Buffer.from('not gzip'), 'gzip'),
    (e: unknown) => e instanceof ParseError && /cannot decompress gzip/.test(e.message),
  );
  assert.throws(() => decodeBody(plain, 'br'), /unsupported content encoding "br"/);
  assert.throws(() => decodeBody(plain, '', 10), /over the limit of 10/);
  // A bomb: 64 MiB of zeros compresses to ~64 KiB and must stop at the limit.
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
  assert.throws(() => decodeBody(bomb, 'gzip', 1024 * 1024), ParseError);
});

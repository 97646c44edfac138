import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseOffsetSequence,
  parseScript,
  parseSequence,
  parseSeriesDesc,
  splitSeriesLine,
} from './script.js';

test('expands value sequences as the promqltest grammar', () => {
  const f = (s: string, want: unknown[]): void => assert.deepEqual(parseSequence(s), want, s);
  f('1 2 3', [1, 2, 3]);
  f('5x3', [5, 5, 5, 5]);
  f('1+2x3', [1, 3, 5, 7]);
  f('10-2x3', [10, 8, 6, 4]);
  f('-2+4x3', [-2, 2, 6, 10]);
  f('0x2', [0, 0, 0]); // repeat, not hex
  f('_ _x2 stale', [null, null, null, 'stale']);
  f('1e3 .5 -Inf', [1000, 0.5, -Infinity]);
  f('{{schema:0 sum:1 count:1}}x1 2', ['histogram', 'histogram', 2]);
});

test('reads series descriptors', () => {
  assert.equal(
    parseSeriesDesc('foo{a="b", c="d\\"e"}').toString(),
    '{__name__="foo", a="b", c="d\\"e"}',
  );
  assert.equal(parseSeriesDesc('{}').toString(), '{}');
  assert.equal(parseSeriesDesc('{"my.metric", x="1"}').toString(), '{__name__="my.metric", x="1"}');
  assert.deepEqual(splitSeriesLine('foo{a="}"} 1 2'), ['foo{a="}"}', '1 2']);
});

test('parses commands and expectations', () => {
  const cmds = parseScript(`
load 5m
  foo{a="1"} 0+1x3

# comment
eval instant at 10m foo
  expect no_warn
  foo{a="1"} 2

eval range from 0 to 10m step 5m foo * 2
  {a="1"} 0 2 4

clear

eval instant at 0m sum(
  expect fail msg: 1:5: parse error: unclosed left parenthesis
`);
  assert.deepEqual(
    cmds.map((c) => c.kind),
    ['load', 'eval', 'eval', 'clear', 'eval'],
  );
  const e = cmds[1];
  assert.ok(e.kind === 'eval' && e.at === 600_000 && e.noWarn && e.series.length === 1);
  const r = cmds[2];
  assert.ok(r.kind === 'eval' && r.range?.step === 300_000 && r.expr === 'foo * 2');
  const f = cmds[4];
  assert.ok(
    f.kind === 'eval' && f.fail && f.failMsg === '1:5: parse error: unclosed left parenthesis',
  );
});

test('expands start-timestamp offsets', () => {
  const f = (s: string, want: (number | null)[]): void =>
    assert.deepEqual(parseOffsetSequence(s), want, s);
  f('_ -1m', [null, -60_000]);
  f('-30s-1mx2', [-30_000, -90_000, -150_000]);
  f('0-1mx2 1ms-1mx1', [0, -60_000, -120_000, 1, -59_999]);
  f('-59999msx1 +1m _x2 -0msx1', [-59_999, -59_999, 60_000, null, null, 0, 0]);
});

test('attaches an @st line to the series line after it', () => {
  const cmds = parseScript(`
load 1m
  m{a="1"}@st _ -1m
  m{a="1"}    1 2
  m{a="2"}    3
`);
  const l = cmds[0];
  assert.ok(l.kind === 'load');
  assert.deepEqual(
    l.series.map((s) => [s.labels.toString(), s.values, s.st]),
    [
      ['{__name__="m", a="1"}', [1, 2], [null, -60_000]],
      ['{__name__="m", a="2"}', [3], undefined],
    ],
  );
  assert.throws(() => parseScript('load 1m\n  m{a="1"}@st 0\n  m{a="2"} 1\n'), /followed by/);
  assert.throws(() => parseScript('load 1m\n  m@st 0\n'), /without a series/);
});

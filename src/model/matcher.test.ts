import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goQuote, Matcher, type MatchType } from './matcher.js';
import { RegexError } from './regex.js';

// [type, name, value, label value ('' = missing label), expected]
const cases: [MatchType, string, string, string, boolean][] = [
  ['=', 'a', 'foo', 'foo', true],
  ['=', 'a', 'foo', 'foox', false],
  ['=', 'a', 'foo', '', false],
  ['=', 'a', '', '', true], // {a=""} selects series without a
  ['=', 'a', '', 'x', false],
  ['!=', 'a', 'foo', 'bar', true],
  ['!=', 'a', 'foo', 'foo', false],
  ['!=', 'a', 'foo', '', true],
  ['!=', 'a', '', '', false], // {a!=""} selects series with a
  ['!=', 'a', '', 'x', true],
  ['=~', 'a', 'b', 'ab', false], // anchored
  ['=~', 'a', 'b', 'b', true],
  ['=~', 'a', 'foo|bar', 'bar', true],
  ['=~', 'a', 'foo|bar', 'foobar', false],
  ['=~', 'a', '.*', '', true],
  ['=~', 'a', '.+', '', false],
  ['=~', 'a', '.+', 'x', true],
  ['=~', 'a', 'a.c', 'a\nc', true], // . matches newline
  ['=~', 'a', '(?i)FOO', 'foo', true],
  ['=~', 'a', 'foo.*', 'foobar', true],
  ['=~', 'a', '.*bar', 'foobar', true],
  ['=~', 'a', '.*ob.*', 'foobar', true],
  ['=~', 'a', 'x?', '', true],
  ['!~', 'a', 'b', 'ab', true],
  ['!~', 'a', 'b', 'b', false],
  ['!~', 'a', 'foo|bar', '', true],
  ['!~', 'a', '.*', 'anything', false],
  ['!~', 'a', '.+', '', true],
  ['!~', 'a', '', '', false],
];

test('matchers follow Prometheus semantics (missing label = "")', async (t) => {
  for (const [type, name, value, input, want] of cases) {
    await t.test(`${name}${type}${JSON.stringify(value)} on ${JSON.stringify(input)}`, () => {
      assert.equal(new Matcher(type, name, value).matches(input), want);
    });
  }
});

test('matchesEmpty tells whether a missing label satisfies the matcher', () => {
  const f = (type: MatchType, value: string, want: boolean): void =>
    assert.equal(new Matcher(type, 'a', value).matchesEmpty(), want, `${type}${value}`);
  f('=', '', true);
  f('=', 'x', false);
  f('!=', '', false);
  f('!=', 'x', true);
  f('=~', '.*', true);
  f('=~', 'x|', true);
  f('=~', '.+', false);
  f('!~', '.+', true);
  f('!~', '.*', false);
});

test('setMatches exposes literal alternations of regex matchers only', () => {
  const f = (type: MatchType, value: string, want: string[] | null): void =>
    assert.deepEqual(new Matcher(type, 'a', value).setMatches(), want, `${type}${value}`);
  f('=~', 'a|b|c', ['a', 'b', 'c']);
  f('!~', 'a|b', ['a', 'b']);
  f('=~', 'foo', ['foo']);
  f('=~', 'ns-(a|b)', ['ns-a', 'ns-b']);
  f('=~', 'foo.*', null);
  f('=~', '(?i)foo', null);
  f('=', 'a', null);
  f('!=', 'a', null);
});

test('toString prints PromQL with Go-quoted values', () => {
  const f = (type: MatchType, name: string, value: string, want: string): void =>
    assert.equal(new Matcher(type, name, value).toString(), want);
  f('=', 'job', 'api', 'job="api"');
  f('!=', 'a', '', 'a!=""');
  f('=~', 'path', '/api/.*\\d+', 'path=~"/api/.*\\\\d+"');
  f('!~', 'a', 'x"y', 'a!~"x\\"y"');
  f('=', 'a', 'tab\there\nnl', 'a="tab\\there\\nnl"');
  f('=', 'a', 'bell\u0007\u0000\u007f', 'a="bell\\a\\x00\\x7f"');
  f('=', 'a', 'café ☕ 😀', 'a="café ☕ 😀"');
  f('=', 'a', 'nbsp\u00a0zw\u200b', 'a="nbsp\\u00a0zw\\u200b"');
  f('=', 'service.name', 'x', '"service.name"="x"');
});

test('goQuote escapes like strconv.Quote', () => {
  assert.equal(goQuote(''), '""');
  assert.equal(goQuote('\\'), '"\\\\"');
  assert.equal(goQuote('\v\f\b\r'), '"\\v\\f\\b\\r"');
  assert.equal(goQuote('\u2028'), '"\\u2028"');
  assert.equal(goQuote('\u{e0001}'), '"\\U000e0001"');
});

test('an invalid regex fails at construction with a RegexError', () => {
  assert.throws(() => new Matcher('=~', 'a', '(a)\\1'), RegexError);
  assert.throws(
    () => new Matcher('!~', 'a', 'x(?!y)'),
    /negative lookahead `\(\?!` is not supported/,
  );
  // Equality matchers never parse their value.
  assert.equal(new Matcher('=', 'a', '(').matches('('), true);
});

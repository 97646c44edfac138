import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goQuote, isValidUtf8, parseDurationMs, parseNumber, unquoteString } from './lex.js';

test('parseDurationMs reads Prometheus durations', () => {
  const f = (s: string, want: number | null): void => assert.equal(parseDurationMs(s), want, s);
  f('5m', 300_000);
  f('1h30m', 5_400_000);
  f('1d2h', 93_600_000);
  f('100ms', 100);
  f('1y', 365 * 86_400_000);
  f('0', 0);
  f('30m1h', null); // units out of order
  f('5', null);
  f('', null);
  f('1x', null);
});

test('parseNumber follows Go ParseInt(base 0) then ParseFloat', () => {
  const f = (s: string, want: number | null): void => assert.deepEqual(parseNumber(s), want, s);
  f('12.34e6', 12_340_000);
  f('.2', 0.2);
  f('2.', 2);
  f('0x1F', 31);
  f('017', 15);
  f('0o17', 15);
  f('08', 8);
  f('inF', Infinity);
  f('-inf', -Infinity);
  f('abc', null);
  assert.ok(Number.isNaN(parseNumber('nan')));
});

test('unquoteString handles Go escapes and raw strings', () => {
  const f = (s: string, want: string): void => assert.equal(unquoteString(s), want, s);
  f('"a\\nb"', 'a\nb');
  f("'it\\'s'", "it's");
  f('`raw\\n`', 'raw\\n');
  f('"\\u00e9"', 'é');
  f('"\\xc3\\xa9"', 'é');
  f('"\\101"', 'A');
  assert.throws(() => unquoteString('"\\q"'), /unknown escape/);
  assert.throws(() => unquoteString('"abc'), /unterminated/);
});

test('invalid UTF-8 from byte escapes stays detectable and prints as Go does', () => {
  const s = unquoteString('"a\\xc5z"');
  assert.equal(isValidUtf8(s), false);
  assert.equal(goQuote(s), '"a\\xc5z"');
  assert.equal(isValidUtf8(unquoteString('"\\xc5\\xbd"')), true);
});

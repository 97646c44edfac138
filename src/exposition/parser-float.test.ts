import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFloatBytes, parseIntTimestampBytes } from './float.js';
import { NORMAL_NAN } from '../model/stale.js';

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

function parse(s: string): number | undefined {
  const b = Buffer.from(s, 'latin1');
  return parseFloatBytes(b, 0, b.length);
}

test('parses floats as Go strconv.ParseFloat does', () => {
  const f = (s: string, want: number): void => {
    const got = parse(s);
    assert.ok(got !== undefined, `${s} rejected`);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `${s} -> ${got}`);
    else assert.ok(Object.is(got, want), `${s} -> ${got}, want ${want}`);
  };
  f('0', 0);
  f('-0', -0);
  f('+0', 0);
  f('1', 1);
  f('42', 42);
  f('-17', -17);
  f('1.5', 1.5);
  f('007.50', 7.5);
  f('1.', 1);
  f('.5', 0.5);
  f('-.5', -0.5);
  f('1E3', 1000);
  f('1e3', 1000);
  f('1e+05', 1e5);
  f('1.1e-4', 1.1e-4);
  f('2.478268416e+09', 2.478268416e9);
  f('0.013300656000000001', 0.013300656000000001);
  f('0.021383540000000003', 0.021383540000000003);
  f('871.5665949999999', 871.5665949999999);
  f('9223372036854775808', 9223372036854775808);
  f('12345678901234567890.1234567890', Number('12345678901234567890.123456789'));
  f('0000000000000000000000000000000000000000001.2e-1', 0.12);
  f('1.7976931348623157e308', 1.7976931348623157e308);
  f('5e-324', 5e-324);
  f('1e-400', 0);
  f('0.1', 0.1);
  f('0.3', 0.3);
  f('123456789012345.6', 123456789012345.6);
  f('NaN', NaN);
  f('nan', NaN);
  f('NAN', NaN);
  f('Inf', Infinity);
  f('+Inf', Infinity);
  f('-Inf', -Infinity);
  f('-inf', -Infinity);
  f('inf', Infinity);
  f('Infinity', Infinity);
  f('-infinity', -Infinity);
  f('+INFINITY', Infinity);
});

test('rejects what Go and Prometheus reject', () => {
  for (const s of [
    '',
    '+',
    '-',
    '.',
    'e3',
    '1e',
    '1e+',
    '1.2.3',
    '1_2',
    '0x10',
    '0x1p-3',
    '0X1',
    '0b1',
    '0B1',
    '0o1',
    '0O1',
    ' 1',
    '1 ',
    '1\r',
    'a',
    'blubb',
    '+nan',
    '-nan',
    'infin',
    'infinit',
    'infinityx',
    'nanx',
    '1e400',
    '-1e400',
    '1,5',
    '١',
    '--1',
    '+-1',
    '1ee3',
  ]) {
    assert.equal(parse(s), undefined, JSON.stringify(s));
  }
});

test('every NaN is the ordinary NaN, never the stale marker', () => {
  F64[0] = parse('NaN') as number;
  const lo = U32[0];
  const hi = U32[1];
  F64[0] = NORMAL_NAN;
  assert.deepEqual([lo, hi], [U32[0], U32[1]]);
});

test('fast path agrees with Number() on random decimals', () => {
  let seed = 7;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  for (let k = 0; k < 20000; k++) {
    const int = Math.floor(rnd() * 10 ** Math.floor(rnd() * 12)).toString();
    const frac = Math.floor(rnd() * 10 ** Math.floor(rnd() * 10)).toString();
    const exp = rnd() < 0.3 ? `e${Math.floor(rnd() * 60) - 30}` : '';
    const s = `${rnd() < 0.2 ? '-' : ''}${int}${rnd() < 0.7 ? '.' + frac : ''}${exp}`;
    assert.ok(Object.is(parse(s), Number(s)), s);
  }
});

test('parses 0.0.4 timestamps: int64 digits only', () => {
  const f = (s: string, want: number | undefined): void => {
    const b = Buffer.from(s);
    assert.equal(parseIntTimestampBytes(b, 0, b.length), want, s);
  };
  f('0', 0);
  f('1395066363000', 1395066363000);
  f('9223372036854775807', 2 ** 63); // int64 max, as the nearest double
  f('9223372036854775808', undefined);
  f('99999999999999999999', undefined);
  f('-5', undefined);
  f('1.5', undefined);
  f('', undefined);
});

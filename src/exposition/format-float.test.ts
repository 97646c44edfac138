import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { requirePeer } from '../../test/support/peers.js';
import {
  formatGoFloat,
  formatOpenMetricsTimestamp,
  formatOpenMetricsValue,
  formatTextValue,
} from './format-float.js';

// Expected strings were read back from Go itself: `promtool tsdb dump` prints values with
// Go's %g, which is strconv.FormatFloat(v, 'g', -1, 64) (see the oracle test below).
const goCases: [number, string][] = [
  [0, '0'],
  [-0, '-0'],
  [1, '1'],
  [-1, '-1'],
  [10, '10'],
  [100, '100'],
  [1e5, '100000'],
  [123456, '123456'],
  [123456.7, '123456.7'],
  [1e6, '1e+06'],
  [1234567, '1.234567e+06'],
  [15515488, '1.5515488e+07'],
  [0.0001, '0.0001'],
  [0.000123, '0.000123'],
  [0.00001, '1e-05'],
  [0.000087005, '8.7005e-05'],
  [2.5e-5, '2.5e-05'],
  [1.5e-7, '1.5e-07'],
  [-3.25e-10, '-3.25e-10'],
  [0.26, '0.26'],
  [0.1, '0.1'],
  [0.30000000000000004, '0.30000000000000004'],
  [33.333333333333336, '33.333333333333336'],
  [1234.5678, '1234.5678'],
  [2 ** 53, '9.007199254740992e+15'],
  [1e15, '1e+15'],
  [1e20, '1e+20'],
  [1e21, '1e+21'],
  [1e100, '1e+100'],
  [1.2345678901234567e19, '1.2345678901234567e+19'],
  [5e-324, '5e-324'],
  [2.2250738585072014e-308, '2.2250738585072014e-308'],
  [1.7976931348623157e308, '1.7976931348623157e+308'],
  [NaN, 'NaN'],
  [Infinity, '+Inf'],
  [-Infinity, '-Inf'],
];

test('formatGoFloat matches strconv.FormatFloat(v, g, -1, 64)', async (t) => {
  for (const [v, want] of goCases) {
    await t.test(`${want}`, () => assert.equal(formatGoFloat(v), want));
  }
});

test('text values write both zeros as 0, as expfmt does', () => {
  assert.equal(formatTextValue(-0), '0');
  assert.equal(formatTextValue(0), '0');
  assert.equal(formatTextValue(1e6), '1e+06');
});

test('OpenMetrics values always look like floats', () => {
  const cases: [number, string][] = [
    [0, '0.0'],
    [-0, '0.0'],
    [1, '1.0'],
    [-1, '-1.0'],
    [100000, '100000.0'],
    [1e6, '1e+06'],
    [0.5, '0.5'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ];
  for (const [v, want] of cases) assert.equal(formatOpenMetricsValue(v), want, `value ${v}`);
});

test('OpenMetrics timestamps are exact decimal seconds', () => {
  const cases: [number, string][] = [
    [1520879607789, '1520879607.789'],
    [1520879607000, '1520879607'],
    [1520879607500, '1520879607.5'],
    [1520879607050, '1520879607.05'],
    [1520879607001, '1520879607.001'],
    [0, '0'],
    [1, '0.001'],
    [-1, '-0.001'],
    [-1500, '-1.5'],
  ];
  for (const [ms, want] of cases) assert.equal(formatOpenMetricsTimestamp(ms), want, `ms ${ms}`);
});

/** Deterministic values spread over the whole double range, plus nasty decimal ones. */
function oracleValues(): number[] {
  let s = 0x9e3779b9;
  const rnd = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const vs: number[] = [];
  for (let i = 0; i < 300; i++) {
    const mant = rnd() * 10;
    const exp = Math.floor(rnd() * 60) - 30;
    const digits = 1 + Math.floor(rnd() * 17);
    const v = Number((mant * 10 ** exp).toPrecision(digits));
    vs.push(rnd() < 0.2 ? -v : v);
  }
  for (let e = -8; e <= 8; e++)
    vs.push(10 ** e, 10 ** e * 0.999999, 10 ** e * 1.000001, 9.5 * 10 ** e);
  vs.push(
    999999,
    999999.5,
    999999.9999999,
    0.00009999,
    0.000099999999999999,
    1 / 3,
    2 / 3,
    Math.PI * 1e6,
  );
  return vs;
}

test('formatGoFloat agrees with Go on 376 values (promtool tsdb dump as the oracle)', (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const dir = mkdtempSync(join(tmpdir(), 'fmtfloat-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const values = oracleValues();
  // Each value travels in a label as JS prints it (exact round trip), and as the sample.
  let om = '# TYPE v gauge\n';
  values.forEach((v, i) => (om += `v{i="${i}",js="${String(v)}"} ${String(v)} 1700000000\n`));
  om += '# EOF\n';
  writeFileSync(join(dir, 'in.om'), om);
  const db = join(dir, 'db');
  execFileSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'in.om'), db], {
    stdio: 'ignore',
  });
  mkdirSync(join(db, 'wal'), { recursive: true });
  const dump = execFileSync(promtool, ['tsdb', 'dump', db], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  let checked = 0;
  for (const line of dump.split('\n')) {
    const m = /^\{.*js="([^"]*)".*\} (\S+) 1700000000000$/.exec(line);
    if (!m) continue;
    assert.equal(formatGoFloat(Number(m[1])), m[2], `value ${m[1]}`);
    checked++;
  }
  assert.equal(checked, values.length);
});

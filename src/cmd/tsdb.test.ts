import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBase2Bytes, formatGoDuration, tabulate } from './tsdb.js';

test("formats durations as Go's time.Duration", () => {
  const f = (ms: number, want: string): void =>
    assert.equal(formatGoDuration(ms), want, String(ms));
  f(0, '0s');
  f(1, '1ms');
  f(999, '999ms');
  f(1000, '1s');
  f(10_001, '10.001s');
  f(10_010, '10.01s');
  f(60_000, '1m0s');
  f(3_000_000, '50m0s');
  f(7_200_000, '2h0m0s');
  f(7_199_999, '1h59m59.999s');
  f(54 * 3_600_000, '54h0m0s');
  f(-1500, '-1.5s');
});

test("formats sizes as Go's units.Base2Bytes", () => {
  const f = (n: number, want: string): void => assert.equal(formatBase2Bytes(n), want, String(n));
  f(0, '0B');
  f(799, '799B');
  f(1024, '1KiB');
  f(2410, '2KiB362B');
  f(1024 * 1024, '1MiB');
  f(1024 * 1024 + 1, '1MiB1B');
  f(3 * 1024 ** 3 + 5 * 1024, '3GiB5KiB');
});

test('lays out tables as promtool (tabwriter, minwidth 13, padding 2)', () => {
  const out = tabulate([
    ['BLOCK ULID', 'MIN TIME', 'SIZE'],
    ['01M8EGDY8HPGC1WY2R4F1XWSF1', '1700000000000', '799'],
  ]);
  assert.equal(
    out,
    'BLOCK ULID                  MIN TIME       SIZE\n01M8EGDY8HPGC1WY2R4F1XWSF1  1700000000000  799\n',
  );
});

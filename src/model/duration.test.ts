import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.js';

const durations: Array<[string, number | null]> = [
  ['0', 0],
  ['0s', 0],
  ['100ms', 100],
  ['10s', 10_000],
  ['5m', 300_000],
  ['1h30m', 5_400_000],
  ['1d', 86_400_000],
  ['1w', 604_800_000],
  ['1y', 31_536_000_000],
  ['', null],
  ['1.5s', null],
  ['10x', null],
  ['-1s', null],
  ['1m1h', null],
  ['10', null],
];
for (const [s, want] of durations) {
  test(`parseDuration(${JSON.stringify(s)}) = ${want}`, () => assert.equal(parseDuration(s), want));
}

const formatted: Array<[number, string]> = [
  [0, '0s'],
  [100, '100ms'],
  [90_000, '1m30s'],
  [86_400_000, '1d'],
  [604_800_000 + 1000, '1w1s'],
];
for (const [ms, want] of formatted) {
  test(`formatDuration(${ms}) = ${want}`, () => assert.equal(formatDuration(ms), want));
}

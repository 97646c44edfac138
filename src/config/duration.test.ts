import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.js';
import { parseBase2Bytes } from './units.js';

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

const sizes: Array<[string, number | string]> = [
  ['0', 0],
  ['512B', 512],
  ['10KB', 10_240],
  ['10KiB', 10_240],
  ['1.5MB', 1_572_864],
  ['1GB512MB', 1024 ** 3 + 512 * 1024 ** 2],
  ['10XB', 'units: unknown unit XB in 10XB'],
  ['10', 'units: unknown unit  in 10'],
  ['', 'units: invalid '],
];
for (const [s, want] of sizes) {
  test(`parseBase2Bytes(${JSON.stringify(s)})`, () => {
    if (typeof want === 'number') assert.equal(parseBase2Bytes(s), want);
    else assert.throws(() => parseBase2Bytes(s), { message: want });
  });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBase2Bytes } from './units.js';

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

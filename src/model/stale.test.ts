import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STALE_NAN, isStaleNaN, NORMAL_NAN } from './stale.js';

test('the stale marker has the bits 0x7ff0000000000002', () => {
  const buf = Buffer.alloc(8);
  buf.writeDoubleBE(STALE_NAN);
  assert.equal(buf.toString('hex'), '7ff0000000000002');
  assert.ok(isStaleNaN(STALE_NAN));
  assert.ok(isStaleNaN(buf.readDoubleBE(0)), 'survives a round trip through bytes');
});

test('ordinary NaN and numbers are not stale', () => {
  assert.ok(!isStaleNaN(NaN));
  assert.ok(!isStaleNaN(NORMAL_NAN));
  assert.ok(!isStaleNaN(0));
  assert.ok(!isStaleNaN(Infinity));
  assert.ok(!isStaleNaN(0 / 0));
});

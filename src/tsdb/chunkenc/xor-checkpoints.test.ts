import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XORCheckpointCache } from './xor-checkpoints.js';
import { XOR_CHECKPOINT_SIZE } from './xor.js';

/** A checkpoint at `sample` whose other fields are recognisable. */
function cp(sample: number): Float64Array {
  const c = new Float64Array(XOR_CHECKPOINT_SIZE);
  c[0] = sample;
  for (let i = 1; i < XOR_CHECKPOINT_SIZE; i++) c[i] = sample * 100 + i;
  return c;
}

function held(c: XORCheckpointCache, key: number, id: number): number[] | null {
  const at = c.find(key, id);
  return at < 0 ? null : [...c.data.subarray(at, at + XOR_CHECKPOINT_SIZE)];
}

test('checkpoint cache', async (t) => {
  await t.test('finds what was put, under the same key and id only', () => {
    const c = new XORCheckpointCache();
    c.put(7, 1000, cp(20));
    assert.deepEqual(held(c, 7, 1000), [...cp(20)]);
    assert.equal(held(c, 7, 999), null, 'another chunk under the same key');
    assert.equal(held(c, 8, 1000), null);
  });
  await t.test('keeps the later of two checkpoints of one chunk', () => {
    const c = new XORCheckpointCache();
    c.put(-5, 0, cp(40));
    c.put(-5, 0, cp(30));
    assert.equal(held(c, -5, 0)![0], 40);
    c.put(-5, 0, cp(90));
    assert.equal(held(c, -5, 0)![0], 90);
    assert.equal(c.size, 1);
  });
  await t.test('a new chunk under a key replaces the old one', () => {
    const c = new XORCheckpointCache();
    c.put(-5, 0, cp(90));
    c.put(-5, 1200, cp(20));
    assert.deepEqual(held(c, -5, 1200), [...cp(20)]);
    assert.equal(held(c, -5, 0), null);
  });
  await t.test('starts over when full, and grows its pool on the way', () => {
    const c = new XORCheckpointCache(3000);
    for (let k = 0; k < 3000; k++) c.put(k, k, cp(k + 16));
    assert.equal(c.size, 3000);
    assert.equal(held(c, 2999, 2999)![0], 3015);
    assert.equal(held(c, 0, 0)![0], 16);
    c.put(5000, 1, cp(16));
    assert.equal(c.size, 1);
    assert.equal(held(c, 0, 0), null);
    assert.equal(held(c, 5000, 1)![0], 16);
  });
});

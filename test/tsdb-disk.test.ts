/**
 * The bytes-saving encodings compaction may use: tight XOR windows decode to the same
 * samples bit for bit, and on these data sets are no bigger than with Prometheus's choice
 * of windows (the greedy choice is not guaranteed smaller on every input).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValueType } from '../src/storage/interface.js';
import { XORChunk } from '../src/tsdb/chunkenc/index.js';
import { encodeXORPlanned } from '../src/tsdb/chunkenc/xor.js';

/** With `tight`, the windows compaction plans (fewest bits); else Prometheus's rule. */
function encode(ts: number[], vs: Float64Array, tight: boolean): Uint8Array {
  if (tight) return encodeXORPlanned(ts, vs, 0, ts.length);
  const c = new XORChunk();
  const app = c.appender();
  for (let i = 0; i < ts.length; i++) app.append(ts[i], vs[i]);
  return c.compact();
}

function decode(bytes: Uint8Array): { ts: number[]; bits: bigint[] } {
  const it = new XORChunk(bytes).iterator();
  const ts: number[] = [];
  const bits: bigint[] = [];
  const f = new Float64Array(1);
  const u = new BigUint64Array(f.buffer);
  while (it.next() !== ValueType.None) {
    ts.push(it.atT());
    f[0] = it.atV();
    bits.push(u[0]);
  }
  assert.equal(it.err(), null);
  return { ts, bits };
}

let seed = 7;
const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

const cases: [string, (i: number, prev: number) => number][] = [
  ['counter with random increments', (_i, p) => p + Math.floor(rand() * 100)],
  ['gauge with fractions', () => rand() * 1000],
  [
    'latency seconds, few significant bits then many',
    (i) => (i % 7 === 0 ? rand() : 0.5 + (i % 3) * 0.25),
  ],
  ['constant then jumps', (i, p) => (i % 50 === 0 ? p * 3.7 : p)],
  ['NaN, infinities and -0', (i) => [NaN, Infinity, -Infinity, -0, 0, 1e308, 5e-324][i % 7]],
];

for (const [name, gen] of cases) {
  test(`tight XOR windows: ${name}`, () => {
    const n = 2000;
    const ts: number[] = [];
    const vs = new Float64Array(n);
    let v = 1;
    for (let i = 0; i < n; i++) {
      ts.push(1_700_000_000_000 + i * 10_000 + (i % 13 === 0 ? 3 : 0));
      vs[i] = v = gen(i, v);
    }
    const plain = encode(ts, vs, false);
    const tight = encode(ts, vs, true);
    assert.deepEqual(decode(tight), decode(plain));
    assert.ok(tight.length <= plain.length, `tight ${tight.length} B, plain ${plain.length} B`);
  });
}

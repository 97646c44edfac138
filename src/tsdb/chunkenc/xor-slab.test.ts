import assert from 'node:assert/strict';
import test from 'node:test';
import { STALE_NAN } from '../../model/stale.js';
import { XORChunk } from './xor.js';
import { XORSlab } from './xor-slab.js';

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Sample series that exercise every timestamp bucket and value window. */
const CASES: { name: string; samples: (n: number) => [number, number][] }[] = [
  {
    name: 'counter at 10 s',
    samples: (n) => Array.from({ length: n }, (_, i) => [1_700_000_000_000 + i * 10_000, i * 3]),
  },
  {
    name: 'jittered gauge',
    samples: (n) => {
      const r = rng(7);
      let t = 1_700_000_000_000;
      return Array.from({ length: n }, () => [(t += 9_000 + Math.floor(r() * 2_000)), r() * 1e6]);
    },
  },
  {
    name: 'every dod bucket, stale markers, NaN, ±Inf, -0',
    samples: (n) => {
      const gaps = [1, 2, 5_000, 70_000, 600_000, 2 ** 33, 1, 9_000];
      const vals = [0, -0, STALE_NAN, NaN, Infinity, -Infinity, 1.5, 2 ** 60, -3];
      let t = -5_000;
      return Array.from({ length: n }, (_, i) => [
        (t += gaps[i % gaps.length]),
        vals[i % vals.length],
      ]);
    },
  },
  {
    name: 'unchanged values with jittered and irregular intervals',
    samples: (n) => {
      const r = rng(3);
      let t = 1_700_000_000_000;
      let v = 5;
      return Array.from({ length: n }, (_, i) => {
        t += i % 17 === 16 ? 30_000 : 9_990 + Math.floor(r() * 20);
        if (r() < 0.2) v += r() < 0.5 ? 1 : 0.25;
        return [t, i % 29 === 28 ? STALE_NAN : v];
      });
    },
  },
  {
    name: 'random doubles (widest windows)',
    samples: (n) => {
      const r = rng(99);
      const f = new Float64Array(1);
      const u = new Uint32Array(f.buffer);
      return Array.from({ length: n }, (_, i) => {
        u[0] = Math.floor(r() * 2 ** 32);
        u[1] = Math.floor(r() * 2 ** 31);
        return [1000 + i * 15_000, f[0]];
      });
    },
  },
];

test('slab chunks are byte for byte XORChunk after every append', () => {
  const slab = new XORSlab();
  const n = 240;
  const ids = CASES.map(() => slab.open(0));
  const refs = CASES.map(() => new XORChunk());
  const apps = refs.map((c) => c.appender());
  const all = CASES.map((c) => c.samples(n));
  // Interleaved, so chunks move between slot classes while others sit beside them.
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < CASES.length; k++) {
      const [t, v] = all[k][i];
      slab.append(ids[k], t, v);
      apps[k].append(t, v);
      assert.deepEqual(slab.copy(ids[k]), refs[k].bytes(), `${CASES[k].name}, sample ${i}`);
      assert.equal(slab.numSamples(ids[k]), i + 1);
      assert.equal(slab.byteLength(ids[k]), refs[k].bytes().length);
    }
  }
  // And they read back.
  for (let k = 0; k < CASES.length; k++) {
    const it = new XORChunk(slab.copy(ids[k])).iterator();
    for (let i = 0; i < n; i++) {
      assert.equal(it.next(), 1);
      assert.equal(it.atT(), all[k][i][0]);
      assert.ok(Object.is(it.atV(), all[k][i][1]) || sameNaN(it.atV(), all[k][i][1]));
    }
  }
});

function sameNaN(a: number, b: number): boolean {
  const f = new Float64Array([a, b]);
  const u = new Uint32Array(f.buffer);
  return u[0] === u[2] && u[1] === u[3];
}

test('cleared and reused slots start from zero bytes and fresh encoder state', () => {
  const slab = new XORSlab();
  const samples = CASES[3].samples(200);
  for (const reuse of ['clear', 'close']) {
    const a = slab.open(0);
    for (const [t, v] of samples) slab.append(a, t, v);
    let b = a;
    if (reuse === 'clear') slab.clear(a);
    else {
      slab.close(a);
      b = slab.open(slab.byteLength(a)); // same class: the freed slot comes back
    }
    const ref = new XORChunk();
    const app = ref.appender();
    for (const [t, v] of CASES[0].samples(50)) {
      slab.append(b, t, v);
      app.append(t, v);
    }
    assert.deepEqual(slab.copy(b), ref.bytes(), reuse);
    slab.close(b);
  }
  assert.equal(slab.openChunks, 0);
});

test('a copy is a snapshot: later appends and slot reuse leave it alone', () => {
  const slab = new XORSlab();
  const id = slab.open(0);
  const s = CASES[1].samples(30);
  for (let i = 0; i < 10; i++) slab.append(id, s[i][0], s[i][1]);
  const snap = slab.copy(id);
  const before = snap.slice();
  for (let i = 10; i < 30; i++) slab.append(id, s[i][0], s[i][1]);
  slab.close(id);
  const other = slab.open(0);
  slab.append(other, 1, 1);
  assert.deepEqual(snap, before);
});

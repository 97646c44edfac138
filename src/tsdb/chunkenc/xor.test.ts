import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptionError } from '../../model/errors.js';
import { STALE_NAN, NORMAL_NAN } from '../../model/stale.js';
import { ValueType } from '../../storage/interface.js';
import { ENCODING_XOR, XORBulkDecoder, XORChunk } from './index.js';
import { encodeXORPlanned, planXORWindows } from './xor.js';
import { mulberry32 as rng } from '../../../test/support/rng.js';

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
function bitsOf(v: number): string {
  F64[0] = v;
  return U32[1].toString(16).padStart(8, '0') + U32[0].toString(16).padStart(8, '0');
}
function fromBits(hi: number, lo: number): number {
  U32[1] = hi;
  U32[0] = lo;
  return F64[0];
}
function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function encode(ts: readonly number[], vs: readonly number[]): XORChunk {
  const c = new XORChunk();
  const app = c.appender();
  for (let i = 0; i < ts.length; i++) app.append(ts[i], vs[i]);
  return c;
}

/** Decodes every sample and checks timestamps and value bits against the input. */
function assertRoundTrip(c: XORChunk, ts: readonly number[], vs: readonly number[]): void {
  assert.equal(c.numSamples(), ts.length);
  const it = c.iterator();
  for (let i = 0; i < ts.length; i++) {
    assert.equal(it.next(), ValueType.Float, `sample ${i}`);
    assert.equal(it.atT(), ts[i], `t of sample ${i}`);
    assert.equal(bitsOf(it.atV()), bitsOf(vs[i]), `v bits of sample ${i}`);
  }
  assert.equal(it.next(), ValueType.None);
  assert.equal(it.err(), null);
  // A chunk wrapped around the bytes decodes the same.
  const w = new XORChunk(c.bytes());
  const it2 = w.iterator();
  let n = 0;
  while (it2.next() === ValueType.Float) {
    assert.equal(it2.atT(), ts[n]);
    assert.equal(bitsOf(it2.atV()), bitsOf(vs[n]));
    n++;
  }
  assert.equal(n, ts.length);
  assert.equal(it2.err(), null);
  // The bulk decoder yields the same samples.
  const dec = new XORBulkDecoder();
  assert.equal(dec.decode(c.bytes(), -1, Infinity), ts.length, dec.error?.message);
  for (let i = 0; i < ts.length; i++) {
    assert.equal(dec.ts[i], ts[i], `bulk t of sample ${i}`);
    assert.equal(bitsOf(dec.vs[i]), bitsOf(vs[i]), `bulk v bits of sample ${i}`);
  }
}

test('golden bytes', async (t) => {
  const cases: { name: string; ts: number[]; vs: number[]; want: string }[] = [
    { name: 'empty chunk is the header alone', ts: [], vs: [], want: '0000' },
    {
      // Prometheus 2.42 writes a spare zero byte after the raw 64-bit first value.
      name: 'one sample keeps the spare trailing byte',
      ts: [7200000],
      vs: [12000],
      want: '0001' + '80f4ee06' + '40c7700000000000' + '00',
    },
    {
      // t0=1000 → zig-zag 2000 → d0 0f; 1.0 raw; Δt=1000 → e8 07; same value '0';
      // dod 0 '0'; 2.0^1.0 = 0x7ff0… → '11' 00001 001011 + eleven 1s.
      name: 'varints, repeat value, new xor window',
      ts: [1000, 2000, 3000],
      vs: [1, 1, 2],
      want: '0003' + 'd00f' + '3ff0000000000000' + 'e807' + '3097ffc0',
    },
    {
      // dod -500 → '10' + 14-bit 15884 (11111000001100), then same value '0'.
      name: '14-bit delta of delta',
      ts: [1000, 2000, 3000, 3500],
      vs: [1, 1, 2, 2],
      want: '0004' + 'd00f' + '3ff0000000000000' + 'e807' + '3097ffef8300',
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const c = encode(tc.ts, tc.vs);
      assert.equal(hex(c.bytes()), tc.want);
      assert.equal(c.encoding(), ENCODING_XOR);
      assertRoundTrip(c, tc.ts, tc.vs);
    });
  }
});

test('round trips edge values and timestamps bit for bit', async (t) => {
  const minusZero = -0;
  const cases: { name: string; ts: number[]; vs: number[] }[] = [
    { name: 'single sample', ts: [0], vs: [0] },
    { name: 'two samples', ts: [5, 10], vs: [1.5, -2.25] },
    {
      name: 'special floats',
      ts: [0, 15, 30, 45, 60, 75, 90, 105, 120, 135],
      vs: [
        NaN,
        Infinity,
        -Infinity,
        STALE_NAN,
        minusZero,
        0,
        NORMAL_NAN,
        STALE_NAN,
        Number.MAX_VALUE,
        Number.MIN_VALUE,
      ],
    },
    { name: 'stale marker after a counter', ts: [1000, 2000, 3000], vs: [42, 43, STALE_NAN] },
    {
      name: 'NaN payloads',
      ts: [1, 2, 3],
      vs: [fromBits(0x7ff80000, 1), fromBits(0xfff00000, 0xdeadbeef), fromBits(0x7ff00000, 2)],
    },
    {
      name: 'every dod bucket boundary',
      ts: (() => {
        const dods = [
          0,
          8192,
          -8191,
          8193,
          -8192,
          65536,
          -65535,
          65537,
          -65536,
          524288,
          -524287,
          524289,
          -524288,
          2 ** 40,
          -(2 ** 40),
        ];
        const out = [1e12, 1e12 + 2e6];
        let d = 2e6;
        for (const dd of dods) {
          d += dd;
          out.push(out[out.length - 1] + d);
        }
        return out;
      })(),
      vs: new Array(17).fill(0).map((_, i) => i * 1.25),
    },
    { name: 'negative first delta', ts: [1_000_000, 999_000, 998_000], vs: [1, 2, 3] },
    { name: 'negative timestamps', ts: [-5000, -4000, -100, 0, 7], vs: [1, 2, 3, 4, 5] },
    {
      name: 'timestamps near 2^53',
      ts: [2 ** 53 - 30_000, 2 ** 53 - 15_000, 2 ** 53 - 2],
      vs: [1, 2, 3],
    },
    { name: 'huge jump of delta', ts: [0, 1, 2 ** 52], vs: [1, 1, 1] },
    { name: 'same timestamps', ts: [10, 10, 10], vs: [1, 2, 3] },
    {
      name: 'sigbits of 64',
      ts: [1, 2, 3],
      vs: [fromBits(0, 0), fromBits(0x80000000, 1), fromBits(0, 0)],
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => assertRoundTrip(encode(tc.ts, tc.vs), tc.ts, tc.vs));
  }
});

test('round trips generated series', async (t) => {
  const r = rng(42);
  const shapes: { name: string; n: number; gen: (i: number) => [number, number] }[] = [
    { name: 'counter every 10s, 120 samples', n: 120, gen: (i) => [1.7e12 + i * 10_000, i * 37] },
    {
      name: 'jittered scrape interval',
      n: 120,
      gen: (i) => [1.7e12 + i * 10_000 + Math.floor(r() * 50), i * 3.5],
    },
    {
      name: 'irregular intervals',
      n: 500,
      gen: (i) => [i * 1000 + Math.floor(r() * 999), r() * 1e6],
    },
    { name: 'gauge of random doubles', n: 1000, gen: (i) => [i * 15_000, (r() - 0.5) * 1e300] },
    { name: 'histogram bucket rising slowly', n: 120, gen: (i) => [i * 10_000, Math.floor(i / 7)] },
    { name: 'full 65535 samples', n: 65535, gen: (i) => [i * 1000, i % 17] },
  ];
  for (const s of shapes) {
    await t.test(s.name, () => {
      const ts: number[] = [];
      const vs: number[] = [];
      let last = -Infinity;
      for (let i = 0; i < s.n; i++) {
        const [t0, vv] = s.gen(i);
        const tt = t0 < last ? last : t0;
        last = tt;
        ts.push(tt);
        vs.push(vv);
      }
      assertRoundTrip(encode(ts, vs), ts, vs);
    });
  }
  await t.test('a full chunk refuses another sample', () => {
    const c = new XORChunk();
    const a = c.appender();
    for (let i = 0; i < 65535; i++) a.append(i, 1);
    assert.throws(() => a.append(70000, 1), CorruptionError);
  });
});

test('appender resumes on wrapped bytes and yields the same bytes', async (t) => {
  const r = rng(7);
  for (const split of [1, 2, 3, 60, 119]) {
    await t.test(`split after ${split} samples`, () => {
      const ts: number[] = [];
      const vs: number[] = [];
      for (let i = 0; i < 120; i++) {
        ts.push(1000 + i * 15_000 + Math.floor(r() * 20));
        vs.push(r() * 100);
      }
      const whole = encode(ts, vs);
      const first = encode(ts.slice(0, split), vs.slice(0, split)).bytes().slice();
      const before = hex(first);
      const resumed = new XORChunk(first);
      const app = resumed.appender();
      for (let i = split; i < ts.length; i++) app.append(ts[i], vs[i]);
      assert.equal(hex(first), before, 'wrapped bytes stay untouched');
      assert.equal(hex(resumed.bytes()), hex(whole.bytes()));
      assertRoundTrip(resumed, ts, vs);
    });
  }
  await t.test('a second appender on a live chunk continues it', () => {
    const c = encode([1, 2, 3], [1, 2, 4]);
    c.appender().append(4, 8);
    assertRoundTrip(c, [1, 2, 3, 4], [1, 2, 4, 8]);
  });
});

test('seek', async (t) => {
  const ts = [100, 200, 300, 400];
  const vs = [1, 2, 3, 4];
  const c = encode(ts, vs);
  const cases: { name: string; steps: [op: 'next' | number, want: ValueType, t?: number][] }[] = [
    { name: 'seek before the first sample lands on it', steps: [[50, ValueType.Float, 100]] },
    { name: 'seek to an exact timestamp', steps: [[300, ValueType.Float, 300]] },
    { name: 'seek between samples takes the next one', steps: [[250, ValueType.Float, 300]] },
    { name: 'seek past the end is None', steps: [[401, ValueType.None]] },
    {
      name: 'seek does not move back',
      steps: [
        [300, ValueType.Float, 300],
        [100, ValueType.Float, 300],
        ['next', ValueType.Float, 400],
      ],
    },
    {
      name: 'after the end everything is None',
      steps: [
        [401, ValueType.None],
        [0, ValueType.None],
        ['next', ValueType.None],
      ],
    },
    {
      name: 'next then seek to the current sample stays',
      steps: [
        ['next', ValueType.Float, 100],
        ['next', ValueType.Float, 200],
        [200, ValueType.Float, 200],
      ],
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const it = c.iterator();
      for (const [op, want, wantT] of tc.steps) {
        const got = op === 'next' ? it.next() : it.seek(op);
        assert.equal(got, want, `${op}`);
        if (wantT !== undefined) assert.equal(it.atT(), wantT);
      }
    });
  }
  await t.test('empty chunk', () => {
    const it = new XORChunk().iterator();
    assert.equal(it.seek(0), ValueType.None);
    assert.equal(it.next(), ValueType.None);
  });
});

test('iterator reuse and snapshot', async (t) => {
  await t.test('reuse resets onto another chunk', () => {
    const a = encode([1, 2], [10, 20]);
    const b = encode([5, 6, 7], [1, 1, 1]);
    const it = a.iterator();
    while (it.next() !== ValueType.None);
    const it2 = b.iterator(it);
    assert.equal(it2, it);
    assert.equal(it2.next(), ValueType.Float);
    assert.equal(it2.atT(), 5);
  });
  await t.test('samples appended after the iterator was made are not seen', () => {
    const c = new XORChunk();
    const app = c.appender();
    app.append(1, 1);
    app.append(2, 2);
    const it = c.iterator();
    for (let i = 3; i < 100; i++) app.append(i, i);
    let n = 0;
    while (it.next() === ValueType.Float) n++;
    assert.equal(n, 2);
    assert.equal(it.err(), null);
  });
});

test('truncated bytes end with a CorruptionError', async (t) => {
  const full = encode([1000, 2000, 3000, 4000], [1, 2.5, 3.75, 1e9]).bytes();
  for (const cut of [2, 3, 9, 12, full.length - 2]) {
    await t.test(`cut at ${cut} bytes`, () => {
      const it = new XORChunk(full.slice(0, cut)).iterator();
      while (it.next() !== ValueType.None);
      assert.ok(it.err() instanceof CorruptionError, String(it.err()));
      const dec = new XORBulkDecoder();
      assert.equal(dec.decode(full.slice(0, cut), -1, Infinity), -1);
      assert.ok(dec.error instanceof CorruptionError, String(dec.error));
    });
  }
  await t.test('shorter than the header', () => {
    assert.throws(() => new XORChunk(new Uint8Array(1)), CorruptionError);
  });
});

test('bulk decoder stops at maxt and at the given count', async (t) => {
  const ts = [1000, 2000, 3000, 4000, 5000];
  const c = encode(ts, [1, 2, 3, 4, 5]);
  const cases: { name: string; count: number; maxt: number; want: number[] }[] = [
    { name: 'everything', count: -1, maxt: Infinity, want: ts },
    { name: 'maxt on a sample keeps it', count: -1, maxt: 3000, want: [1000, 2000, 3000] },
    { name: 'maxt between samples', count: -1, maxt: 3999, want: [1000, 2000, 3000] },
    { name: 'maxt before the first sample', count: -1, maxt: 999, want: [] },
    { name: 'count caps a growing chunk', count: 2, maxt: Infinity, want: [1000, 2000] },
    { name: 'count above the header is capped', count: 9, maxt: Infinity, want: ts },
    { name: 'count 0', count: 0, maxt: Infinity, want: [] },
  ];
  const dec = new XORBulkDecoder();
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const n = dec.decode(c.bytes(), tc.count, tc.maxt);
      assert.deepEqual([...dec.ts.subarray(0, n)], tc.want);
      assert.deepEqual(
        [...dec.vs.subarray(0, n)],
        tc.want.map((x) => x / 1000),
      );
    });
  }
  await t.test('grows its arrays for a long chunk and keeps them', () => {
    const long = Array.from({ length: 1000 }, (_, i) => i * 10);
    const n = dec.decode(encode(long, long).bytes(), -1, Infinity);
    assert.equal(n, 1000);
    assert.equal(dec.vs[999], 9990);
    assert.ok(dec.ts.length >= 1000);
  });
});

test('bulk decoder resumes from the checkpoint a decode left', async (t) => {
  const r = rng(7);
  const ts: number[] = [];
  const vs: number[] = [];
  for (let i = 0; i < 120; i++) {
    ts.push(1.7e12 + i * 10_000 + Math.floor(r() * 40));
    vs.push(i % 3 === 0 ? r() * 1e6 : Math.floor(i / 5));
  }
  const bytes = encode(ts, vs).bytes();
  const cases: { name: string; before: number; wantMark: number }[] = [
    { name: 'nothing before the first sample', before: ts[0], wantMark: 0 },
    { name: 'sample 0 is never a checkpoint', before: ts[1], wantMark: 0 },
    { name: 'just past sample 1', before: ts[1] + 1, wantMark: 1 },
    { name: 'in the middle', before: ts[60], wantMark: 59 },
    { name: 'before the last sample', before: ts[119], wantMark: 118 },
    { name: 'past the end', before: Infinity, wantMark: 118 },
  ];
  const dec = new XORBulkDecoder();
  for (const tc of cases) {
    await t.test(tc.name, () => {
      dec.markBefore = tc.before;
      assert.equal(dec.decode(bytes, -1, Infinity), 120);
      dec.markBefore = -Infinity;
      assert.equal(dec.mark[0], tc.wantMark);
      if (tc.wantMark === 0) return;
      const cp = dec.mark.slice();
      const n = dec.decodeFrom(bytes, -1, Infinity, cp, 0);
      assert.equal(n, 120 - tc.wantMark);
      assert.equal(dec.first, tc.wantMark);
      for (let i = 0; i < n; i++) {
        assert.equal(dec.ts[i], ts[tc.wantMark + i], `t of sample ${tc.wantMark + i}`);
        assert.equal(bitsOf(dec.vs[i]), bitsOf(vs[tc.wantMark + i]));
      }
      // maxt still cuts a resumed decode.
      assert.equal(dec.decodeFrom(bytes, -1, ts[119] - 1, cp, 0), 119 - tc.wantMark);
    });
  }
  await t.test('a checkpoint past the count is refused', () => {
    dec.markBefore = Infinity;
    dec.decode(bytes, -1, Infinity);
    dec.markBefore = -Infinity;
    assert.equal(dec.decodeFrom(bytes, 50, Infinity, dec.mark.slice(), 0), -1);
    assert.ok(dec.error instanceof CorruptionError);
  });
});

test('NaN payloads survive without passing through plain arrays', async (t) => {
  // V8 quiets NaNs stored in plain number arrays, so these values go straight from the
  // bit pattern into the chunk and straight out into a typed array.
  const patterns: [string, number, number][] = [
    ['stale marker', 0x7ff00000, 2],
    ['signalling NaN payload', 0x7ff00000, 0xdeadbeef],
    ['negative quiet NaN', 0xfff80000, 1],
    ['minus zero', 0x80000000, 0],
  ];
  for (const [name, hi, lo] of patterns) {
    await t.test(name, () => {
      const c = new XORChunk();
      const app = c.appender();
      app.append(1000, 1.5);
      app.append(2000, fromBits(hi, lo));
      app.append(3000, fromBits(hi, lo));
      app.append(4000, 2.5);
      const it = new XORChunk(c.bytes()).iterator();
      const out = new Float64Array(4);
      let i = 0;
      while (it.next() === ValueType.Float) out[i++] = it.atV();
      const u = new Uint32Array(out.buffer);
      assert.deepEqual([u[3], u[2], u[5], u[4]], [hi, lo, hi, lo]);
      assert.equal(out[3], 2.5);
    });
  }
});

/** Bits the value stream of `vs` takes with window choices `plan` (timestamps aside). */
function planBits(vs: Float64Array, plan: Uint8Array): number {
  const u = new Uint32Array(vs.buffer, vs.byteOffset, vs.length * 2);
  let bits = 0;
  let k = 0;
  let width = 0;
  for (let i = 1; i < vs.length; i++) {
    if (u[2 * i] === u[2 * i - 2] && u[2 * i + 1] === u[2 * i - 1]) {
      bits += 1;
      continue;
    }
    if (plan[k] !== 0xff) {
      width = 64 - plan[k] - plan[k + 1];
      bits += 11;
    }
    bits += 2 + width;
    k += 2;
  }
  return bits;
}

/** The fewest value bits over every way to cut the non-zero XORs into runs (exhaustive). */
function bruteForceBits(vs: Float64Array): number {
  const u = new Uint32Array(vs.buffer, vs.byteOffset, vs.length * 2);
  const lead: number[] = [];
  const trail: number[] = [];
  let zeros = 0;
  for (let i = 1; i < vs.length; i++) {
    const xh = (u[2 * i + 1] ^ u[2 * i - 1]) >>> 0;
    const xl = (u[2 * i] ^ u[2 * i - 2]) >>> 0;
    if (xh === 0 && xl === 0) {
      zeros++;
      continue;
    }
    const x = (BigInt(xh) << 32n) | BigInt(xl);
    const bin = x.toString(2);
    lead.push(Math.min(31, 64 - bin.length));
    trail.push(bin.length - 1 - bin.lastIndexOf('1'));
  }
  const m = lead.length;
  if (m === 0) return zeros;
  let best = Infinity;
  // Bit j of `cuts` set: a new run starts at non-zero XOR j + 1.
  for (let cuts = 0; cuts < 1 << (m - 1); cuts++) {
    let bits = 0;
    for (let a = 0; a < m;) {
      let b = a + 1;
      while (b < m && (cuts & (1 << (b - 1))) === 0) b++;
      const l = Math.min(...lead.slice(a, b));
      const t = Math.min(...trail.slice(a, b));
      bits += 11 + (b - a) * (66 - l - t);
      a = b;
    }
    best = Math.min(best, bits);
  }
  return best + zeros;
}

test('planned windows: same samples, fewest value bits, never more bytes than the Prometheus rule', async (t) => {
  const r = rng(99);
  const shapes: { name: string; n: number; gen: (i: number, prev: number) => number }[] = [
    {
      name: 'counter of random increments',
      n: 372,
      gen: (i, p) => (i === 0 ? 81234 : p + Math.floor(r() * 60)),
    },
    {
      name: 'slow histogram bucket',
      n: 720,
      gen: (i, p) => (i === 0 ? 3 : p + (r() < 0.1 ? 1 : 0)),
    },
    {
      name: 'float counter, 2 decimals',
      n: 300,
      gen: (i, p) => Math.round(((i === 0 ? 10 : p) + r() * 0.05) * 100) / 100,
    },
    { name: 'random doubles', n: 200, gen: () => (r() - 0.5) * 1e300 },
    {
      name: 'gauge stepping by 4096',
      n: 500,
      gen: (i, p) => (i === 0 ? 2e7 : p + (r() < 0.2 ? 4096 : 0)),
    },
    {
      name: 'special floats',
      n: 40,
      gen: (i) =>
        [
          NaN,
          Infinity,
          -Infinity,
          STALE_NAN,
          -0,
          0,
          NORMAL_NAN,
          Number.MAX_VALUE,
          Number.MIN_VALUE,
          1,
        ][i % 10],
    },
    { name: 'one sample', n: 1, gen: () => 42 },
    { name: 'constant', n: 120, gen: () => 7 },
  ];
  for (const s of shapes) {
    await t.test(s.name, () => {
      const ts: number[] = [];
      const vs = new Float64Array(s.n);
      for (let i = 0; i < s.n; i++) {
        ts.push(1.7e12 + i * 10_000);
        vs[i] = s.gen(i, i > 0 ? vs[i - 1] : 0);
      }
      const bytes = encodeXORPlanned(ts, vs, 0, s.n);
      const c = new XORChunk(bytes);
      assertRoundTrip(
        c,
        ts,
        Array.from({ length: s.n }, (_, i) => vs[i]),
      );
      const prom = new XORChunk();
      const app = prom.appender();
      for (let i = 0; i < s.n; i++) app.append(ts[i], vs[i]);
      assert.ok(bytes.length <= prom.bytes().length, `${bytes.length} > ${prom.bytes().length}`);
      // A sub-range of the arrays encodes the same as a copy of it.
      if (s.n > 10) {
        const sub = encodeXORPlanned(ts, vs, 5, s.n - 3);
        assert.deepEqual(
          sub,
          encodeXORPlanned(ts.slice(5, s.n - 3), vs.slice(5, s.n - 3), 0, s.n - 8),
        );
      }
    });
  }
  await t.test('the plan is the cheapest cut into runs (exhaustive on short series)', () => {
    for (let trial = 0; trial < 200; trial++) {
      const n = 2 + Math.floor(r() * 12);
      const vs = new Float64Array(n);
      const kind = trial % 3;
      for (let i = 0; i < n; i++) {
        const p = i === 0 ? 1000 + Math.floor(r() * 1e6) : vs[i - 1];
        vs[i] =
          kind === 0
            ? p + Math.floor(r() * 300)
            : kind === 1
              ? p + (r() < 0.3 ? 0 : r())
              : r() * 2 ** Math.floor(r() * 60);
      }
      const plan = planXORWindows(vs, 0, n);
      assert.equal(
        planBits(vs, plan),
        bruteForceBits(vs),
        `trial ${trial}: ${Array.from(vs).join(',')}`,
      );
    }
  });
});

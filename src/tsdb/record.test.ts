import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../model/labels.js';
import { STALE_NAN, isStaleNaN } from '../model/stale.js';
import { CorruptionError } from '../model/errors.js';
import { Encbuf } from './encoding.js';
import {
  RecordType,
  SampleBatch,
  decodeSamples,
  decodeSeries,
  decodeTombstones,
  encodeSampleBatch,
  encodeSamples,
  encodeSeries,
  encodeTombstones,
  recordType,
  type RefSeries,
} from './record.js';

test('series record bytes are what Prometheus writes', () => {
  const e = new Encbuf(16);
  encodeSeries(e, [{ ref: 1, labels: Labels.from({ __name__: 'up', job: 'a' }) }]);
  // type 1, be64 ref, uvarint count, then uvarint-prefixed names and values.
  const want = [
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    2,
    8,
    ...Buffer.from('__name__'),
    2,
    ...Buffer.from('up'),
  ];
  want.push(3, ...Buffer.from('job'), 1, ...Buffer.from('a'));
  assert.deepEqual([...e.get()], want);
});

test('samples record bytes are what Prometheus writes', () => {
  const e = new Encbuf(16);
  encodeSamples(e, [7, 9], [1000, 1015], [1, 2]);
  const want = [2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0x03, 0xe8];
  want.push(0, 0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0); // deltas 0, 0; 1.0
  want.push(4, 30, 0x40, 0, 0, 0, 0, 0, 0, 0); // deltas +2, +15 (zig-zag 4, 30); 2.0
  assert.deepEqual([...e.get()], want);
});

test('tombstones record bytes are what Prometheus writes', () => {
  const e = new Encbuf(16);
  encodeTombstones(e, [{ ref: 3, mint: -1, maxt: 5 }]);
  assert.deepEqual([...e.get()], [3, 0, 0, 0, 0, 0, 0, 0, 3, 1, 10]);
});

test('series records round-trip, including unicode and many labels', () => {
  const series: RefSeries[] = [
    { ref: 1, labels: Labels.from({ __name__: 'request_total', direction: 'inbound' }) },
    { ref: 2 ** 40, labels: Labels.from({ a: 'ünïcödé ☃', b: 'x'.repeat(1000) }) },
    { ref: 3, labels: Labels.EMPTY },
  ];
  const e = new Encbuf(16);
  encodeSeries(e, series);
  assert.equal(recordType(e.get()), RecordType.Series);
  const got = decodeSeries(e.get(), []);
  assert.equal(got.length, 3);
  for (let i = 0; i < 3; i++) {
    assert.equal(got[i].ref, series[i].ref);
    assert.ok(got[i].labels.equals(series[i].labels), `series ${i}`);
  }
});

test('samples records round-trip with negative deltas, big timestamps and NaN payloads', () => {
  const b = new SampleBatch(2);
  const ts = [1_700_000_000_000, 1_699_999_000_000, 1_700_000_000_001, 2 ** 50, -5];
  const vs = [0.5, -Infinity, STALE_NAN, Number.MAX_VALUE, 0];
  // Pass the stale marker straight in: a double array literal may canonicalise NaN bits.
  for (let i = 0; i < ts.length; i++) b.push(100 - i * 40, ts[i], i === 2 ? STALE_NAN : vs[i]);
  const e = new Encbuf(16);
  encodeSampleBatch(e, b);
  const got = decodeSamples(e.get(), new SampleBatch());
  assert.equal(got.length, ts.length);
  for (let i = 0; i < ts.length; i++) {
    assert.equal(got.refs[i], 100 - i * 40);
    assert.equal(got.ts[i], ts[i]);
    if (i === 2) assert.ok(isStaleNaN(got.vs[i]));
    else assert.equal(got.vs[i], vs[i]);
  }
});

test('an empty samples record is the type byte alone', () => {
  const e = new Encbuf(16);
  encodeSamples(e, [], [], []);
  assert.deepEqual([...e.get()], [2]);
  assert.equal(decodeSamples(e.get(), new SampleBatch()).length, 0);
});

test('tombstones round-trip', () => {
  const e = new Encbuf(16);
  const stones = [
    { ref: 1, mint: 0, maxt: 100 },
    { ref: 1, mint: 200, maxt: 300 },
    { ref: 9, mint: -(2 ** 40), maxt: 2 ** 45 },
  ];
  encodeTombstones(e, stones);
  assert.deepEqual(decodeTombstones(e.get(), []), stones);
});

const broken: { name: string; bytes: number[]; decode: (b: Uint8Array) => unknown }[] = [
  { name: 'truncated series ref', bytes: [1, 0, 0, 0], decode: (b) => decodeSeries(b, []) },
  {
    name: 'label longer than record',
    bytes: [1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 9, 0x61],
    decode: (b) => decodeSeries(b, []),
  },
  {
    name: 'truncated sample',
    bytes: [2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0x3f],
    decode: (b) => decodeSamples(b, new SampleBatch()),
  },
  { name: 'wrong type', bytes: [3], decode: (b) => decodeSamples(b, new SampleBatch()) },
];
for (const tc of broken) {
  test(`decoding rejects ${tc.name} with a CorruptionError`, () => {
    assert.throws(() => tc.decode(Uint8Array.from(tc.bytes)), CorruptionError);
  });
}

test('series decoding returns the right strings when many values look alike', () => {
  // Thousands of short, similar values exercise the decoder's string cache and its
  // collisions; every label must still come back exactly.
  const series: RefSeries[] = [];
  for (let i = 0; i < 20_000; i++) {
    series.push({
      ref: i + 1,
      labels: Labels.from({
        __name__: `m${i % 7}`,
        pod: `p${i}`,
        zone: i % 3 ? 'a' : 'é',
        long: 'y'.repeat(i % 60),
      }),
    });
  }
  const e = new Encbuf();
  encodeSeries(e, series);
  const got = decodeSeries(e.get(), []);
  assert.equal(got.length, series.length);
  for (let i = 0; i < series.length; i++)
    assert.ok(got[i].labels.equals(series[i].labels), `series ${i}`);
});

test('typed-array and plain-array sample encodings are byte-identical', () => {
  const n = 500;
  const refs = Array.from({ length: n }, (_, i) => (i * 7919) % 100_003);
  const ts = Array.from(
    { length: n },
    (_, i) => 1_700_000_000_000 + (i % 2 ? -1 : 1) * i * 2 ** (i % 40),
  );
  const vs = Array.from({ length: n }, (_, i) => (i % 3 ? i / 7 : -i));
  const a = new Encbuf(16);
  encodeSamples(a, refs, ts, vs);
  const b = new Encbuf(16);
  encodeSamples(b, Float64Array.from(refs), Float64Array.from(ts), Float64Array.from(vs));
  assert.deepEqual(b.get(), a.get());
  const got = decodeSamples(b.get(), new SampleBatch());
  assert.deepEqual([...got.ts.subarray(0, n)], ts);
  assert.deepEqual([...got.refs.subarray(0, n)], refs);
});

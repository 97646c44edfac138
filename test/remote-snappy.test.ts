/**
 * The label-aware snappy writer (src/remote/label-snappy.ts): its blocks are read back by
 * the `snappy` package's decoder (the reference the receivers agree with) to the exact raw
 * bytes, for every element size and offset class, and whole WriteRequests of the sender's
 * path decode to the same request as the plain encoder's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import snappy from 'snappy';
import { Labels } from '../src/model/labels.js';
import { CopyList, LabelPairTable, compressWithCopies } from '../src/remote/label-snappy.js';
import {
  DecodedWriteRequest,
  WriteRequestEncoder,
  decodeWriteRequest,
  encodeLabels,
} from '../src/remote/index.js';

/** Raw bytes with pseudo-random content (no accidental structure). */
function noise(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

test('label-snappy: literals and copies of every size and offset class decode exactly', () => {
  const cases: { name: string; size: number; copies: [number, number, number][] }[] = [
    { name: 'empty', size: 0, copies: [] },
    { name: 'one literal byte', size: 1, copies: [] },
    { name: 'literal of 60 (1-byte tag)', size: 60, copies: [] },
    { name: 'literal of 61 (length byte)', size: 61, copies: [] },
    { name: 'literal of 257 (2 length bytes)', size: 257, copies: [] },
    { name: 'literal of 70000 (3 length bytes)', size: 70_000, copies: [] },
    { name: 'copy-1: len 4, near', size: 100, copies: [[50, 10, 4]] },
    { name: 'copy-1: len 11, offset 2047', size: 3000, copies: [[2100, 53, 11]] },
    { name: 'copy-2: len 12, offset 2048', size: 3000, copies: [[2100, 52, 12]] },
    { name: 'copy-2: len 64', size: 400, copies: [[200, 0, 64]] },
    { name: 'copy of 65 (64 + short tail)', size: 400, copies: [[200, 0, 65]] },
    { name: 'copy of 67', size: 400, copies: [[200, 0, 67]] },
    { name: 'copy of 500 (many elements)', size: 2000, copies: [[1000, 10, 500]] },
    { name: 'copy-4: offset 65536', size: 70_000, copies: [[65_600, 64, 40]] },
    { name: 'copy-4: offset 200000, len 130', size: 210_000, copies: [[200_100, 100, 130]] },
    {
      name: 'adjacent copies, then a literal tail',
      size: 1000,
      copies: [
        [300, 0, 20],
        [320, 100, 5],
        [325, 40, 30],
      ],
    },
    { name: 'copy at the very end', size: 300, copies: [[280, 0, 20]] },
  ];
  for (const c of cases) {
    const raw = noise(c.size, c.size + 7);
    const list = new CopyList();
    for (const [dst, src, len] of c.copies) {
      raw.copyWithin(dst, src, src + len);
      list.add(dst, src, len);
    }
    const block = compressWithCopies(raw, raw.length, list);
    const back = snappy.uncompressSync(block) as Buffer;
    assert.deepEqual(new Uint8Array(back), raw, c.name);
    if (c.copies.length > 0)
      assert.ok(block.length < raw.length + 8, `${c.name}: copies save bytes`);
  }
});

test('label-snappy: adjacent repeats of adjacent sources merge into one copy', () => {
  const list = new CopyList();
  list.add(100, 10, 5);
  list.add(105, 15, 7); // continues both
  list.add(112, 40, 3); // source jumps: a new copy
  assert.equal(list.length, 2);
  assert.deepEqual([list.dst[0], list.src[0], list.len[0]], [100, 10, 12]);
  assert.deepEqual([list.dst[1], list.src[1], list.len[1]], [112, 40, 3]);
});

test('label-snappy: label pairs are interned by their bytes, with their lengths', () => {
  const table = new LabelPairTable();
  const a = table.intern(encodeLabels(Labels.from({ job: 'x', pod: 'p1', le: '10' })));
  const b = table.intern(encodeLabels(Labels.from({ job: 'x', pod: 'p2', le: '10' })));
  const long = table.intern(encodeLabels(Labels.from({ v: 'y'.repeat(300) })));
  assert.equal(a.length, 3);
  assert.equal(a[0], b[0], 'job="x" shared');
  assert.equal(a[1], b[1], 'le="10" shared');
  assert.notEqual(a[2], b[2], 'pod differs');
  assert.equal(table.size, 5);
  assert.equal(table.lengths[a[0]], 2 + 2 + 3 + 2 + 1); // tag, len, (tag len "job") (tag len "x")
  assert.equal(table.lengths[long[0]], 1 + 2 + (2 + 1) + (1 + 2 + 300));
});

test('label-snappy: WriteRequests of the sender path decode like the plain encoder', () => {
  const table = new LabelPairTable();
  const seriesCases = [
    { name: 'one series, one sample', series: 1, samples: 1 },
    { name: 'shared target labels, one sample each', series: 300, samples: 300 },
    { name: 'several samples per series, NaN and negative timestamps', series: 40, samples: 500 },
  ];
  for (const c of seriesCases) {
    const labels: Uint8Array[] = [];
    const pairIds: Int32Array[] = [];
    for (let s = 0; s < c.series; s++) {
      const enc = encodeLabels(
        Labels.from({
          __name__: s % 3 === 0 ? 'response_latency_ms_bucket' : 'request_total',
          job: 'linkerd-proxy',
          instance: '127.0.0.1:4191',
          namespace: 'emojivoto',
          pod: `web-${s % 5}-abcde`,
          le: String(s % 26),
          long: 'x'.repeat(s % 200),
        }),
      );
      labels.push(enc);
      pairIds.push(table.intern(enc));
    }
    const slots = new Int32Array(c.samples);
    const ts = new Float64Array(c.samples);
    const vs = new Float64Array(c.samples);
    for (let i = 0; i < c.samples; i++) {
      slots[i] = (i * 7) % c.series;
      ts[i] = i % 17 === 0 ? -1000 * i : 1_700_000_000_000 + i;
      vs[i] = i % 11 === 0 ? NaN : i * 1.5;
    }
    const enc = new WriteRequestEncoder(16);
    const raw = Buffer.from(enc.encodeSlots(slots, ts, vs, 0, c.samples, labels));
    const body = enc.encodeSnappy(slots, ts, vs, 0, c.samples, labels, pairIds, table);
    const back = snappy.uncompressSync(body) as Buffer;
    assert.ok(back.equals(raw), c.name);
    const d = decodeWriteRequest(back, new DecodedWriteRequest());
    assert.equal(d.samples, c.samples, c.name);
    if (c.samples === c.series && c.samples > 1)
      assert.ok(body.length < raw.length / 2, `${c.name}: ${body.length} of ${raw.length} B`);
  }
});

// Unit tests of remote write: protobuf encode/decode, snappy block format, backoff,
// position save/restore, label validation, Retry-After.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import snappy from 'snappy';
import { Labels } from '../src/model/labels.js';
import { STALE_NAN } from '../src/model/stale.js';
import {
  DecodedWriteRequest,
  RemoteWriteManager,
  WriteRequestEncoder,
  backoffDelay,
  desiredShards,
  checkSeriesLabels,
  decodeWriteRequest,
  dedupMetadata,
  encodeLabels,
  encodeMetadataRequest,
  loadPosition,
  parseRetryAfter,
  roundDepth,
  roundsInFlight,
  savePosition,
  snappyDecodedLength,
} from '../src/remote/index.js';

function bitsOf(v: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b.toString('hex');
}

test('protobuf: round trip of series and samples, with edge values', () => {
  const series = [
    Labels.from({ __name__: 'up', job: 'a' }),
    Labels.from({ __name__: 'ünï_côdé', path: '/ℵ/日本', le: '+Inf' }),
    Labels.from({ __name__: 'x' }),
  ];
  const enc = series.map(encodeLabels);
  const cases: { ref: number; t: number; v: number }[] = [
    { ref: 0, t: 0, v: 0 },
    { ref: 1, t: -1, v: -0 },
    { ref: 0, t: 1, v: 1.5 },
    { ref: 2, t: -(2 ** 31) - 7, v: NaN },
    { ref: 1, t: 2 ** 31 + 3, v: STALE_NAN },
    { ref: 2, t: 1_700_000_000_123, v: Infinity },
    { ref: 0, t: -1_700_000_000_123, v: -Infinity },
    { ref: 1, t: 2 ** 53 - 1, v: Number.MAX_VALUE },
    { ref: 2, t: -(2 ** 53 - 1), v: Number.MIN_VALUE },
    { ref: 0, t: 127, v: 1e-300 },
    { ref: 0, t: 128, v: 42 },
  ];
  const refs = cases.map((c) => c.ref);
  const ts = cases.map((c) => c.t);
  // Assigned one by one: a JS array of doubles may quieten a signalling NaN (the stale marker).
  const vs = new Float64Array(cases.length);
  cases.forEach((c, i) => (vs[i] = c.v));
  const body = new WriteRequestEncoder(16).encode(refs, ts, vs, cases.length, (r) => enc[r]);
  const out = decodeWriteRequest(body, new DecodedWriteRequest());
  // Grouped by series, in order of first appearance; per-series order kept.
  assert.equal(out.series, 3);
  assert.equal(out.samples, cases.length);
  const order = [0, 1, 2];
  let k = 0;
  for (let s = 0; s < out.series; s++) {
    const ref = order[s];
    assert.deepEqual(out.pairsOf(s), series[ref].toPairs());
    const want = cases.filter((c) => c.ref === ref);
    assert.equal(out.sampleStart[s + 1] - out.sampleStart[s], want.length);
    for (const w of want) {
      assert.equal(out.ts[k], w.t, `timestamp ${w.t}`);
      assert.equal(bitsOf(out.vs[k]), bitsOf(w.v), `value bits of ${w.v}`);
      k++;
    }
  }
});

test('protobuf: bytes of a known request match the protobuf wire format', () => {
  // TimeSeries{labels:[{name:"a",value:"b"}], samples:[{value:1, timestamp:-1}]}
  const lb = encodeLabels(Labels.from({ a: 'b' }));
  assert.equal(lb.toString('hex'), '0a060a0161120162');
  const body = new WriteRequestEncoder().encode([7], [-1], [1], 1, () => lb);
  const sample = '09' + '000000000000f03f' + '10' + 'ffffffffffffffffff01';
  const tsInner =
    '0a060a0161120162' + '12' + (sample.length / 2).toString(16).padStart(2, '0') + sample;
  assert.equal(body.toString('hex'), '0a' + (tsInner.length / 2).toString(16) + tsInner);
});

test('protobuf: compressed off the main thread, bodies encoded back to back stay apart', async () => {
  const labels = Array.from({ length: 40 }, (_, i) =>
    encodeLabels(Labels.from({ __name__: 'm', pod: `pod-${i}`, zone: 'z'.repeat(200) })),
  );
  const n = 400;
  const slots = Int32Array.from({ length: n }, (_, i) => (i * 7) % 40);
  const ts = Float64Array.from({ length: n }, (_, i) => 1_700_000_000_000 + i);
  const vs = Float64Array.from({ length: n }, (_, i) => i / 3);
  const sync = new WriteRequestEncoder(1024);
  const async = new WriteRequestEncoder(1024);
  // Cases: [start, end) of each request; all encoded before any compression is awaited,
  // then one awaited before the next is encoded.
  const cases: [number, number][] = [
    [0, 400],
    [0, 10],
    [10, 300],
    [300, 400],
  ];
  const pending = cases.map(([a, b]) => async.encodeSnappyAsync(slots, ts, vs, a, b, labels));
  const bodies = await Promise.all(pending);
  for (const [i, [a, b]] of cases.entries()) {
    const want = sync.encodeSnappy(slots, ts, vs, a, b, labels);
    assert.deepEqual(bodies[i], want, `request ${i} [${a}, ${b}) encoded back to back`);
    const one = await async.encodeSnappyAsync(slots, ts, vs, a, b, labels);
    assert.deepEqual(one, want, `request ${i} [${a}, ${b}) awaited`);
  }
});

test('protobuf: malformed input is a ParseError, not a crash', () => {
  const cases: [string, string][] = [
    ['truncated length', '0a05'],
    ['truncated varint', '0a'],
    ['bad wire type', '0f'],
    ['sample runs past series', '0a0412020910'],
  ];
  for (const [name, hex] of cases) {
    assert.throws(
      () => decodeWriteRequest(Buffer.from(hex, 'hex'), new DecodedWriteRequest()),
      /remote write request/,
      name,
    );
  }
});

test('snappy: block format with a length preamble, not the framed stream', () => {
  const raw = Buffer.alloc(100_000, 'abcdefgh');
  const c = snappy.compressSync(raw) as Buffer;
  assert.notEqual(c.subarray(0, 4).toString('hex'), 'ff060000');
  assert.equal(snappyDecodedLength(c), raw.length);
  assert.ok(c.length < raw.length / 10);
  assert.deepEqual(snappy.uncompressSync(c), raw);
  assert.equal(snappyDecodedLength(Buffer.from('ffffffffff', 'hex')), -1);
});

test('backoff: doubles from min to max', () => {
  const got = Array.from({ length: 10 }, (_, i) => backoffDelay(i, 30, 5000));
  assert.deepEqual(got, [30, 60, 120, 240, 480, 960, 1920, 3840, 5000, 5000]);
  assert.equal(backoffDelay(1000, 30, 5000), 5000);
});

test('Retry-After: seconds or an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const cases: [string | undefined, number][] = [
    [undefined, -1],
    ['', -1],
    ['3', 3000],
    ['Thu, 01 Jan 2026 00:00:10 GMT', 10_000],
    ['garbage', -1],
  ];
  for (const [v, want] of cases) assert.equal(parseRetryAfter(v, now), want, String(v));
});

test('position: save and restore; missing or damaged means start over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mm-rw-pos-'));
  try {
    const f = join(dir, 'position');
    assert.equal(loadPosition(f), null);
    savePosition(f, { segment: 12, offset: 34567 });
    assert.deepEqual(loadPosition(f), { segment: 12, offset: 34567 });
    savePosition(f, { segment: 13, offset: 0 });
    assert.deepEqual(loadPosition(f), { segment: 13, offset: 0 });
    // With the rounds in flight: kept when each has one count per shard.
    const inFlight = {
      segment: 13,
      offset: 100,
      shards: 2,
      rounds: [
        { segment: 13, offset: 900, samples: 1000, perRequest: 500, done: [500, 0] },
        { segment: 14, offset: 50, samples: 40, perRequest: 500, done: [20, 0] },
      ],
    };
    savePosition(f, inFlight);
    assert.deepEqual(loadPosition(f), inFlight);
    const cases: [string, unknown][] = [
      ['no rounds', { segment: 13, offset: 100, shards: 2, rounds: [] }],
      ['a done per shard missing', { ...inFlight, rounds: [{ ...inFlight.rounds[0], done: [1] }] }],
      [
        'a round without its end',
        { ...inFlight, rounds: [{ ...inFlight.rounds[0], offset: 'x' }] },
      ],
      [
        'a round without its size',
        { ...inFlight, rounds: [{ ...inFlight.rounds[0], samples: null }] },
      ],
      ['no request size', { ...inFlight, rounds: [{ ...inFlight.rounds[0], perRequest: 0 }] }],
      ['no shards', { segment: 13, offset: 100, rounds: inFlight.rounds }],
    ];
    for (const [what, bad] of cases) {
      writeFileSync(f, JSON.stringify(bad));
      assert.deepEqual(loadPosition(f), { segment: 13, offset: 100 }, what);
    }
    writeFileSync(f, '{"segment": 13, "off');
    assert.equal(loadPosition(f), null, 'torn');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('receiver validation: sorted unique valid non-empty labels', () => {
  const cases: [string[], RegExp | null][] = [
    [['__name__', 'up', 'job', 'x'], null],
    [[], /without labels/],
    [['__name__', '1up'], /invalid metric name/],
    [['__name__', 'up', 'a-b', 'x'], /invalid label name/],
    [['job', 'x', '__name__', 'up'], /not sorted/],
    [['__name__', 'up', 'a', '1', 'a', '2'], /duplicate/],
    [['__name__', 'up', 'a', ''], /empty value/],
    [['', 'v'], /empty label name/],
  ];
  for (const [pairs, want] of cases) {
    const got = checkSeriesLabels(pairs);
    if (want === null) assert.equal(got, null);
    else assert.match(got ?? '', want, pairs.join(','));
  }
});

test('shards: follow the incoming rate and the backlog, within [min, max], with hysteresis', () => {
  const base = {
    inRate: 10_000,
    sendSecondsPerSample: 0.0005,
    backlog: 0,
    current: 1,
    min: 1,
    max: 50,
  };
  const cases: [string, Partial<typeof base>, number][] = [
    ['keeps up: 10k/s at 0.5 ms per sample needs 5', {}, 5],
    ['backlog of 400k adds 20k/s over 20 s', { backlog: 400_000 }, 15],
    ['clamped to max', { backlog: 1e9 }, 50],
    ['idle falls to min', { inRate: 0, current: 8 }, 1],
    ['within 30 %: unchanged', { current: 4 }, 4],
    ['min above the need', { min: 10, current: 10 }, 10],
  ];
  for (const [name, over, want] of cases)
    assert.equal(desiredShards({ ...base, ...over }), want, name);
});

test('metadata: WriteRequest.metadata bytes, defaults left out as Go does', () => {
  const cases: {
    name: string;
    m: { metric: string; type: string; help: string; unit: string };
    hex: string;
  }[] = [
    // 1a len { 08 type, 12 len family, 22 len help, 2a len unit }
    {
      name: 'gauge with help',
      m: { metric: 'up', type: 'gauge', help: 'x', unit: '' },
      hex: '1a09080212027570220178',
    },
    {
      name: 'unknown type and empty help are omitted',
      m: { metric: 'a', type: 'unknown', help: '', unit: '' },
      hex: '1a03120161',
    },
    {
      name: 'type outside the enum is unknown',
      m: { metric: 'a', type: 'untyped', help: '', unit: '' },
      hex: '1a03120161',
    },
    {
      name: 'stateset with unit',
      m: { metric: 'a', type: 'stateset', help: '', unit: 's' },
      hex: '1a0808071201612a0173',
    },
  ];
  for (const tc of cases) {
    assert.equal(encodeMetadataRequest([tc.m]).toString('hex'), tc.hex, tc.name);
  }
});

test('metadata: round trip through the decoder, beside series', () => {
  const items = [
    { metric: 'request_total', type: 'counter', help: 'Total count of HTTP requests.', unit: '' },
    { metric: 'response_latency_ms', type: 'histogram', help: 'Elapsed times ℵ.', unit: 'ms' },
    { metric: 'process_start_time_seconds', type: 'gauge', help: '', unit: 'seconds' },
    { metric: 'g', type: 'gaugehistogram', help: '', unit: '' },
    { metric: 's', type: 'summary', help: 'h', unit: '' },
    { metric: 'i', type: 'info', help: '', unit: '' },
    { metric: 'u', type: 'unknown', help: '', unit: '' },
  ];
  const series = new WriteRequestEncoder().encode([0], [1000], [1.5], 1, () =>
    encodeLabels(Labels.from({ __name__: 'up' })),
  );
  const body = Buffer.concat([encodeMetadataRequest(items), series]);
  const out = decodeWriteRequest(body, new DecodedWriteRequest());
  assert.deepEqual(out.metadata, items);
  assert.equal(out.series, 1);
  assert.equal(out.samples, 1);
  decodeWriteRequest(series, out);
  assert.deepEqual(out.metadata, [], 'reset between requests');
});

test('metadata: deduplicated on all four fields, first seen first (as 2.42)', () => {
  const a = { metric: 'a', type: 'counter', help: 'h', unit: '' };
  const a2 = { metric: 'a', type: 'counter', help: 'other', unit: '' };
  const b = { metric: 'b', type: 'gauge', help: '', unit: '' };
  assert.deepEqual(dedupMetadata([a, b, { ...a }, a2, { ...b }]), [a, b, a2]);
});

test('highest_timestamp_in_seconds: one gauge without labels, from the newest appended sample (as 2.42)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'mm-rw-highest-'));
  try {
    const cases: { name: string; highest: number; want: number }[] = [
      { name: 'empty database', highest: -Infinity, want: 0 },
      { name: 'newest sample', highest: 1_700_000_123_456, want: 1_700_000_123.456 },
    ];
    for (const c of cases) {
      const m = new RemoteWriteManager({ dataDir: root, highestTimestamp: () => c.highest });
      const rows = m
        .metrics()
        .filter((r) => r.name === 'prometheus_remote_storage_highest_timestamp_in_seconds');
      assert.equal(rows.length, 1, c.name);
      assert.deepEqual(rows[0].labels, {}, c.name);
      assert.equal(rows[0].type, 'gauge');
      assert.equal(rows[0].value, c.want, c.name);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('round depth: up to 8 requests per shard, shallower as shards grow, never below 1', () => {
  const cases: [number, number][] = [
    [500, 8], // 1 shard of 500
    [4000, 8],
    [5000, 6],
    [32_000, 1],
    [100_000, 1], // 200 shards of 500
  ];
  for (const [full, want] of cases)
    assert.equal(roundDepth(full), want, `${full} per request round`);
});

test('rounds in flight: about capacity samples queued per shard, from 2 to 8', () => {
  const cases: [number, number, number, number][] = [
    // capacity, samples per request, round depth, rounds
    [2500, 500, 8, 2], // few shards: deep rounds
    [2500, 500, 1, 5], // 200 shards: one request per shard and round
    [2500, 500, 2, 3],
    [10_000, 100, 1, 8],
    [100, 500, 1, 2],
  ];
  for (const [capacity, per, depth, want] of cases)
    assert.equal(roundsInFlight(capacity, per, depth), want, `${capacity}/${per}/${depth}`);
});

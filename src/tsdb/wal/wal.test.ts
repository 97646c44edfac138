import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../../model/labels.js';
import { Encbuf } from '../encoding.js';
import {
  RecordType,
  SampleBatch,
  decodeSamples,
  decodeSeries,
  encodeSamples,
  encodeSeries,
  recordType,
  type RefSeries,
} from '../record.js';
import { checkpoint } from './checkpoint.js';
import { WalReader } from './reader.js';
import { replay } from './replay.js';
import {
  FRAGMENT_HEADER_SIZE,
  PAGE_SIZE,
  listCheckpoints,
  listSegments,
  segmentPath,
} from './segment.js';
import { WAL } from './wal.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A record of `n` bytes whose content depends on `seed`, so mix-ups show. */
function rec(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17 + 1) & 0xff;
  return b;
}

function readAll(dir: string): { recs: Buffer[]; segs: number[] } {
  const r = new WalReader(dir);
  const recs: Buffer[] = [];
  const segs: number[] = [];
  while (r.next()) {
    recs.push(Buffer.from(r.record()));
    segs.push(r.segment());
  }
  r.close();
  assert.equal(r.err(), null);
  return { recs, segs };
}

const SMALL_SEGMENT = 2 * PAGE_SIZE;

const sizeCases: { name: string; sizes: number[] }[] = [
  { name: 'empty and tiny records', sizes: [0, 1, 0, 2, 3] },
  { name: 'records that fill a page exactly', sizes: [PAGE_SIZE - FRAGMENT_HEADER_SIZE, 10] },
  { name: 'a record leaving less than a header in the page', sizes: [PAGE_SIZE - 10, 5, 6] },
  { name: 'records bigger than a page', sizes: [PAGE_SIZE + 1, (3 * PAGE_SIZE) / 2, 5] },
  { name: 'records crossing into the next segment', sizes: [40_000, 40_000, 40_000, 100] },
  { name: 'a record bigger than a whole segment', sizes: [10, 5 * PAGE_SIZE + 123, 10] },
  {
    name: 'many small records over several segments',
    sizes: Array.from({ length: 3000 }, (_, i) => (i * 37) % 200),
  },
];

for (const tc of sizeCases) {
  test(`fragments round-trip: ${tc.name}`, async (t) => {
    const dir = tempDir(t);
    const w = WAL.open(dir, { segmentSizeBytes: SMALL_SEGMENT });
    for (let i = 0; i < tc.sizes.length; i++) {
      w.log(rec(tc.sizes[i], i));
      if (i % 3 === 2) await w.commit();
    }
    await w.close();
    const { recs } = readAll(dir);
    assert.equal(recs.length, tc.sizes.length);
    for (let i = 0; i < recs.length; i++)
      assert.deepEqual(recs[i], Buffer.from(rec(tc.sizes[i], i)), `record ${i}`);
    // Closed segments end on a page boundary; a record never spans two segments, so only
    // a segment holding one oversized record exceeds the limit.
    for (const s of listSegments(dir)) {
      const size = statSync(segmentPath(dir, s)).size;
      assert.equal(size % PAGE_SIZE, 0, `segment ${s} size ${size}`);
      if (size > SMALL_SEGMENT) assert.ok(tc.sizes.some((n) => n > SMALL_SEGMENT - PAGE_SIZE));
    }
  });
}

test('a record bigger than a segment goes alone into a fresh segment', async (t) => {
  const dir = tempDir(t);
  const w = WAL.open(dir, { segmentSizeBytes: SMALL_SEGMENT });
  w.log(rec(10, 0), rec(5 * PAGE_SIZE, 1), rec(10, 2));
  await w.close();
  const { segs } = readAll(dir);
  assert.deepEqual(segs, [0, 1, 2]);
});

test('page layout: full fragment, zero padding when no header fits, first/middle/last', async (t) => {
  const dir = tempDir(t);
  const w = WAL.open(dir);
  // Leaves 3 bytes in the first page: less than a header, so they are padded.
  w.log(rec(PAGE_SIZE - FRAGMENT_HEADER_SIZE - 3, 0));
  // 2 pages' worth: first fragment fills page 2, middle fills page 3, last goes on.
  w.log(rec(2 * PAGE_SIZE, 1));
  await w.commit();
  const b = readFileSync(segmentPath(dir, 0));
  assert.equal(b[0], 1, 'full');
  assert.equal((b[1] << 8) | b[2], PAGE_SIZE - FRAGMENT_HEADER_SIZE - 3);
  assert.deepEqual([...b.subarray(PAGE_SIZE - 3, PAGE_SIZE)], [0, 0, 0], 'padding');
  assert.equal(b[PAGE_SIZE], 2, 'first');
  assert.equal(b[2 * PAGE_SIZE], 3, 'middle');
  assert.equal(b[3 * PAGE_SIZE], 4, 'last');
  // The last fragment holds what is left: 2 pages minus two fragments' data.
  const lastLen = 2 * PAGE_SIZE - 2 * (PAGE_SIZE - FRAGMENT_HEADER_SIZE);
  assert.equal((b[3 * PAGE_SIZE + 1] << 8) | b[3 * PAGE_SIZE + 2], lastLen);
  // A commit writes a partial page without padding it.
  assert.equal(b.length, 3 * PAGE_SIZE + FRAGMENT_HEADER_SIZE + lastLen);
  await w.close();
  assert.equal(statSync(segmentPath(dir, 0)).size, 4 * PAGE_SIZE, 'close pads the page');
});

test('each open writes a new segment after the last one', async (t) => {
  const dir = tempDir(t);
  for (let i = 0; i < 3; i++) {
    const w = WAL.open(dir);
    w.log(rec(100, i));
    await w.close();
  }
  assert.deepEqual(listSegments(dir), [0, 1, 2]);
  assert.equal(readAll(dir).recs.length, 3);
});

test("fsync 'commit' mode: concurrent commits all resolve and are readable", async (t) => {
  const dir = tempDir(t);
  const w = WAL.open(dir, { fsync: 'commit', segmentSizeBytes: SMALL_SEGMENT });
  const commits: Promise<void>[] = [];
  for (let i = 0; i < 200; i++) {
    w.log(rec(500, i));
    commits.push(w.commit());
  }
  await Promise.all(commits);
  await w.close();
  const { recs } = readAll(dir);
  assert.equal(recs.length, 200);
  assert.ok(listSegments(dir).length > 1);
});

test('live reader: an incomplete tail is "no more for now", not corruption', async (t) => {
  const dir = tempDir(t);
  const w = WAL.open(dir, { segmentSizeBytes: SMALL_SEGMENT });
  const r = new WalReader(dir, { live: true });
  assert.equal(r.next(), false, 'nothing written yet');
  assert.equal(r.err(), null);

  w.log(rec(10, 0));
  await w.commit();
  assert.equal(r.next(), true);
  assert.deepEqual(Buffer.from(r.record()), Buffer.from(rec(10, 0)));
  assert.equal(r.next(), false);
  assert.equal(r.err(), null);

  // A record split over pages arrives in pieces: the reader waits for the rest.
  w.log(rec(PAGE_SIZE + 500, 1));
  await w.commit();
  const seg = segmentPath(dir, w.activeSegment());
  const whole = readFileSync(seg);
  // Simulate a tail still being written: cut the file inside the last fragment.
  const cut = whole.length - 200;
  const dir2 = tempDir(t);
  const seg2 = segmentPath(dir2, 0);
  appendFileSync(seg2, whole.subarray(0, cut));
  const r2 = new WalReader(dir2, { live: true });
  assert.equal(r2.next(), true);
  assert.equal(r2.next(), false, 'partial record: wait');
  assert.equal(r2.err(), null);
  appendFileSync(seg2, whole.subarray(cut, cut + 3)); // still partial
  assert.equal(r2.next(), false);
  assert.equal(r2.err(), null);
  appendFileSync(seg2, whole.subarray(cut + 3));
  assert.equal(r2.next(), true);
  assert.deepEqual(Buffer.from(r2.record()), Buffer.from(rec(PAGE_SIZE + 500, 1)));
  r2.close();

  // The same tail read as a finished log is corruption.
  const dir3 = tempDir(t);
  appendFileSync(segmentPath(dir3, 0), whole.subarray(0, cut));
  const r3 = new WalReader(dir3);
  assert.equal(r3.next(), true);
  assert.equal(r3.next(), false);
  assert.match(String(r3.err()), /segment ends inside a fragment/);

  // The live reader follows the writer into the next segment.
  assert.equal(r.next(), true);
  w.nextSegment();
  w.log(rec(20, 2));
  await w.commit();
  assert.equal(r.next(), true);
  assert.equal(r.segment(), 1);
  assert.deepEqual(Buffer.from(r.record()), Buffer.from(rec(20, 2)));
  assert.equal(r.next(), false);
  assert.equal(r.err(), null);
  r.close();
  await w.close();
});

test('live reader started before any segment exists picks up the first one created', async (t) => {
  const dir = tempDir(t);
  // Segments 0..2 were checkpointed away: the writer goes on at 3.
  mkdirSync(join(dir, 'checkpoint.00000002'), { recursive: true });
  writeFileSync(segmentPath(dir, 2), '');
  const w = WAL.open(dir);
  unlinkSync(segmentPath(dir, 2));
  const r = new WalReader(dir, { live: true });
  assert.equal(r.next(), false);
  w.log(rec(5, 1));
  await w.commit();
  assert.equal(r.next(), true);
  assert.equal(r.segment(), 3);
  r.close();
  await w.close();
});

function seriesRecord(enc: Encbuf, refs: number[]): Uint8Array {
  enc.reset();
  encodeSeries(
    enc,
    refs.map((ref) => ({ ref, labels: Labels.from({ __name__: 'm', id: String(ref) }) })),
  );
  return Buffer.from(enc.get());
}

function samplesRecord(enc: Encbuf, refs: number[], t: number): Uint8Array {
  enc.reset();
  encodeSamples(
    enc,
    refs,
    refs.map(() => t),
    refs.map((r) => r * 1000 + t),
  );
  return Buffer.from(enc.get());
}

/** Replays `dir` into a map ref → [labels key, sample timestamps]. */
function replayed(w: WAL): Map<number, { labels: string; ts: number[] }> {
  const m = new Map<number, { labels: string; ts: number[] }>();
  const series: RefSeries[] = [];
  const batch = new SampleBatch();
  replay(w, (r) => {
    if (recordType(r) === RecordType.Series) {
      series.length = 0;
      for (const s of decodeSeries(r, series))
        m.set(s.ref, { labels: s.labels.toString(), ts: [] });
    } else if (recordType(r) === RecordType.Samples) {
      batch.reset();
      decodeSamples(r, batch);
      for (let i = 0; i < batch.length; i++) {
        const e = m.get(batch.refs[i]);
        assert.ok(e, `sample of unknown series ${batch.refs[i]}`);
        assert.equal(batch.vs[i], batch.refs[i] * 1000 + batch.ts[i]);
        e.ts.push(batch.ts[i]);
      }
    }
  });
  return m;
}

test('checkpoint keeps live series and recent samples, deletes covered segments', async (t) => {
  const dir = tempDir(t);
  const enc = new Encbuf();
  const w = WAL.open(dir, { segmentSizeBytes: SMALL_SEGMENT });
  const refs = Array.from({ length: 50 }, (_, i) => i + 1);
  w.log(seriesRecord(enc, refs));
  for (let ts = 0; ts < 300; ts++) {
    w.log(samplesRecord(enc, refs, ts * 10));
    await w.commit();
  }
  const last = w.nextSegment() - 1;
  assert.ok(last >= 2, `want several segments, got ${last + 1}`);
  // Keep odd refs and samples from t = 1500 on.
  const stats = await checkpoint(w, 0, last, (ref) => ref % 2 === 1, 1500);
  assert.equal(stats.totalSeries, 50);
  assert.equal(stats.droppedSeries, 25);
  assert.equal(stats.totalSamples, 15000);
  assert.equal(stats.droppedSamples, 15000 - 25 * 150);
  assert.equal(stats.deletedSegments, last + 1);
  assert.deepEqual(
    listCheckpoints(dir).map((c) => c.index),
    [last],
  );
  assert.deepEqual(listSegments(dir), [last + 1]);
  assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')));

  // Writes after the checkpoint replay after it.
  w.log(samplesRecord(enc, [1, 3], 5000));
  await w.commit();
  let m = replayed(w);
  assert.equal(m.size, 25);
  assert.deepEqual(m.get(1)?.ts.length, 151);
  assert.deepEqual(m.get(3)?.ts.at(-1), 5000);
  assert.equal(m.get(1)?.labels, '{__name__="m", id="1"}');
  assert.equal(m.has(2), false);

  // A second checkpoint folds the first one in and replaces it.
  const last2 = w.nextSegment() - 1;
  const stats2 = await checkpoint(w, last + 1, last2, (ref) => ref !== 1, 2990);
  assert.equal(stats2.deletedCheckpoints, 1);
  assert.deepEqual(
    listCheckpoints(dir).map((c) => c.index),
    [last2],
  );
  m = replayed(w);
  assert.equal(m.size, 24);
  assert.deepEqual(m.get(3)?.ts, [2990, 5000]);
  await w.close();
});

test('checkpoint refuses to cover the active segment', async (t) => {
  const dir = tempDir(t);
  const w = WAL.open(dir);
  w.log(rec(1, 1));
  await assert.rejects(
    checkpoint(w, 0, 0, () => true, 0),
    /still being written/,
  );
  await w.close();
});

test('a missing segment in the middle is reported, not skipped', (t) => {
  const dir = tempDir(t);
  for (const i of [0, 1, 3]) writeFileSync(segmentPath(dir, i), '');
  assert.throws(
    () => WAL.open(dir),
    /00000002: offset 0: segment missing: found 00000001 then 00000003/,
  );
});

test('segment sizes that are not whole pages are refused', (t) => {
  const dir = tempDir(t);
  for (const size of [0, 1000, PAGE_SIZE + 1]) {
    assert.throws(() => WAL.open(dir, { segmentSizeBytes: size }), /multiple of the page size/);
  }
});

test('zstd-compressed fragments are reported as unsupported at their offset', async (t) => {
  const dir = tempDir(t);
  const w = WAL.open(dir);
  w.log(rec(10, 0), rec(10, 1));
  await w.close();
  const p = segmentPath(dir, 0);
  const b = readFileSync(p);
  b[17] |= 0x10; // the second fragment's type byte: set the zstd bit
  writeFileSync(p, b);
  const r = new WalReader(dir);
  assert.equal(r.next(), true);
  assert.equal(r.next(), false);
  assert.match(
    String(r.err()),
    /00000000: offset 17: zstd-compressed record \(type byte 0x11\) is not supported/,
  );
  assert.equal(r.err()?.lastGoodEnd, 17);
});

test('a Snappy flag on bytes that are not Snappy is corruption at the fragment', async (t) => {
  const dir = tempDir(t);
  const w = WAL.open(dir);
  w.log(rec(10, 0), rec(10, 1));
  await w.close();
  const p = segmentPath(dir, 0);
  const b = readFileSync(p);
  b[17] |= 0x08;
  writeFileSync(p, b);
  const r = new WalReader(dir);
  assert.equal(r.next(), true);
  assert.equal(r.next(), false);
  assert.match(String(r.err()), /00000000: offset 17: invalid snappy record/);
  assert.equal(r.err()?.lastGoodEnd, 17);
});

const WORDS = ['pod', 'deployment', 'namespace', 'linkerd', 'le="0.5"', 'route', 'outbound', 'tls'];

test('snappy compression: records round-trip across pages and segments, flag on every fragment', async (t) => {
  const cases = [
    { name: 'compressible records span pages', n: 200, size: 3000, random: false },
    { name: 'incompressible records stay raw', n: 20, size: 5000, random: true },
    { name: 'compressed records bigger than a page', n: 3, size: 5 * PAGE_SIZE, random: false },
    { name: 'empty records', n: 5, size: 0, random: false },
  ];
  for (const c of cases) {
    const dir = tempDir(t);
    const w = WAL.open(dir, { segmentSizeBytes: SMALL_SEGMENT, compression: 'snappy' });
    const want: Buffer[] = [];
    for (let i = 0; i < c.n; i++) {
      // Compressible: random picks among a few label-like words (Snappy halves them, so
      // big ones still span pages); incompressible: random bytes.
      const r = Buffer.alloc(c.size);
      for (let j = 0; j < c.size;) {
        if (c.random) r[j++] = (Math.random() * 256) | 0;
        else j += r.write(WORDS[(Math.random() * WORDS.length) | 0], j);
      }
      want.push(r);
      w.log(r);
      if (i % 7 === 0) await w.commit();
    }
    await w.close();
    const r = new WalReader(dir);
    let k = 0;
    while (r.next()) {
      assert.deepEqual(Buffer.from(r.record()), want[k], `${c.name}: record ${k}`);
      k++;
    }
    assert.equal(r.err(), null, c.name);
    assert.equal(k, c.n, c.name);
    // Fragment type bytes: the Snappy bit is set when compressed and only then.
    const seg0 = readFileSync(segmentPath(dir, 0));
    const flagged = (seg0[0] & 0x08) !== 0;
    assert.equal(
      flagged,
      !c.random && c.size > 0,
      `${c.name}: first type byte 0x${seg0[0].toString(16)}`,
    );
    if (c.name.includes('bigger')) {
      assert.equal(seg0[0] & 0x07, 2, 'a first fragment');
      assert.ok(seg0[PAGE_SIZE] & 0x08, 'the next fragment is flagged too');
    }
  }
});

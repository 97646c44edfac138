import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../model/labels.js';
import { Matcher } from '../model/matcher.js';
import { ValueType, type SampleIterator } from '../storage/interface.js';
import { Block } from './block.js';
import { encodeXORChunks, sourceFromSeries, writeBlock } from './block-writer.js';

const dirs: string[] = [];
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Two series of 100 samples 10 ms apart, in chunks of 10 samples. */
const SERIES = [
  { labels: { __name__: 'a', pod: 'p1' }, t0: 0 },
  { labels: { __name__: 'a', pod: 'p2' }, t0: 5 },
].map((s) => {
  const ts = Array.from({ length: 100 }, (_, i) => s.t0 + i * 10);
  return { labels: s.labels, ts, vs: Float64Array.from(ts, (_, i) => i) };
});

function block(): Block {
  const dir = mkdtempSync(join(tmpdir(), 'mm-block-querier-'));
  dirs.push(dir);
  const series = SERIES.map((d) => ({
    labels: Labels.from(d.labels),
    chunks: encodeXORChunks(d.ts, d.vs, d.ts.length, 10),
  }));
  const meta = writeBlock(dir, sourceFromSeries(series), { mint: 0, maxt: 1000 });
  return Block.open(join(dir, meta.ulid));
}

function collect(it: SampleIterator): number[] {
  const out: number[] = [];
  while (it.next() !== ValueType.None) out.push(it.atT());
  return out;
}

test('a series checked by peeking reads the same as a fresh one, with and without tombstones', async () => {
  // Ranges that lie inside one chunk (10 samples, 100 ms each) make the set peek.
  const cases: {
    name: string;
    mint: number;
    maxt: number;
    del: [number, number] | null;
    first: 'next' | 'seek-before' | 'seek-inside';
  }[] = [
    { name: 'next', mint: 420, maxt: 480, del: null, first: 'next' },
    { name: 'seek before mint', mint: 420, maxt: 480, del: null, first: 'seek-before' },
    { name: 'seek inside', mint: 420, maxt: 480, del: null, first: 'seek-inside' },
    { name: 'deleted before mint', mint: 420, maxt: 480, del: [405, 425], first: 'next' },
    { name: 'deleted, seek before', mint: 420, maxt: 480, del: [405, 435], first: 'seek-before' },
  ];
  for (const c of cases) {
    const b = block();
    if (c.del) b.delete(c.del[0], c.del[1], [new Matcher('=', 'pod', 'p1')]);
    const want = SERIES[0].ts.filter(
      (t) => t >= c.mint && t <= c.maxt && !(c.del && t >= c.del[0] && t <= c.del[1]),
    );
    const q = await b.querier(c.mint, c.maxt);
    const ss = q.select(true, null, [new Matcher('=', '__name__', 'a')]);
    let reuse: SampleIterator | undefined = undefined;
    assert.ok(ss.next(), c.name);
    const s = ss.at();
    for (let round = 0; round < 2; round++) {
      // The first iterator() continues from the peek; the second one starts afresh.
      const it: SampleIterator = s.iterator(reuse);
      reuse = it;
      const got: number[] = [];
      let vt: ValueType;
      if (c.first === 'next') vt = it.next();
      else if (c.first === 'seek-before') vt = it.seek(0);
      else vt = it.seek(want[1]);
      for (; vt !== ValueType.None; vt = it.next()) got.push(it.atT());
      assert.deepEqual(
        got,
        c.first === 'seek-inside' ? want.slice(1) : want,
        `${c.name} #${round}`,
      );
    }
    // The next series, read with the iterator given back.
    assert.ok(ss.next(), c.name);
    const p2 = collect(ss.at().iterator(reuse));
    assert.deepEqual(
      p2,
      SERIES[1].ts.filter((t) => t >= c.mint && t <= c.maxt),
      c.name,
    );
    b.close();
  }
});

/** The samples of `it` from `from` to `maxt`, read with readBatch into arrays of `room`. */
function readBatched(it: SampleIterator, from: number, maxt: number, room: number): number[] {
  const ts = new Float64Array(room);
  const vs = new Float64Array(room);
  const out: number[] = [];
  for (let vt = it.seek(from); vt !== ValueType.None; vt = it.next()) {
    const c = it.readBatch!(maxt, ts, vs, 0);
    if (c === 0) break;
    for (let i = 0; i < c; i++) out.push(ts[i], vs[i]);
  }
  assert.equal(it.err(), null);
  return out;
}

test('readBatch copies what next() walks, chunk by chunk, with tombstones and short arrays', async () => {
  const cases: {
    name: string;
    mint: number;
    maxt: number;
    from: number;
    upTo: number;
    room: number;
    del: [number, number] | null;
  }[] = [
    { name: 'everything', mint: 0, maxt: 1000, from: 0, upTo: 1000, room: 128, del: null },
    { name: 'inside one chunk', mint: 420, maxt: 480, from: 0, upTo: 480, room: 128, del: null },
    { name: 'caller maxt earlier', mint: 0, maxt: 1000, from: 0, upTo: 555, room: 128, del: null },
    { name: 'seek past mint', mint: 0, maxt: 1000, from: 333, upTo: 1000, room: 128, del: null },
    { name: 'arrays of 3', mint: 100, maxt: 900, from: 0, upTo: 900, room: 3, del: null },
    { name: 'tombstone', mint: 0, maxt: 1000, from: 0, upTo: 1000, room: 128, del: [205, 455] },
    {
      name: 'tombstone, arrays of 4',
      mint: 0,
      maxt: 990,
      from: 0,
      upTo: 990,
      room: 4,
      del: [15, 25],
    },
  ];
  for (const c of cases) {
    const b = block();
    if (c.del) b.delete(c.del[0], c.del[1], [new Matcher('=', 'pod', 'p1')]);
    const want = SERIES[0].ts
      .map((t, i) => [t, i])
      .filter(
        ([t]) =>
          t >= Math.max(c.mint, c.from) &&
          t <= Math.min(c.maxt, c.upTo) &&
          !(c.del && t >= c.del[0] && t <= c.del[1]),
      )
      .flat();
    const q = await b.querier(c.mint, c.maxt);
    const ss = q.select(true, null, [new Matcher('=', '__name__', 'a')]);
    assert.ok(ss.next(), c.name);
    const s = ss.at();
    // The first iterator continues from the set's peek, the second starts afresh.
    const it = s.iterator();
    assert.deepEqual(readBatched(it, c.from, c.upTo, c.room), want, `${c.name} #0`);
    assert.deepEqual(readBatched(s.iterator(it), c.from, c.upTo, c.room), want, `${c.name} #1`);
    b.close();
  }
});

test('selects over many series read their chunks ahead and give each series its own samples', async () => {
  // 150 series (more than one read-ahead batch), 30 samples each in chunks of 10.
  const dir = mkdtempSync(join(tmpdir(), 'mm-block-querier-'));
  dirs.push(dir);
  const n = 150;
  const data = Array.from({ length: n }, (_, s) => {
    const ts = Array.from({ length: 30 }, (_, i) => i * 10 + (s % 3));
    return {
      labels: Labels.from({ __name__: 'm', id: String(s).padStart(3, '0'), odd: String(s % 2) }),
      ts,
      vs: Float64Array.from(ts, (_, i) => s * 1000 + i),
    };
  });
  const meta = writeBlock(
    dir,
    sourceFromSeries(
      data.map((d) => ({ labels: d.labels, chunks: encodeXORChunks(d.ts, d.vs, 30, 10) })),
    ),
    { mint: 0, maxt: 1000 },
  );
  const b = Block.open(join(dir, meta.ulid));
  b.delete(100, 150, [new Matcher('=', 'id', '007')]);
  const cases = [
    {
      name: 'all, whole range',
      matchers: [new Matcher('=', '__name__', 'm')],
      mint: 0,
      maxt: 1000,
    },
    {
      name: 'all, inside a chunk',
      matchers: [new Matcher('=', '__name__', 'm')],
      mint: 131,
      maxt: 168,
    },
    { name: 'every other series', matchers: [new Matcher('=', 'odd', '1')], mint: 95, maxt: 215 },
  ];
  for (const c of cases) {
    const want: string[] = [];
    for (const d of data) {
      if (!c.matchers.every((m) => m.matches(d.labels.get(m.name)))) continue;
      const pts: string[] = [];
      d.ts.forEach((t, i) => {
        if (t < c.mint || t > c.maxt) return;
        if (d.labels.get('id') === '007' && t >= 100 && t <= 150) return;
        pts.push(`${t}:${d.vs[i]}`);
      });
      if (pts.length > 0) want.push(`${d.labels.toString()} ${pts.join(' ')}`);
    }
    const q = await b.querier(c.mint, c.maxt);
    const ss = q.select(true, null, c.matchers);
    const got: string[] = [];
    let it: SampleIterator | undefined = undefined;
    while (ss.next()) {
      const s = ss.at();
      it = s.iterator(it);
      const pts: string[] = [];
      while (it.next() !== ValueType.None) pts.push(`${it.atT()}:${it.atV()}`);
      assert.equal(it.err(), null);
      got.push(`${s.labels.toString()} ${pts.join(' ')}`);
    }
    assert.equal(ss.err(), null);
    assert.deepEqual(got, want, c.name);
  }
  b.close();
});

test('reads the same samples again once decoder checkpoints are left, windows moving both ways', async () => {
  // One series of 360 samples in chunks of 120: long enough chunks to be checkpointed.
  const dir = mkdtempSync(join(tmpdir(), 'mm-block-querier-'));
  dirs.push(dir);
  const ts = Array.from({ length: 360 }, (_, i) => i * 10);
  const vs = Float64Array.from(ts, (_, i) => i * 7 + (i % 5) * 0.25);
  const meta = writeBlock(
    dir,
    sourceFromSeries([
      { labels: Labels.from({ __name__: 'c' }), chunks: encodeXORChunks(ts, vs, 360, 120) },
    ]),
    { mint: 0, maxt: 4000 },
  );
  const b = Block.open(join(dir, meta.ulid));
  const read = async (mint: number, maxt: number): Promise<number[]> => {
    const q = await b.querier(mint, maxt);
    const ss = q.select(true, null, [new Matcher('=', '__name__', 'c')]);
    const out: number[] = [];
    while (ss.next()) {
      const it = ss.at().iterator();
      for (let vt = it.seek(mint); vt !== ValueType.None; vt = it.next())
        out.push(it.atT(), it.atV());
      assert.equal(it.err(), null);
    }
    return out;
  };
  const want = (mint: number, maxt: number): number[] =>
    ts.flatMap((t, i) => (t >= mint && t <= maxt ? [t, vs[i]] : []));
  const windows = [
    [1100, 1190],
    [1100, 1190],
    [1105, 1300],
    [600, 700],
    [1500, 3590],
    [3000, 3590],
    [2995, 3001],
    [200, 250],
    [3580, 4000],
  ];
  for (let round = 0; round < 2; round++) {
    for (const [mint, maxt] of windows)
      assert.deepEqual(await read(mint, maxt), want(mint, maxt), `${mint}-${maxt} #${round}`);
  }
  // A tombstone inside a checkpointed window.
  b.delete(1120, 1150, [new Matcher('=', '__name__', 'c')]);
  assert.deepEqual(
    await read(1100, 1190),
    want(1100, 1190).filter((_, i, a) => {
      const t = a[i - (i % 2)];
      return t < 1120 || t > 1150;
    }),
  );
  b.close();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../model/labels.js';
import { Matcher } from '../model/matcher.js';
import { ValueType, type SampleIterator } from '../storage/interface.js';
import { runQuerierSuite, type SuiteSeries } from '../storage/querier-suite.js';
import { Block, BlockSet, deleteBlockDir, listBlockDirs, openBlocks } from './block.js';
import { encodeXORChunks, sourceFromSeries, writeBlock, type BlockSeries } from './block-writer.js';
import { readTombstones } from './tombstones.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mm-block-'));
  dirs.push(d);
  return d;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function toBlockSeries(data: readonly SuiteSeries[], perChunk: number): BlockSeries[] {
  return data.map((d) => ({
    labels: Labels.from(d.labels),
    chunks: encodeXORChunks(d.ts, d.vs, d.ts.length, perChunk),
  }));
}

function blockFrom(data: readonly SuiteSeries[], perChunk = 7): Block {
  const dir = tempDir();
  let mint = Infinity;
  let maxt = -Infinity;
  for (const d of data) {
    for (const t of d.ts) {
      mint = Math.min(mint, t);
      maxt = Math.max(maxt, t);
    }
  }
  const meta = writeBlock(dir, sourceFromSeries(toBlockSeries(data, perChunk)), {
    mint,
    maxt: maxt + 1,
  });
  return Block.open(join(dir, meta.ulid));
}

// Several chunks per series (7 samples each), so clipping and seeks cross chunk borders.
runQuerierSuite('block', async (data) => blockFrom(data));

// The same data cut in time into three blocks of one directory, read back merged.
runQuerierSuite('block set of three blocks', async (data) => {
  const dir = tempDir();
  const cuts = [-Infinity, 200_000, 400_000, Infinity];
  for (let k = 0; k < 3; k++) {
    const part: SuiteSeries[] = [];
    for (const d of data) {
      const idx: number[] = [];
      d.ts.forEach((t, i) => t >= cuts[k] && t < cuts[k + 1] && idx.push(i));
      if (idx.length === 0) continue;
      const vs = new Float64Array(idx.length);
      idx.forEach((i, j) => (vs[j] = d.vs[i]));
      part.push({ labels: d.labels, ts: idx.map((i) => d.ts[i]), vs });
    }
    const mint = Math.max(cuts[k], -1_000_000);
    const maxt = Math.min(cuts[k + 1], 10_000_000);
    writeBlock(dir, sourceFromSeries(toBlockSeries(part, 5)), { mint, maxt });
  }
  const set = new BlockSet(dir);
  assert.equal(set.list().length, 3);
  return set;
});

function collect(it: SampleIterator): number[] {
  const out: number[] = [];
  while (it.next() !== ValueType.None) out.push(it.atT());
  return out;
}

function suiteSeries(
  labels: Record<string, string>,
  n: number,
  t0: number,
  sign: number,
): SuiteSeries {
  const ts = Array.from({ length: n }, (_, i) => t0 + i * 10);
  return { labels, ts, vs: Float64Array.from(ts, (_, i) => sign * i) };
}

const SERIES: SuiteSeries[] = [
  suiteSeries({ __name__: 'a', pod: 'p1' }, 100, 0, 1),
  suiteSeries({ __name__: 'a', pod: 'p2' }, 100, 5, -1),
];

test('seeks across chunks without going back', async () => {
  const b = blockFrom(SERIES, 10);
  const q = await b.querier(0, 2000);
  const ss = q.select(true, null, [new Matcher('=', 'pod', 'p1')]);
  assert.ok(ss.next());
  const it = ss.at().iterator();
  const cases: [number, number | null][] = [
    [0, 0],
    [0, 0], // stays
    [455, 460],
    [300, 460], // no going back
    [990, 990],
    [991, null],
  ];
  for (const [seek, want] of cases) {
    const vt = it.seek(seek);
    if (want === null) assert.equal(vt, ValueType.None, `seek ${seek}`);
    else assert.equal(it.atT(), want, `seek ${seek}`);
  }
  assert.equal(it.err(), null);
  b.close();
});

test('tombstones hide deleted samples, survive reopening, and drop wholly deleted series', async () => {
  const b = blockFrom(SERIES, 10);
  assert.equal(b.delete(100, 349, [new Matcher('=', 'pod', 'p1')]), 1);
  assert.equal(b.delete(-Infinity, Infinity, [new Matcher('=', 'pod', 'p2')]), 1); // clamped to the data
  assert.equal(b.delete(5000, 6000, [new Matcher('=', 'pod', 'p1')]), 0); // no data there
  assert.equal(b.delete(-Infinity, -1, [new Matcher('=', 'pod', 'p1')]), 0);
  assert.equal(readTombstones(b.dir).numIntervals(), 2);
  const dir = b.dir;
  b.close();
  const again = Block.open(dir);
  assert.equal(again.meta.stats.numTombstones, 2);
  const q = await again.querier(-Infinity, Infinity);
  const ss = q.select(true, null, [new Matcher('=', '__name__', 'a')]);
  assert.ok(ss.next());
  const ts = collect(ss.at().iterator());
  assert.equal(ts.length, 100 - 25);
  assert.ok(!ts.some((t) => t >= 100 && t <= 349));
  assert.equal(ss.next(), false, 'p2 is wholly deleted');
  again.close();
});

test('lists only finished blocks, sorted by time', () => {
  const parent = tempDir();
  const make = (mint: number): string =>
    writeBlock(
      parent,
      sourceFromSeries(toBlockSeries([suiteSeries({ a: 'b' }, 1, mint, 1)], 120)),
      { mint, maxt: mint + 1 },
    ).ulid;
  const late = make(5000);
  const early = make(1000);
  rmSync(join(parent, 'wal'), { force: true, recursive: true });
  assert.deepEqual(
    openBlocks(parent).map((b) => (b.close(), b.ulid)),
    [early, late],
  );
  assert.equal(listBlockDirs(parent).length, 2);
  assert.equal(
    readdirSync(parent).some((n) => n.endsWith('.tmp-for-creation')),
    false,
  );
});

test('a block set picks up new and deleted blocks on reload', async () => {
  const dir = tempDir();
  const set = new BlockSet(dir);
  assert.equal(set.minTime(), Infinity);
  const write = (mint: number): string =>
    writeBlock(
      dir,
      sourceFromSeries(toBlockSeries([suiteSeries({ __name__: 'x' }, 10, mint, 1)], 120)),
      { mint, maxt: mint + 100 },
    ).ulid;
  const first = write(1000);
  set.reload();
  const second = write(0);
  set.reload();
  assert.deepEqual(
    set.list().map((b) => b.ulid),
    [second, first],
  );
  assert.equal(set.minTime(), 0);
  const q = await set.querier(-Infinity, Infinity);
  const ss = q.select(true, null, [new Matcher('=', '__name__', 'x')]);
  assert.ok(ss.next());
  assert.equal(collect(ss.at().iterator()).length, 20);
  deleteBlockDir(join(dir, second));
  set.reload();
  assert.deepEqual(
    set.list().map((b) => b.ulid),
    [first],
  );
  set.close();
});

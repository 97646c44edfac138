import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../model/labels.js';
import { Matcher } from '../model/matcher.js';
import { ValueType } from '../storage/interface.js';
import { Block, openBlocks } from './block.js';
import { encodeXORChunks, sourceFromSeries, writeBlock } from './block-writer.js';
import {
  compactBlocks,
  compactDataDir,
  compactHead,
  compactHeadOnce,
  DEFAULT_BLOCK_RANGES_MS,
  exponentialBlockRanges,
  planCompaction,
  type HeadSource,
} from './compact.js';
import type { BlockMeta } from './meta.js';

const H = 3_600_000;

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'mm-compact-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function meta(
  minH: number,
  maxH: number,
  extra: Partial<BlockMeta> = {},
): { dir: string; meta: BlockMeta } {
  const m: BlockMeta = {
    ulid: `b${minH}-${maxH}`,
    minTime: minH * H,
    maxTime: maxH * H,
    stats: { numSeries: 10 },
    compaction: { level: 1 },
    version: 1,
    ...extra,
  };
  return { dir: m.ulid, meta: m };
}

test('exponential block ranges', () => {
  assert.deepEqual(DEFAULT_BLOCK_RANGES_MS, [2 * H, 6 * H, 18 * H, 54 * H, 162 * H]);
  assert.deepEqual(exponentialBlockRanges(10, 3, 2), [10, 20, 40]);
});

test('plans compactions as Prometheus does', () => {
  const cases: { name: string; blocks: ReturnType<typeof meta>[]; want: string[] }[] = [
    { name: 'nothing to do with one block', blocks: [meta(0, 2)], want: [] },
    { name: 'newest block is left out', blocks: [meta(0, 2), meta(2, 4)], want: [] },
    {
      name: 'three 2h blocks fill 6h, the fourth is newest',
      blocks: [meta(0, 2), meta(2, 4), meta(4, 6), meta(6, 8)],
      want: ['b0-2', 'b2-4', 'b4-6'],
    },
    {
      name: 'a partial 6h range wholly before later blocks',
      blocks: [meta(0, 2), meta(2, 4), meta(8, 10), meta(10, 12)],
      want: ['b0-2', 'b2-4'],
    },
    {
      name: 'a partial range next to the newest block waits',
      blocks: [meta(0, 2), meta(2, 4), meta(6, 8)],
      want: [],
    },
    { name: 'partial range still open', blocks: [meta(0, 2), meta(2, 4)], want: [] },
    {
      name: 'three 6h blocks fill 18h',
      blocks: [meta(0, 6), meta(6, 12), meta(12, 18), meta(18, 20)],
      want: ['b0-6', 'b6-12', 'b12-18'],
    },
    {
      name: 'overlapping blocks first',
      blocks: [meta(0, 2), meta(1, 3), meta(4, 6)],
      want: ['b0-2', 'b1-3'],
    },
    {
      name: 'big block with many tombstones',
      blocks: [meta(0, 54, { stats: { numSeries: 10, numTombstones: 5 } }), meta(54, 56)],
      want: ['b0-54'],
    },
    {
      name: 'failed compaction is skipped',
      blocks: [
        meta(0, 2, { compaction: { level: 1, failed: true } }),
        meta(2, 4),
        meta(4, 6),
        meta(6, 8),
      ],
      want: [],
    },
  ];
  for (const tc of cases) assert.deepEqual(planCompaction(tc.blocks), tc.want, tc.name);
});

/** Samples of every series of a data dir, by label string. */
async function readAll(dir: string): Promise<Map<string, [number, number][]>> {
  const out = new Map<string, [number, number][]>();
  for (const b of openBlocks(dir)) {
    const q = await b.querier(-Infinity, Infinity);
    const ss = q.select(true, null, [new Matcher('=~', '__name__', '.*')]);
    while (ss.next()) {
      const key = ss.at().labels.toString();
      const it = ss.at().iterator();
      const list = out.get(key) ?? [];
      while (it.next() !== ValueType.None) list.push([it.atT(), it.atV()]);
      out.set(key, list);
    }
    b.close();
  }
  for (const l of out.values()) l.sort((a, b) => a[0] - b[0]);
  return out;
}

test('head data becomes a level-1 block clipped to [mint, maxt)', async (t) => {
  const dir = tempDir(t);
  const ts = Array.from({ length: 1000 }, (_, i) => i * 15_000); // 0 … 4h10m
  const vs = ts.map((x) => x / 1000);
  const chunks = encodeXORChunks(ts, vs).map((c) => ({
    mint: c.mint,
    maxt: c.maxt,
    bytes: c.data,
  }));
  const head: HeadSource = {
    compactionSeries: (mint, maxt) => [
      {
        labels: Labels.from({ __name__: 'up', job: 'a' }),
        chunks: chunks.filter((c) => c.maxt >= mint && c.mint <= maxt),
      },
    ],
  };
  const m = compactHead(dir, head, 2 * H, 4 * H)!;
  assert.equal(m.minTime, 2 * H);
  assert.equal(m.maxTime, 4 * H);
  assert.equal(m.compaction.level, 1);
  assert.equal(m.stats.numSamples, 480);
  const got = (await readAll(dir)).get('{__name__="up", job="a"}')!;
  assert.equal(got[0][0], 2 * H);
  assert.equal(got[got.length - 1][0], 4 * H - 15_000);
  assert.equal(compactHead(dir, head, 10 * H, 12 * H), null, 'no block for an empty range');
});

test('merges blocks: copies disjoint chunks, dedupes overlaps, drops tombstoned samples', async (t) => {
  const dir = tempDir(t);
  const mk = (startH: number, n: number, step: number, name: string, v0 = 0): BlockMeta => {
    const ts = Array.from({ length: n }, (_, i) => startH * H + i * step);
    const vs = ts.map((_, i) => v0 + i);
    const series = [
      { labels: Labels.from({ __name__: name }), chunks: encodeXORChunks(ts, vs) },
      { labels: Labels.from({ __name__: 'common' }), chunks: encodeXORChunks(ts, vs) },
    ];
    return writeBlock(dir, sourceFromSeries(series), {
      mint: startH * H,
      maxt: startH * H + 2 * H,
    });
  };
  mk(0, 720, 10_000, 'a');
  mk(2, 720, 10_000, 'b');
  mk(4, 720, 10_000, 'c');
  const before = await readAll(dir);
  const blocks = openBlocks(dir);
  blocks[1].delete(2 * H, 2 * H + 999_999, [new Matcher('=', '__name__', 'b')]);
  const merged = compactBlocks(dir, blocks)!;
  for (const b of blocks) b.close();
  assert.equal(merged.compaction.level, 2);
  assert.equal(merged.compaction.sources!.length, 3);
  assert.equal(merged.compaction.parents!.length, 3);
  assert.equal(merged.stats.numSeries, 4);
  assert.equal(merged.stats.numSamples, 4 * 720 + 720 * 2 - 100);
  const m = Block.open(join(dir, merged.ulid));
  const q = await m.querier(-Infinity, Infinity);
  for (const name of ['a', 'c', 'common']) {
    const ss = q.select(true, null, [new Matcher('=', '__name__', name)]);
    assert.ok(ss.next());
    const list: [number, number][] = [];
    const it = ss.at().iterator();
    while (it.next() !== ValueType.None) list.push([it.atT(), it.atV()]);
    assert.deepEqual(list, before.get(`{__name__="${name}"}`), name);
  }
  const ss = q.select(true, null, [new Matcher('=', '__name__', 'b')]);
  assert.ok(ss.next());
  const it = ss.at().iterator();
  assert.equal(it.next(), ValueType.Float);
  assert.equal(it.atT(), 2 * H + 1_000_000);
  m.close();
});

test('compactDataDir merges until the plan is empty and deletes the inputs', async (t) => {
  const dir = tempDir(t);
  const samples = new Map<string, [number, number][]>();
  for (let b = 0; b < 4; b++) {
    const ts = Array.from({ length: 100 }, (_, i) => b * 2 * H + i * 60_000);
    const vs = ts.map((x) => x % 977);
    writeBlock(
      dir,
      sourceFromSeries([
        { labels: Labels.from({ __name__: 'x' }), chunks: encodeXORChunks(ts, vs) },
      ]),
      { mint: b * 2 * H, maxt: (b + 1) * 2 * H },
    );
    for (let i = 0; i < ts.length; i++)
      samples.set('x', [...(samples.get('x') ?? []), [ts[i], vs[i]]]);
  }
  const overlapTs = [3 * H, 3 * H + 1];
  // An overlapping block with one duplicate timestamp and one new one.
  writeBlock(
    dir,
    sourceFromSeries([
      {
        labels: Labels.from({ __name__: 'x' }),
        chunks: encodeXORChunks(overlapTs, [(3 * H) % 977, 42]),
      },
    ]),
    { mint: 3 * H, maxt: 3 * H + 2 },
  );
  const written = compactDataDir(dir);
  assert.ok(written.length >= 2, `want an overlap merge then a 6h merge, got ${written.length}`);
  const blocks = openBlocks(dir);
  const spans = blocks.map((b) => [b.minTime / H, b.maxTime / H]);
  for (const b of blocks) b.close();
  assert.deepEqual(spans, [
    [0, 6],
    [6, 8],
  ]);
  const got = (await readAll(dir)).get('{__name__="x"}')!;
  const want = [...samples.get('x')!, [3 * H + 1, 42] as [number, number]].sort(
    (a, b) => a[0] - b[0],
  );
  assert.deepEqual(got, want);
});

test('re-encodes into bigger chunks on request', async (t) => {
  const dir = tempDir(t);
  for (let b = 0; b < 3; b++) {
    const ts = Array.from({ length: 720 }, (_, i) => b * 2 * H + i * 10_000);
    writeBlock(
      dir,
      sourceFromSeries([
        {
          labels: Labels.from({ __name__: 'x' }),
          chunks: encodeXORChunks(
            ts,
            ts.map((x) => x / 10_000),
          ),
        },
      ]),
      { mint: b * 2 * H, maxt: (b + 1) * 2 * H },
    );
  }
  const before = await readAll(dir);
  const blocks = openBlocks(dir);
  const m = compactBlocks(dir, blocks, { samplesPerChunk: 1000 })!;
  for (const b of blocks) b.close();
  assert.equal(m.stats.numSamples, 3 * 720);
  assert.equal(m.stats.numChunks, 3); // 1000 + 1000 + 160
  const nb = Block.open(join(dir, m.ulid));
  const ss = (await nb.querier(-Infinity, Infinity)).select(true, null, [
    new Matcher('=', '__name__', 'x'),
  ]);
  assert.ok(ss.next());
  const got: [number, number][] = [];
  const it = ss.at().iterator();
  while (it.next() !== ValueType.None) got.push([it.atT(), it.atV()]);
  assert.deepEqual(got, before.get('{__name__="x"}'));
  nb.close();
});

test('persists the head range by range and merges the blocks (real head)', async (t) => {
  const { Head } = await import('./head.js');
  const dir = tempDir(t);
  const head = new Head({ chunkRangeMs: 2 * H });
  const ls = [Labels.from({ __name__: 'up', job: 'a' }), Labels.from({ __name__: 'up', job: 'b' })];
  const refs = [0, 0];
  const want: [number, number][] = [];
  // 11h of samples every 30 s, appended in order.
  for (let ts = 0; ts < 11 * H; ts += 30_000) {
    const app = head.appender();
    for (let i = 0; i < ls.length; i++) refs[i] = app.append(refs[i], ls[i], ts, ts / 1000 + i);
    await app.commit();
    want.push([ts, ts / 1000]);
  }
  const written = await compactHeadOnce(
    { dir, head, truncateHead: async (m) => head.truncate(m) },
    2 * H,
  );
  // Four 2h blocks cut (the head keeps 8h-11h), then 0-6 merged; 6-8 is the newest, left alone.
  assert.deepEqual(
    written.map((m) => [m.minTime / H, m.maxTime / H, m.compaction.level]),
    [
      [0, 2, 1],
      [2, 4, 1],
      [4, 6, 1],
      [6, 8, 1],
      [0, 6, 2],
    ],
  );
  assert.ok(head.minTime() >= 8 * H);
  const got = (await readAll(dir)).get('{__name__="up", job="a"}')!;
  assert.deepEqual(
    got,
    want.filter(([ts]) => ts < 8 * H),
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageError } from '../model/errors.js';
import { Labels } from '../model/labels.js';
import { Matcher } from '../model/matcher.js';
import { ValueType } from '../storage/interface.js';
import { Block } from './block.js';
import { BlockBuilder, cutChunksLikeHead } from './block-builder.js';
import { sourceFromSeries, writeBlock, type BlockSource } from './block-writer.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'mm-builder-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('cuts chunks as the head does', () => {
  const H = 3_600_000;
  const cases: {
    name: string;
    n: number;
    step: number;
    start: number;
    want: number[];
    ts?: number[];
  }[] = [
    // 2h at 10 s with a 4h chunk range: 30 samples predict 120 per chunk.
    {
      name: '10 s scrapes',
      n: 720,
      step: 10_000,
      start: 4 * H,
      want: [120, 120, 120, 120, 120, 120],
    },
    // The range boundary cuts a chunk early.
    {
      name: 'crosses a range boundary',
      n: 50,
      step: 60_000,
      start: 4 * H - 20 * 60_000,
      want: [20, 30],
    },
    { name: 'dense samples', n: 500, step: 1, start: 0, want: [120, 120, 120, 120, 20] },
    // A rate that jumps after the prediction is cut at 240 samples.
    {
      name: 'rate jumps',
      n: 330,
      step: 0,
      start: 0,
      want: [240, 90],
      ts: [
        ...Array.from({ length: 30 }, (_, i) => i * 60_000),
        ...Array.from({ length: 300 }, (_, i) => 30 * 60_000 + i),
      ],
    },
    { name: 'one sample', n: 1, step: 1, start: 5, want: [1] },
  ];
  for (const tc of cases) {
    const ts = tc.ts ?? Array.from({ length: tc.n }, (_, i) => tc.start + i * tc.step);
    const chunks = cutChunksLikeHead(ts, ts, tc.n, 4 * H);
    assert.deepEqual(
      chunks.map((c) => (c.data[0] << 8) | c.data[1]),
      tc.want,
      tc.name,
    );
    assert.equal(chunks[0].mint, ts[0]);
    assert.equal(chunks[chunks.length - 1].maxt, ts[tc.n - 1]);
  }
});

test('sorts samples, drops exact repeats and rejects conflicting ones', async (t) => {
  const dir = tempDir(t);
  const b = new BlockBuilder();
  const a = Labels.from({ __name__: 'a' });
  for (const [ts, v] of [
    [30, 3],
    [10, 1],
    [20, 2],
    [20, 2],
    [40, 4],
  ])
    b.add(a, ts, v);
  b.add(Labels.from({ __name__: 'b' }), 25, 9);
  const m = b.flush(dir)!;
  assert.deepEqual([m.minTime, m.maxTime, m.stats.numSamples, m.stats.numSeries], [10, 41, 5, 2]);
  const blk = Block.open(join(dir, m.ulid));
  const ss = (await blk.querier(-Infinity, Infinity)).select(true, null, [
    new Matcher('=', '__name__', 'a'),
  ]);
  assert.ok(ss.next());
  const it = ss.at().iterator();
  const got: number[] = [];
  while (it.next() !== ValueType.None) got.push(it.atT(), it.atV());
  assert.deepEqual(got, [10, 1, 20, 2, 30, 3, 40, 4]);
  blk.close();

  const bad = new BlockBuilder();
  bad.add(a, 10, 1);
  bad.add(a, 5, 0);
  bad.add(a, 10, 2);
  assert.throws(
    () => bad.flush(dir),
    (e: unknown) => e instanceof StorageError && /duplicate sample/.test(e.message),
  );
  assert.equal(new BlockBuilder().flush(dir), null);
});

test('a failed block write leaves nothing behind', (t) => {
  const dir = tempDir(t);
  const unsorted: BlockSource = {
    symbols: () => ['', 'a', 'b', 'x'],
    series: () => [
      {
        labels: Labels.from({ x: 'b' }),
        chunks: [{ mint: 1, maxt: 1, encoding: 1, data: new Uint8Array([0, 1, 1]) }],
      },
      {
        labels: Labels.from({ x: 'a' }),
        chunks: [{ mint: 1, maxt: 1, encoding: 1, data: new Uint8Array([0, 1, 1]) }],
      },
    ],
  };
  assert.throws(() => writeBlock(dir, unsorted, { mint: 0, maxt: 10 }), /out of order/);
  assert.deepEqual(readdirSync(dir), []);
  const ok = writeBlock(dir, sourceFromSeries([]), { mint: 0, maxt: 10 });
  assert.ok(existsSync(join(dir, ok.ulid, 'meta.json')));
});

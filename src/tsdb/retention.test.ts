import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../model/errors.js';
import { Labels } from '../model/labels.js';
import { Matcher } from '../model/matcher.js';
import { ValueType } from '../storage/interface.js';
import { Block, openBlocks } from './block.js';
import { encodeXORChunks, sourceFromSeries, writeBlock } from './block-writer.js';
import {
  applyRetention,
  blocksBeyondRetention,
  cleanTombstones,
  parseRetentionDuration,
  parseRetentionSize,
} from './retention.js';

const H = 3_600_000;

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'mm-retention-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Six 2h blocks of one series, 0h … 12h. */
function sixBlocks(dir: string): string[] {
  const ids: string[] = [];
  for (let b = 0; b < 6; b++) {
    const ts = Array.from({ length: 120 }, (_, i) => b * 2 * H + i * 60_000);
    const series = [
      { labels: Labels.from({ __name__: 'x', pod: 'a' }), chunks: encodeXORChunks(ts, ts) },
    ];
    ids.push(
      writeBlock(dir, sourceFromSeries(series), { mint: b * 2 * H, maxt: (b + 1) * 2 * H }).ulid,
    );
  }
  return ids;
}

test('deletes whole blocks beyond the time retention, oldest first', (t) => {
  const dir = tempDir(t);
  const ids = sixBlocks(dir);
  const cases: { name: string; retentionMs: number; wantDeleted: string[] }[] = [
    { name: 'disabled', retentionMs: 0, wantDeleted: [] },
    { name: 'everything within', retentionMs: 10 * H, wantDeleted: [] },
    {
      name: 'ends more than 5h before the newest end',
      retentionMs: 5 * H,
      wantDeleted: ids.slice(0, 3),
    },
    { name: 'tiny retention keeps the newest block', retentionMs: 1, wantDeleted: ids.slice(0, 5) },
  ];
  const blocks = openBlocks(dir);
  for (const tc of cases) {
    assert.deepEqual(
      [...blocksBeyondRetention(blocks, { retentionMs: tc.retentionMs, retentionBytes: 0 })].sort(),
      tc.wantDeleted,
      tc.name,
    );
  }
  const { kept, deleted } = applyRetention(blocks, { retentionMs: 5 * H, retentionBytes: 0 });
  assert.deepEqual(deleted, ids.slice(0, 3));
  assert.deepEqual(
    kept.map((b) => b.ulid),
    ids.slice(3),
  );
  for (const b of kept) b.close();
  assert.deepEqual(readdirSync(dir).sort(), ids.slice(3));
});

test('deletes the oldest blocks once the total size passes the size retention', (t) => {
  const dir = tempDir(t);
  const ids = sixBlocks(dir);
  const blocks = openBlocks(dir);
  const sizes = blocks.map((b) => b.size());
  const total = sizes.reduce((a, b) => a + b, 0);
  const newestTwo = sizes[4] + sizes[5];
  const cases: [number, number, string[]][] = [
    [0, 0, []],
    [total, 0, []],
    [total - 1, 0, ids.slice(0, 1)],
    [newestTwo, 0, ids.slice(0, 4)],
    [newestTwo, 1, ids.slice(0, 5)], // WAL bytes count too
  ];
  for (const [retentionBytes, extraBytes, want] of cases) {
    assert.deepEqual(
      [...blocksBeyondRetention(blocks, { retentionMs: 0, retentionBytes, extraBytes })].sort(),
      want,
      `${retentionBytes}+${extraBytes}`,
    );
  }
  for (const b of blocks) b.close();
});

test('clean_tombstones rewrites a block without its deleted samples', async (t) => {
  const dir = tempDir(t);
  sixBlocks(dir);
  const b = openBlocks(dir)[0];
  assert.equal(cleanTombstones(dir, b), null, 'nothing to clean');
  const b2 = openBlocks(dir)[0];
  b2.delete(0, 30 * 60_000 - 1, [new Matcher('=', 'pod', 'a')]);
  const old = b2.dir;
  const meta = cleanTombstones(dir, b2)!;
  assert.equal(existsSync(old), false);
  assert.equal(meta.stats.numSamples, 90);
  assert.equal(meta.stats.numTombstones, undefined);
  const nb = Block.open(join(dir, meta.ulid));
  assert.equal(nb.tombstones.size, 0);
  const ss = (await nb.querier(-Infinity, Infinity)).select(true, null, [
    new Matcher('=', '__name__', 'x'),
  ]);
  assert.ok(ss.next());
  const it = ss.at().iterator();
  assert.equal(it.next(), ValueType.Float);
  assert.equal(it.atT(), 30 * 60_000);
  nb.close();
});

test('parses retention flags as Prometheus does', () => {
  const durations: [string, number][] = [
    ['15d', 15 * 24 * H],
    ['1h30m', 1.5 * H],
    ['2w', 14 * 24 * H],
    ['1y', 365 * 24 * H],
    ['500ms', 500],
    ['1m5s', 65_000],
    ['0', 0],
  ];
  for (const [s, want] of durations) assert.equal(parseRetentionDuration(s), want, s);
  for (const bad of ['', '15', 'd', '1s1h', '1.5h', '-1d'])
    assert.throws(() => parseRetentionDuration(bad), ConfigError, bad);
  const sizes: [string, number][] = [
    ['512MB', 512 * 2 ** 20],
    ['10GB', 10 * 2 ** 30],
    ['1GiB', 2 ** 30],
    ['100B', 100],
    ['0', 0],
  ];
  for (const [s, want] of sizes) assert.equal(parseRetentionSize(s), want, s);
  for (const bad of ['', '10', '1.5GB', '10gb'])
    assert.throws(() => parseRetentionSize(bad), ConfigError, bad);
});

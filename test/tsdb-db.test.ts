/**
 * The database as a whole: head + WAL + blocks. Restarts after compaction, queries across
 * the head/block boundary, retention, deletion, snapshots, the lock file, and a real
 * promtool reading a data directory we produced.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../src/model/labels.js';
import { Matcher } from '../src/model/matcher.js';
import { ValueType, type Queryable } from '../src/storage/interface.js';
import { runQuerierSuite, type SuiteSeries } from '../src/storage/querier-suite.js';
import { openDB, type DB, type DBOptions } from '../src/tsdb/index.js';
import { requirePeer } from './support/peers.js';

const H = 3_600_000;
const STEP = 15_000;

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mm-tsdb-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** No timers: the tests compact explicitly. */
const manual: DBOptions = { logger: () => undefined, disableAutoCompaction: true };

/** Every sample in `[mint, maxt]` as `labels -> "t:v,t:v…"` (values by bit pattern, so NaNs compare). */
async function dump(
  db: Queryable,
  mint = -Infinity,
  maxt = Infinity,
): Promise<Map<string, string>> {
  const q = await db.querier(mint, maxt);
  const set = q.select(true, null, [new Matcher('=~', '__name__', '.+')]);
  const out = new Map<string, string>();
  const f = new Float64Array(1);
  const u = new BigUint64Array(f.buffer);
  while (set.next()) {
    const s = set.at();
    const it = s.iterator();
    const parts: string[] = [];
    while (it.next() !== ValueType.None) {
      f[0] = it.atV();
      parts.push(`${it.atT()}:${u[0].toString(16)}`);
    }
    assert.equal(it.err(), null);
    out.set(s.labels.toString(), parts.join(','));
  }
  assert.equal(set.err(), null);
  q.close();
  return out;
}

function sampleCount(d: Map<string, string>): number {
  let n = 0;
  for (const v of d.values()) n += v === '' ? 0 : v.split(',').length;
  return n;
}

/** Appends `series` series every STEP over `[from, to)`, one commit per step. */
async function fill(
  db: DB,
  series: number,
  from: number,
  to: number,
  name = 'mesh_requests_total',
): Promise<number> {
  const ls = Array.from({ length: series }, (_, i) =>
    Labels.from({ __name__: name, pod: `pod-${i}`, ns: i % 2 ? 'a' : 'b' }),
  );
  const refs = new Array<number>(series).fill(0);
  let n = 0;
  for (let t = from; t < to; t += STEP) {
    const app = db.appender();
    for (let i = 0; i < series; i++)
      refs[i] = app.append(refs[i], ls[i], t, (t / STEP) * (i + 1) + 0.25);
    await app.commit();
    n += series;
  }
  return n;
}

test('restart after compaction: every sample back, same answers across the head/block boundary', async (t) => {
  const dir = tempDir(t);
  let db = await openDB(dir, { ...manual, walSegmentSizeBytes: 64 * 1024 });
  const appended = await fill(db, 8, 0, 7 * H + 30 * 60_000);
  const written = await db.compact();
  assert.ok(written.length >= 3, `blocks written: ${written.length}`);
  assert.ok(db.blockList().length >= 1);
  assert.ok(
    db.head.minTime() >= db.blockList().at(-1)!.maxTime - STEP,
    'head starts where blocks end',
  );
  const before = await dump(db);
  assert.equal(sampleCount(before), appended, 'no sample lost or doubled by compaction');
  // A range straddling the last block's end and the head.
  const edge = db.blockList().at(-1)!.maxTime;
  const straddle = await dump(db, edge - 10 * 60_000, edge + 10 * 60_000);
  assert.equal(sampleCount(straddle), 8 * 81);
  assert.equal(db.startTime(), 0);
  const rows = new Map(db.metrics().map((m) => [m.name, m.value]));
  assert.equal(rows.get('prometheus_tsdb_blocks_loaded'), db.blockList().length);
  assert.ok(rows.get('prometheus_tsdb_compactions_total')! >= written.length);
  assert.ok(rows.get('prometheus_tsdb_storage_blocks_bytes')! > 0);
  assert.equal(rows.get('prometheus_tsdb_lowest_timestamp'), 0);
  await db.close();
  assert.equal(existsSync(join(dir, 'lock')), false, 'lock released on close');

  db = await openDB(dir, manual);
  assert.equal(db.openStats.blocks, db.blockList().length);
  assert.deepEqual(await dump(db), before);
  assert.deepEqual(await dump(db, edge - 10 * 60_000, edge + 10 * 60_000), straddle);
  // It keeps taking samples after the restart, and compacts again.
  await fill(db, 8, 7 * H + 30 * 60_000, 9 * H);
  await db.compact();
  const again = await dump(db);
  assert.equal(sampleCount(again), 8 * ((9 * H) / STEP));
  await db.close();
});

test('a querier opened before compaction and retention keeps reading its blocks', async (t) => {
  const dir = tempDir(t);
  const db = await openDB(dir, { ...manual, retentionMs: 2 * H });
  await fill(db, 4, 0, 4 * H);
  await db.compact();
  const q = await db.querier(-Infinity, Infinity);
  const first = db.blockList()[0].ulid;
  await fill(db, 4, 4 * H, 12 * H);
  await db.compact();
  assert.ok(!db.blockList().some((b) => b.ulid === first), 'old block gone by retention');
  assert.equal(existsSync(join(dir, first)), false);
  const set = q.select(true, null, [new Matcher('=', 'pod', 'pod-1')]);
  assert.ok(set.next());
  const it = set.at().iterator();
  let n = 0;
  while (it.next() !== ValueType.None) n++;
  assert.equal(it.err(), null);
  assert.ok(n >= (2 * H) / STEP, `old querier read ${n} samples`);
  q.close();
  await db.close();
});

test('retention by time and by size deletes whole blocks, oldest first', async (t) => {
  await t.test('time', async (t) => {
    const dir = tempDir(t);
    const db = await openDB(dir, { ...manual, retentionMs: 6 * H, blockRangesMs: [2 * H] });
    await fill(db, 3, 0, 16 * H);
    await db.compact();
    const blocks = db.blockList();
    const newest = blocks.at(-1)!.maxTime;
    assert.ok(
      blocks.every((b) => newest - b.maxTime <= 6 * H),
      blocks.map((b) => `${b.minTime}-${b.maxTime}`).join(' '),
    );
    // Blocks ending up to 6h before the newest one's end stay: four 2h blocks.
    assert.equal(blocks[0].minTime, newest - 8 * H);
    assert.equal(db.startTime(), blocks[0].minTime);
    assert.equal(
      new Map(db.metrics().map((m) => [m.name, m.value])).get(
        'prometheus_tsdb_time_retentions_total',
      ),
      1,
    );
    await db.close();
  });
  await t.test('size', async (t) => {
    const dir = tempDir(t);
    const db = await openDB(dir, { ...manual, retentionMs: 0, blockRangesMs: [2 * H] });
    await fill(db, 3, 0, 16 * H);
    await db.compact();
    const all = db.blockList();
    const one = all[0].size();
    const wal = db
      .metrics()
      .find((m) => m.name === 'prometheus_tsdb_wal_storage_size_bytes')!.value;
    await db.close();
    // Room for the WAL and about three blocks.
    const db2 = await openDB(dir, {
      ...manual,
      retentionMs: 0,
      retentionBytes: wal + 3 * one + one / 2,
      blockRangesMs: [2 * H],
    });
    db2.applyRetention();
    const kept = db2.blockList();
    assert.ok(kept.length >= 2 && kept.length <= 3, `kept ${kept.length} of ${all.length}`);
    assert.equal(kept.at(-1)!.ulid, all.at(-1)!.ulid, 'the newest block stays');
    assert.equal(
      new Map(db2.metrics().map((m) => [m.name, m.value])).get(
        'prometheus_tsdb_size_retentions_total',
      ),
      1,
    );
    await db2.close();
  });
});

test('deleteSeries hides samples in blocks and head, survives restart; cleanTombstones rewrites blocks', async (t) => {
  const dir = tempDir(t);
  let db = await openDB(dir, manual);
  await fill(db, 4, 0, 5 * H);
  await db.compact();
  const edge = db.blockList().at(-1)!.maxTime;
  const m = [new Matcher('=', 'pod', 'pod-2')];
  // A range from inside the blocks into the head.
  await db.deleteSeries(m, edge - H, edge + 30 * 60_000 - 1);
  const check = async (what: string, end = 5 * H): Promise<void> => {
    const d = await dump(db);
    const key = Labels.from({ __name__: 'mesh_requests_total', pod: 'pod-2', ns: 'b' }).toString();
    const ts = d
      .get(key)!
      .split(',')
      .map((s) => Number(s.split(':')[0]));
    assert.ok(
      ts.every((x) => x < edge - H || x >= edge + 30 * 60_000),
      what,
    );
    assert.equal(ts.length, end / STEP - (H + 30 * 60_000) / STEP, what);
    assert.equal(
      d
        .get(Labels.from({ __name__: 'mesh_requests_total', pod: 'pod-1', ns: 'a' }).toString())!
        .split(',').length,
      end / STEP,
      what,
    );
  };
  await check('after delete');
  await db.close();
  db = await openDB(dir, manual);
  await check('after restart (block tombstones and WAL tombstone records)');
  const cleaned = db.cleanTombstones();
  assert.ok(cleaned.length >= 1);
  assert.ok(db.blockList().every((b) => b.tombstones.size === 0));
  await check('after clean_tombstones');
  // Head compaction drops the deleted head samples from the block it writes.
  await fill(db, 4, 5 * H, 8 * H);
  await db.compact();
  await check('after compacting the head', 8 * H);
  await db.close();
});

test('snapshot with head opens as a database with the same answers', async (t) => {
  const dir = tempDir(t);
  const snap = join(tempDir(t), 'snap');
  const db = await openDB(dir, manual);
  await fill(db, 5, 0, 5 * H);
  await db.compact();
  const want = await dump(db);
  const names = db.snapshot(snap, true);
  assert.equal(names.length, db.blockList().length + 1);
  const without = join(tempDir(t), 'snap2');
  assert.equal(db.snapshot(without, false).length, db.blockList().length);
  await db.close();
  const s = await openDB(snap, manual);
  assert.deepEqual(await dump(s), want);
  await s.close();
});

test('the lock file keeps a second opener out and names the holder', async (t) => {
  const dir = tempDir(t);
  const db = await openDB(dir, manual);
  await assert.rejects(openDB(dir, manual), (err: Error) => {
    assert.match(
      err.message,
      new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is locked by this process`),
    );
    return true;
  });
  await db.close();
  // A lock left by a process that is gone (say, killed) is taken over.
  writeFileSync(join(dir, 'lock'), '999999999\n');
  const again = await openDB(dir, manual);
  await again.close();
});

test('unfinished block directories are removed at open', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, '01HZZZZZZZZZZZZZZZZZZZZZZZ.tmp-for-creation', 'chunks'), {
    recursive: true,
  });
  mkdirSync(join(dir, '01HZZZZZZZZZZZZZZZZZZZZZZY.tmp-for-deletion'), { recursive: true });
  const db = await openDB(dir, manual);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes('.tmp')),
    [],
  );
  await db.close();
});

test('the compaction timer compacts by itself', async (t) => {
  const dir = tempDir(t);
  const db = await openDB(dir, { logger: () => undefined, compactIntervalMs: 50 });
  await fill(db, 2, 0, 4 * H);
  for (let i = 0; i < 100 && db.blockList().length === 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  assert.ok(db.blockList().length >= 1, 'a block appeared');
  await db.close();
});

test('promtool tsdb list and dump read a data directory our database produced', async (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  const dir = tempDir(t);
  const db = await openDB(dir, { ...manual, blockChunkSamples: 2000 });
  await fill(db, 3, 0, 9 * H);
  await db.compact();
  const ours = await dump(db);
  const blocks = db.blockList().map((b) => b.ulid);
  await db.close();
  const list = execFileSync(promtool, ['tsdb', 'list', dir], { encoding: 'utf8' });
  for (const u of blocks) assert.match(list, new RegExp(u));
  // promtool dump reads blocks and WAL; its lines are `{labels} value timestamp`. A sample
  // may show twice (the last block's edge and the WAL), so compare the sets of lines.
  const out = execFileSync(promtool, ['tsdb', 'dump', dir], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const theirs = new Set(out.split('\n').filter((l) => l !== ''));
  const want = new Set<string>();
  const f = new Float64Array(1);
  const u = new BigUint64Array(f.buffer);
  for (const [ls, samples] of ours) {
    for (const tv of samples.split(',')) {
      const [ts, hex] = tv.split(':');
      u[0] = BigInt('0x' + hex);
      want.add(`${ls} ${f[0]} ${ts}`);
    }
  }
  assert.equal(theirs.size, want.size);
  for (const l of want) assert.ok(theirs.has(l), `promtool lacks ${l}`);
});

runQuerierSuite(
  'database with data split over blocks and head',
  async (data: readonly SuiteSeries[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-tsdb-suite-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    // Two-minute blocks: the suite's ten minutes end up in blocks and the head.
    const db = await openDB(dir, {
      ...manual,
      chunkRangeMs: 120_000,
      blockRangesMs: [120_000, 360_000],
    });
    const app = db.appender();
    for (const d of data) {
      const ls = Labels.from(d.labels);
      let ref = 0;
      for (let i = 0; i < d.ts.length; i++) ref = app.append(ref, ls, d.ts[i], d.vs[i]);
    }
    await app.commit();
    await db.compact();
    assert.ok(db.blockList().length >= 2, 'blocks');
    assert.ok(db.head.seriesCount() > 0, 'head');
    return db;
  },
);

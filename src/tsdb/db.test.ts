import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../model/labels.js';
import { Matcher } from '../model/matcher.js';
import { STALE_NAN, isStaleNaN } from '../model/stale.js';
import { ValueType } from '../storage/interface.js';
import { openDB, type DB, type DBOptions } from './db.js';
import { listCheckpoints, listSegments, segmentPath } from './wal/segment.js';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-db-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every sample of the database as `labels -> [t, v][]`, read through a querier. */
async function dump(db: DB): Promise<Map<string, [number, number][]>> {
  const q = await db.querier(-Infinity, Infinity);
  const set = q.select(true, null, [new Matcher('=~', '__name__', '.+')]);
  const out = new Map<string, [number, number][]>();
  while (set.next()) {
    const s = set.at();
    const it = s.iterator();
    const samples: [number, number][] = [];
    while (it.next() !== ValueType.None) {
      // A double array would canonicalise NaN bits: keep the stale marker recognisable.
      samples.push([it.atT(), isStaleNaN(it.atV()) ? STALE_MARK : it.atV()]);
    }
    assert.equal(it.err(), null);
    out.set(s.labels.toString(), samples);
  }
  assert.equal(set.err(), null);
  q.close();
  return out;
}

/** Stands for the stale marker in dumps. */
const STALE_MARK = -0.123456789;

const quiet: DBOptions = { logger: () => undefined };

test('committed samples survive close and reopen', async (t) => {
  const dir = tempDir(t);
  let db = await openDB(dir, quiet);
  const a = Labels.from({ __name__: 'requests_total', pod: 'a' });
  const b = Labels.from({ __name__: 'requests_total', pod: 'b' });
  for (let i = 0; i < 300; i++) {
    const app = db.appender();
    app.append(0, a, i * 1000, i);
    app.append(0, b, i * 1000, i === 299 ? STALE_NAN : -i);
    await app.commit();
  }
  const before = await dump(db);
  await db.close();

  db = await openDB(dir, quiet);
  assert.equal(db.openStats.series, 2);
  assert.equal(db.openStats.samples, 600);
  assert.equal(db.openStats.replay.repair, null);
  const after = await dump(db);
  assert.equal(after.size, 2);
  assert.deepEqual(after.get(a.toString()), before.get(a.toString()));
  const bs = after.get(b.toString())!;
  assert.equal(bs.length, 300);
  assert.equal(bs[299][1], STALE_MARK, 'stale marker bits survive the WAL');
  // And it keeps taking writes with the refs it replayed.
  const app = db.appender();
  app.append(0, a, 300_000, 300);
  await app.commit();
  await db.close();
  db = await openDB(dir, quiet);
  assert.equal((await dump(db)).get(a.toString())!.length, 301);
  await db.close();
});

test('rolled back and interleaved appenders never leave samples of unlogged series', async (t) => {
  const dir = tempDir(t);
  let db = await openDB(dir, quiet);
  const x = Labels.from({ __name__: 'x' });
  const y = Labels.from({ __name__: 'y' });
  // The appender that creates x rolls back; a later one uses the series it left behind.
  const r = db.appender();
  r.append(0, x, 1000, 1);
  r.rollback();
  const app1 = db.appender();
  app1.append(0, x, 2000, 2);
  await app1.commit();
  // A creates y but commits after B, which appends to y too.
  const A = db.appender();
  const refY = A.append(0, y, 1000, 10);
  const B = db.appender();
  B.append(refY, Labels.EMPTY, 3000, 30);
  await B.commit();
  await A.commit().catch(() => undefined); // its sample may now be out of order
  const before = await dump(db);
  await db.close();
  db = await openDB(dir, quiet);
  assert.deepEqual(await dump(db), before);
  assert.deepEqual(before.get(x.toString()), [[2000, 2]]);
  assert.ok(before.get(y.toString())!.some(([ts]) => ts === 3000));
  await db.close();
});

test('truncateHead checkpoints the WAL; reopen keeps what the head kept', async (t) => {
  const dir = tempDir(t);
  // Uncompressed records, so that the writes fill the several segments the test needs.
  const opts: DBOptions = { ...quiet, walSegmentSizeBytes: 32 * 1024, walCompression: 'none' };
  let db = await openDB(dir, opts);
  const series = Array.from({ length: 40 }, (_, i) => Labels.from({ __name__: 'm', i: String(i) }));
  const refs = new Array<number>(40).fill(0);
  for (let step = 0; step < 600; step++) {
    const app = db.appender();
    // Series 0..19 stop at step 300: the truncation removes them.
    for (let i = 0; i < 40; i++) {
      if (i < 20 && step >= 300) continue;
      refs[i] = app.append(refs[i], series[i], step * 15_000, step);
    }
    await app.commit();
  }
  assert.ok(listSegments(join(dir, 'wal')).length >= 4);
  const mint = 400 * 15_000;
  const stats = await db.truncateHead(mint);
  assert.ok(stats !== null, 'a checkpoint was written');
  assert.equal(listCheckpoints(join(dir, 'wal')).length, 1);
  const before = await dump(db);
  await db.close();

  db = await openDB(dir, opts);
  assert.ok(db.openStats.replay.checkpoint >= 0);
  const after = await dump(db);
  // Replay may bring back samples of kept series older than mint from segments after the
  // checkpoint; what the head held at truncation must all be there.
  for (const [k, samples] of before) {
    const got = after.get(k);
    assert.ok(got, `series ${k} lost`);
    for (const s of samples)
      assert.ok(
        got.some(([ts, v]) => ts === s[0] && v === s[1]),
        `${k} lost ${s}`,
      );
  }
  for (let i = 0; i < 10; i++)
    assert.equal(after.has(series[i].toString()), false, `series ${i} was truncated`);
  await db.close();
});

test('openDB repairs a damaged WAL tail by itself and says so in one line', async (t) => {
  const dir = tempDir(t);
  let db = await openDB(dir, quiet);
  const a = Labels.from({ __name__: 'a' });
  for (let i = 0; i < 50; i++) {
    const app = db.appender();
    app.append(0, a, i, i);
    await app.commit();
  }
  await db.close();
  const seg = segmentPath(join(dir, 'wal'), 0);
  const bytes = readFileSync(seg);
  // Damage the last record: the final sample's value bytes sit just before the padding.
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  bytes[end - 1] ^= 0xff;
  writeFileSync(seg, bytes);
  const lines: string[] = [];
  db = await openDB(dir, { logger: (l) => lines.push(l) });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^wal: repaired corruption in segment 00000000 .*dropped \d+ bytes/);
  const got = (await dump(db)).get(a.toString())!;
  assert.equal(got.length, 49);
  assert.ok(statSync(seg).size < bytes.length);
  await db.close();
});

test('the compactHead hook runs on its timer and never overlaps', async (t) => {
  const dir = tempDir(t);
  let calls = 0;
  let running = 0;
  let overlap = false;
  const db = await openDB(dir, {
    ...quiet,
    compactIntervalMs: 5,
    compactHead: async () => {
      calls++;
      if (running++ > 0) overlap = true;
      await new Promise((r) => setTimeout(r, 20));
      running--;
    },
  });
  await new Promise((r) => setTimeout(r, 120));
  await db.close();
  assert.ok(calls >= 2, `hook ran ${calls} times`);
  assert.equal(overlap, false);
});

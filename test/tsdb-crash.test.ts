/**
 * Crash safety of the whole database: a child process (this file, run with
 * MM_TSDB_CRASH_CHILD set) commits continuously with one-minute blocks, so it writes
 * blocks, merges them, truncates the head and checkpoints the WAL all the time. We SIGKILL
 * it at random moments, reopen the directory each time, and check that every
 * acknowledged commit is there, whole, with no holes and no duplicates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../src/model/labels.js';
import { Matcher } from '../src/model/matcher.js';
import { ValueType } from '../src/storage/interface.js';
import { openDB, type DB, type DBOptions } from '../src/tsdb/index.js';

const SERIES = 20;
const STEP = 1000;
const OPTS: DBOptions = {
  logger: () => undefined,
  chunkRangeMs: 60_000,
  blockRangesMs: [60_000, 180_000, 540_000],
  retentionMs: 0,
  walSegmentSizeBytes: 64 * 1024,
  compactIntervalMs: 25,
};

function labels(i: number): Labels {
  return Labels.from({ __name__: 'crash_total', series: String(i) });
}

/** Per series, the timestamps held (checked contiguous from 0) → the number of steps held. */
async function verify(db: DB): Promise<number> {
  const q = await db.querier(-Infinity, Infinity);
  const set = q.select(true, null, [new Matcher('=', '__name__', 'crash_total')]);
  const counts: number[] = [];
  while (set.next()) {
    const s = set.at();
    const i = Number(s.labels.get('series'));
    const it = s.iterator();
    let k = 0;
    while (it.next() !== ValueType.None) {
      assert.equal(it.atT(), k * STEP, `series ${i}: hole or duplicate at step ${k}`);
      assert.equal(it.atV(), k * (i + 1), `series ${i}: value at step ${k}`);
      k++;
    }
    assert.equal(it.err(), null);
    counts[i] = k;
  }
  assert.equal(set.err(), null);
  q.close();
  if (counts.length === 0) return 0;
  assert.equal(counts.length, SERIES);
  // Commits are whole: every series has the same number of steps.
  for (const c of counts) assert.equal(c, counts[0], 'a commit was torn between series');
  return counts[0];
}

async function child(dir: string): Promise<void> {
  const db = await openDB(dir, OPTS);
  let k = await verify(db);
  process.stdout.write(`ready ${k}\n`);
  const ls = Array.from({ length: SERIES }, (_, i) => labels(i));
  const refs = new Array<number>(SERIES).fill(0);
  for (;;) {
    const app = db.appender();
    for (let i = 0; i < SERIES; i++) refs[i] = app.append(refs[i], ls[i], k * STEP, k * (i + 1));
    await app.commit();
    process.stdout.write(`${k}\n`);
    k++;
    // Let the compaction timer in now and then.
    if (k % 50 === 0) await new Promise((r) => setTimeout(r, 5));
  }
}

function runAndKill(dir: string, killAfterMs: number): Promise<{ ready: number; acked: number }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', import.meta.filename], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MM_TSDB_CRASH_CHILD: dir },
    });
    let out = '';
    let err = '';
    let ready = -1;
    let acked = -1;
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('ready ')) {
          ready = Number(line.slice(6));
          setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
        } else acked = Number(line);
      }
    });
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited without being killed: ${err}`));
      else resolve({ ready, acked });
    });
  });
}

if (process.env.MM_TSDB_CRASH_CHILD !== undefined) {
  await child(process.env.MM_TSDB_CRASH_CHILD);
} else {
  test('killed while compacting, the database reopens with every acknowledged commit', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mm-tsdb-crash-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    let seed = 12345;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let held = 0;
    let blocksSeen = 0;
    for (let round = 0; round < 8; round++) {
      const { ready, acked } = await runAndKill(dir, 300 + Math.floor(rand() * 1200));
      assert.equal(ready, held, `round ${round}: child resumed where the last reopen ended`);
      const db = await openDB(dir, { ...OPTS, disableAutoCompaction: true });
      try {
        held = await verify(db);
        blocksSeen = Math.max(blocksSeen, db.blockList().length);
      } finally {
        await db.close();
      }
      assert.ok(
        held >= acked + 1,
        `round ${round}: acked up to step ${acked}, reopened with ${held} steps`,
      );
    }
    assert.ok(held > 180, `the child wrote enough (${held} steps) to compact`);
    assert.ok(blocksSeen > 0, 'blocks were written');
  });
}

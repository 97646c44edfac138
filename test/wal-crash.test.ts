/**
 * Crash safety of the WAL: a child process commits continuously and prints each
 * acknowledged commit; we SIGKILL it at random moments, reopen (which repairs a torn tail
 * by itself) and check that every acknowledged commit is there, whole, with no holes.
 * Through the database (appender → head → WAL) and straight through the WAL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Matcher } from '../src/model/matcher.js';
import { ValueType } from '../src/storage/interface.js';
import { openDB } from '../src/tsdb/db.js';
import { RecordType, SampleBatch, decodeSamples, recordType } from '../src/tsdb/record.js';
import { WAL, replay } from '../src/tsdb/wal/index.js';

const CHILD = join(import.meta.dirname, 'fixtures', 'wal-writer-child.ts');
/** Must match the child. */
const FIXED = 20;
const SEGMENT_BYTES = 256 * 1024;

type Layout = 'db' | 'wal';

/** Runs the child until a random moment after it is ready, then SIGKILLs it. */
function runAndKill(
  layout: Layout,
  dir: string,
  mode: string,
  seed: number,
  killAfterMs: number,
): Promise<{ ready: number; acked: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CHILD, layout, dir, mode, String(seed)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let ready = -1;
    let acked = 0;
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        if (line.startsWith('ready ')) {
          ready = Number(line.slice(6));
          acked = ready;
          timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        } else {
          acked = Number(line);
        }
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${stderr}`));
      else if (ready < 0) reject(new Error(`child killed before it was ready: ${stderr}`));
      else resolve({ ready, acked });
    });
  });
}

/** Reopens a WAL-layout log as a restart would; returns its commits, each checked whole. */
async function recoveredWAL(dir: string, logs: string[]): Promise<Set<number>> {
  const w = WAL.open(dir, { segmentSizeBytes: SEGMENT_BYTES, logger: (l) => logs.push(l) });
  const seqs = new Set<number>();
  const b = new SampleBatch();
  replay(w, (rec) => {
    assert.equal(recordType(rec), RecordType.Samples);
    b.reset();
    decodeSamples(rec, b);
    const seq = b.ts[0];
    for (let i = 0; i < b.length; i++) {
      assert.equal(b.refs[i], i + 1);
      assert.equal(b.ts[i], seq);
      assert.equal(b.vs[i], seq * 10000 + i);
    }
    assert.ok(!seqs.has(seq), `commit ${seq} replayed twice`);
    seqs.add(seq);
  });
  await w.close();
  return seqs;
}

/**
 * Reopens a DB-layout folder; returns the commits every fixed series holds (a commit
 * counts only when all FIXED series have its sample with the right value).
 */
async function recoveredDB(dir: string, logs: string[]): Promise<Set<number>> {
  const db = await openDB(dir, { walSegmentSizeBytes: SEGMENT_BYTES, logger: (l) => logs.push(l) });
  const q = await db.querier(-Infinity, Infinity);
  const set = q.select(false, null, [new Matcher('=', '__name__', 'fixed')]);
  const count = new Map<number, number>();
  let nSeries = 0;
  while (set.next()) {
    const s = set.at();
    const i = Number(s.labels.get('i'));
    const it = s.iterator();
    while (it.next() !== ValueType.None) {
      assert.equal(it.atV(), it.atT() * 1000 + i, `series ${i} at ${it.atT()}`);
      count.set(it.atT(), (count.get(it.atT()) ?? 0) + 1);
    }
    nSeries++;
  }
  assert.equal(set.err(), null);
  q.close();
  await db.close();
  const seqs = new Set<number>();
  for (const [seq, n] of count) {
    assert.equal(n, nSeries, `commit ${seq} is in ${n} of ${nSeries} series: a torn commit`);
    seqs.add(seq);
  }
  if (seqs.size > 0) assert.equal(nSeries, FIXED);
  return seqs;
}

/** Kills, acknowledged commits and repairs seen by one crash loop. */
interface LoopResult {
  kills: number;
  acked: number;
  repairs: number;
}

async function crashLoop(
  layout: Layout,
  kills: number,
  budgetMs: number,
  seed: number,
): Promise<LoopResult> {
  const dir = mkdtempSync(join(tmpdir(), `meshmetrics-${layout}-crash-`));
  try {
    const start = Date.now();
    let done = 0;
    let repairs = 0;
    let lastAcked = 0;
    let x = seed;
    const rand = (): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x / 2147483648;
    };
    while (done < kills && Date.now() - start < budgetMs) {
      const mode = done % 3 === 2 ? 'commit' : 'segment';
      const { ready, acked } = await runAndKill(
        layout,
        dir,
        mode,
        seed + done,
        Math.floor(rand() * 300),
      );
      done++;
      // The child's own replay saw everything acknowledged before it started.
      assert.ok(ready >= lastAcked, `child started at ${ready}, but ${lastAcked} was acknowledged`);
      const logs: string[] = [];
      const seqs = layout === 'db' ? await recoveredDB(dir, logs) : await recoveredWAL(dir, logs);
      repairs += logs.filter((l) => l.includes('repaired')).length;
      for (let s = 1; s <= acked; s++) {
        assert.ok(
          seqs.has(s),
          `${layout}: acknowledged commit ${s} lost (kill ${done}, fsync ${mode})`,
        );
      }
      // Nothing invented and no holes: the log holds a prefix of the commits.
      assert.equal(
        seqs.size,
        seqs.size === 0 ? 0 : Math.max(...seqs),
        'holes in the replayed commits',
      );
      lastAcked = acked;
    }
    return { kills: done, acked: lastAcked, repairs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Both loops run at once: most of a cycle is the child starting up (about 0.5 s on an
// idle two-core machine), so 21 kills take 15-25 s. The cap only stops a hung run; on a
// heavily loaded machine the loops take longer rather than kill less.
test('every acknowledged commit survives SIGKILL at random moments (DB and raw WAL)', async (t) => {
  const CAP_MS = 100_000;
  const [db, wal] = await Promise.all([
    crashLoop('db', 14, CAP_MS, 1),
    crashLoop('wal', 7, CAP_MS, 1000),
  ]);
  t.diagnostic(`db: ${db.kills} kills, ${db.acked} commits acknowledged, ${db.repairs} repairs`);
  t.diagnostic(
    `wal: ${wal.kills} kills, ${wal.acked} commits acknowledged, ${wal.repairs} repairs`,
  );
  assert.ok(db.kills + wal.kills >= 20, `only ${db.kills + wal.kills} kills within ${CAP_MS} ms`);
  assert.ok(db.acked > 0 && wal.acked > 0, 'a child never acknowledged a commit');
});

/**
 * Crash safety of the WAL: a child process commits continuously and prints each
 * acknowledged commit; we SIGKILL it at random moments, reopen the log (which repairs a
 * torn tail by itself) and check that every acknowledged commit is there, whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordType, SampleBatch, decodeSamples, recordType } from '../src/tsdb/record.js';
import { WAL, replay } from '../src/tsdb/wal/index.js';

const CHILD = join(import.meta.dirname, 'fixtures', 'wal-writer-child.ts');
const KILLS = 22;
const BUDGET_MS = 40_000;

/** Runs the child until a random moment after it is ready, then SIGKILLs it. */
function runAndKill(
  dir: string,
  mode: string,
  seed: number,
  killAfterMs: number,
): Promise<{ ready: number; acked: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, mode, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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

/** Opens the log as a restart would and returns the commits it holds, checked whole. */
function recovered(dir: string, logs: string[]): Set<number> {
  const w = WAL.open(dir, { segmentSizeBytes: 256 * 1024, logger: (l) => logs.push(l) });
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
  void w.close();
  return seqs;
}

test('every acknowledged commit survives SIGKILL at random moments', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-crash-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const start = Date.now();
  let kills = 0;
  let repairs = 0;
  let lastAcked = 0;
  let x = 12345;
  const rand = (): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  while (kills < KILLS && Date.now() - start < BUDGET_MS) {
    const mode = kills % 3 === 2 ? 'commit' : 'segment';
    const { ready, acked } = await runAndKill(dir, mode, kills + 1, Math.floor(rand() * 400));
    kills++;
    // The child's own replay saw everything acknowledged before.
    assert.ok(ready >= lastAcked, `child started at ${ready}, but ${lastAcked} was acknowledged`);
    const logs: string[] = [];
    const seqs = recovered(dir, logs);
    repairs += logs.length;
    for (let s = 1; s <= acked; s++)
      assert.ok(seqs.has(s), `acknowledged commit ${s} lost (kill ${kills}, ${mode})`);
    // Nothing beyond what was written, and no holes: the log is a prefix of the commits.
    const max = Math.max(0, ...seqs);
    assert.equal(seqs.size, max, 'holes in the replayed commits');
    lastAcked = acked;
  }
  assert.ok(kills >= 20, `only ${kills} kills within the time budget`);
  assert.ok(lastAcked > 0, 'the child never acknowledged a commit');
  t.diagnostic(
    `${kills} kills, ${lastAcked} commits acknowledged, ${repairs} repairs of a torn tail`,
  );
});

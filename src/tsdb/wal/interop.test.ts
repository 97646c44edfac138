/**
 * Format compatibility with Prometheus 2.42, both ways: promtool reads a WAL we wrote
 * (`promtool tsdb dump` replays the WAL into a head), and we read the WAL a real
 * Prometheus wrote (with WAL compression off: we do not decode Snappy records).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Labels } from '../../model/labels.js';
import { STALE_NAN } from '../../model/stale.js';
import { requirePeer } from '../../../test/support/peers.js';
import { openDB } from '../db.js';
import {
  RecordType,
  SampleBatch,
  decodeSamples,
  decodeSeries,
  recordType,
  type RefSeries,
} from '../record.js';
import { WalReader } from './reader.js';

const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

test('promtool tsdb dump reads the WAL we write', async (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-interop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = await openDB(dir, { walSegmentSizeBytes: 32 * 1024 });
  const now = Date.now() - 60_000;
  const want: string[] = [];
  // Enough series and samples to span several pages and segments.
  for (let step = 0; step < 40; step++) {
    const app = db.appender();
    for (let i = 0; i < 100; i++) {
      const ls = Labels.from({ __name__: 'request_total', pod: `pod-${i}`, ünï: 'cödé' });
      const v = step === 39 && i === 0 ? STALE_NAN : step * 100 + i + 0.25;
      app.append(0, ls, now + step * 1000, v);
      if (step % 10 === 0) {
        want.push(
          `${ls.toString()} ${step === 39 && i === 0 ? 'NaN' : String(v)} ${now + step * 1000}`,
        );
      }
    }
    await app.commit();
  }
  await db.close();
  const { stdout } = await run(promtool, ['tsdb', 'dump', dir], { maxBuffer: 64 * 1024 * 1024 });
  const lines = new Set(stdout.split('\n').filter((l) => l !== ''));
  assert.equal(lines.size, 4000);
  for (const w of want) assert.ok(lines.has(w), `promtool did not print ${w}`);
});

/** Series seen by {@link countUp}, by ref. */
const series = new Map<number, Labels>();

/** Reads what `r` has now; checks every sample has its series; counts `up` samples. */
function countUp(r: WalReader): number {
  const batch = new SampleBatch();
  const list: RefSeries[] = [];
  let up = 0;
  while (r.next()) {
    const rec = r.record();
    if (recordType(rec) === RecordType.Series) {
      list.length = 0;
      for (const s of decodeSeries(rec, list)) series.set(s.ref, s.labels);
    } else if (recordType(rec) === RecordType.Samples) {
      batch.reset();
      decodeSamples(rec, batch);
      for (let i = 0; i < batch.length; i++) {
        const ls = series.get(batch.refs[i]);
        assert.ok(ls, `sample of series ${batch.refs[i]} before its series record`);
        if (ls.metricName() === 'up') {
          assert.equal(batch.vs[i], 1);
          up++;
        }
      }
    }
  }
  return up;
}

test('we read the WAL Prometheus writes (compression off), live and finished', async (t) => {
  const prometheus = requirePeer(t, 'prometheus', 'prometheus');
  if (prometheus === null) return;
  const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-interop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: self\n    static_configs: [{ targets: ['127.0.0.1:${port}'] }]\n`,
  );
  const data = join(dir, 'data');
  const child = spawn(
    prometheus,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--no-storage.tsdb.wal-compression',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  t.after(() => child.kill('SIGKILL'));

  // Tail the WAL while Prometheus writes it (a live reader) until two scrapes of `up` are
  // in; then stop it cleanly and read the whole log again as a finished one.
  const deadline = Date.now() + 30_000;
  let live: WalReader | null = null;
  let liveUp = 0;
  while (Date.now() < deadline && liveUp < 2) {
    await new Promise((r) => setTimeout(r, 200));
    if (live === null) {
      if (!stderr.includes('TSDB started')) continue;
      live = new WalReader(join(data, 'wal'), { live: true });
    }
    liveUp += countUp(live);
    assert.equal(live.err(), null, `tailing Prometheus's WAL: ${String(live.err())}`);
  }
  live?.close();
  child.kill('SIGTERM');
  await exited;
  assert.ok(
    liveUp >= 2,
    `live reader saw ${liveUp} up samples; prometheus said: ${stderr.slice(-2000)}`,
  );

  series.clear();
  const r = new WalReader(join(data, 'wal'));
  const upSamples = countUp(r);
  assert.equal(r.err(), null, `reading Prometheus's WAL: ${String(r.err())}`);
  r.close();
  assert.ok(series.size > 100, `only ${series.size} series`);
  assert.ok(upSamples >= liveUp, `${upSamples} up samples after shutdown, ${liveUp} seen live`);
  assert.ok(
    [...series.values()].some((l) => l.metricName() === 'up' && l.get('job') === 'self'),
    'no up{job="self"} series',
  );
});

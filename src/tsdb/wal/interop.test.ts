/**
 * Format compatibility with Prometheus 2.42, both ways: promtool reads a WAL we wrote
 * (`promtool tsdb dump` replays the WAL into a head), and we read the WAL a real
 * Prometheus wrote, Snappy-compressed (its default) and not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Labels } from '../../model/labels.js';
import { Matcher } from '../../model/matcher.js';
import { ValueType } from '../../storage/interface.js';
import { STALE_NAN } from '../../model/stale.js';
import { requirePeer } from '../../../test/support/peers.js';
import { freePort, startPrometheus } from '../../../test/support/servers.js';
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

for (const walCompression of ['snappy', 'none'] as const) {
  test(`promtool tsdb dump reads the WAL we write (compression ${walCompression})`, async (t) => {
    const promtool = requirePeer(t, 'promtool', 'prometheus');
    if (promtool === null) return;
    const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-interop-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const db = await openDB(dir, { walSegmentSizeBytes: 32 * 1024, walCompression });
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
    // The records really are stored the way asked.
    const seg = readFileSync(join(dir, 'wal', '00000000'));
    assert.equal(
      (seg[0] & 0x08) !== 0,
      walCompression === 'snappy',
      `type byte 0x${seg[0].toString(16)}`,
    );
    const { stdout } = await run(promtool, ['tsdb', 'dump', dir], { maxBuffer: 64 * 1024 * 1024 });
    const lines = new Set(stdout.split('\n').filter((l) => l !== ''));
    assert.equal(lines.size, 4000);
    for (const w of want) assert.ok(lines.has(w), `promtool did not print ${w}`);
  });
}

/** `promtool tsdb dump` lines of every sample, values as {@link normalizeValue} writes them. */
async function promtoolDump(promtool: string, dir: string): Promise<string[]> {
  const { stdout } = await run(promtool, ['tsdb', 'dump', dir], { maxBuffer: 256 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map(normalizeValue)
    .sort();
}

test('we replay the compressed WAL of a Prometheus killed with SIGKILL, sample for sample', async (t) => {
  const prometheus = requirePeer(t, 'prometheus', 'prometheus');
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (prometheus === null || promtool === null) return;
  const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-interop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: self\n    static_configs: [{ targets: ['127.0.0.1:${port}'] }]\n`,
  );
  const data = join(dir, 'data');
  // No compression flag: 2.42's default (on) is what is tested.
  const prom = await startPrometheus(t, prometheus, { configFile: config, dataDir: data, port });
  // A few scrapes of its own ~700 series, then a crash: wait for the first scrape to reach
  // the WAL, then for a few more.
  const deadline = Date.now() + 30_000;
  const walFile = join(data, 'wal', '00000000');
  while (Date.now() < deadline && (!existsSync(walFile) || statSync(walFile).size === 0)) {
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 3500));
  await prom.stop('SIGKILL');

  // Its records are Snappy-compressed.
  const seg = readFileSync(join(data, 'wal', '00000000'));
  let records = 0;
  const r = new WalReader(join(data, 'wal'));
  while (r.next()) records++;
  assert.equal(r.err(), null, `reading Prometheus's WAL: ${String(r.err())}`);
  r.close();
  assert.ok(
    records > 3,
    `${records} records in ${JSON.stringify(readdirSync(join(data, 'wal')))}, ${seg.length} bytes; ${prom.stderr().slice(-1500)}`,
  );
  assert.ok((seg[0] & 0x08) !== 0, `first type byte 0x${seg[0].toString(16)}: not compressed`);

  // promtool replays the WAL with Prometheus's own code; we open a copy as a database.
  rmSync(join(data, 'lock'), { force: true });
  const want = await promtoolDump(promtool, data);
  const copy = join(dir, 'copy');
  cpSync(data, copy, { recursive: true });
  rmSync(join(copy, 'chunks_head'), { recursive: true, force: true });
  const db = await openDB(copy, { disableAutoCompaction: true, logger: () => undefined });
  const q = await db.querier(-Infinity, Infinity);
  const set = q.select(true, null, [new Matcher('=~', '__name__', '.+')]);
  const got: string[] = [];
  while (set.next()) {
    const s = set.at();
    const it = s.iterator();
    const ls = s.labels.toString();
    while (it.next() !== ValueType.None) {
      const v = it.atV();
      got.push(`${ls} ${String(v)} ${it.atT()}`);
    }
  }
  q.close();
  await db.close();
  got.sort();
  assert.ok(want.length > 1000, `promtool printed only ${want.length} samples`);
  assert.equal(got.length, want.length, 'sample count');
  const gotSet = new Set(got);
  const missing = want.filter((l) => !gotSet.has(l));
  assert.deepEqual(
    missing.slice(0, 5),
    [],
    `${missing.length} samples promtool printed are not ours`,
  );
});

/** A promtool dump line with its value in JavaScript's number format (Go writes 5.9602e-05). */
function normalizeValue(line: string): string {
  const end = line.lastIndexOf(' ');
  const mid = line.lastIndexOf(' ', end - 1);
  return `${line.slice(0, mid)} ${String(Number(line.slice(mid + 1, end)))}${line.slice(end)}`;
}

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
  const prom = await startPrometheus(t, prometheus, {
    configFile: config,
    dataDir: data,
    port,
    args: ['--no-storage.tsdb.wal-compression'],
  });

  // Tail the WAL while Prometheus writes it (a live reader) until two scrapes of `up` are
  // in; then stop it cleanly and read the whole log again as a finished one.
  const deadline = Date.now() + 30_000;
  let live: WalReader | null = null;
  let liveUp = 0;
  while (Date.now() < deadline && liveUp < 2) {
    await new Promise((r) => setTimeout(r, 200));
    live ??= new WalReader(join(data, 'wal'), { live: true });
    liveUp += countUp(live);
    assert.equal(live.err(), null, `tailing Prometheus's WAL: ${String(live.err())}`);
  }
  live?.close();
  await prom.stop();
  assert.ok(
    liveUp >= 2,
    `live reader saw ${liveUp} up samples; prometheus said: ${prom.stderr().slice(-2000)}`,
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

/**
 * Open time and head memory at scale: writes a WAL of N series (labels shaped like proxy
 * metrics, 3 samples each, records of 1,000 series as scrapes commit them), then times
 * `openDB` on it (wall and CPU, since the machine is shared) and the resident memory it
 * adds once garbage is collected (head memory per series).
 *
 *   node --expose-gc --import tsx bench/tsdb/open-wal.bench.ts [N=1000000] [none|snappy] [prof]
 *
 * `prof` writes a CPU profile of the open alone to open.cpuprofile in the working folder.
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { Encbuf } from '../../src/tsdb/encoding.js';
import {
  SampleBatch,
  encodeSampleBatch,
  encodeSeries,
  type RefSeries,
} from '../../src/tsdb/record.js';
import { WAL } from '../../src/tsdb/wal/index.js';
import { Labels } from '../../src/model/labels.js';
import { openDB } from '../../src/tsdb/db.js';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const n = Number(process.argv[2] ?? 1_000_000);
const comp = (process.argv[3] ?? 'none') as 'none' | 'snappy';
const dir = mkdtempSync(join(tmpdir(), 'mm-open-'));
const w = WAL.open(join(dir, 'wal'), { compression: comp });
const enc = new Encbuf(1024 * 1024);
const chunk: RefSeries[] = [];
const b = new SampleBatch(1000);
for (let ref = 1; ref <= n; ref++) {
  chunk.push({
    ref,
    labels: Labels.from({
      __name__: `request_total_${ref % 50}`,
      direction: ref % 2 ? 'inbound' : 'outbound',
      namespace: `ns-${ref % 20}`,
      pod: `web-${Math.floor(ref / 50)}-7d4b9c`,
      status_code: String(200 + (ref % 5)),
    }),
  });
  if (chunk.length === 1000 || ref === n) {
    enc.reset();
    encodeSeries(enc, chunk);
    w.log(enc.get());
    for (let k = 0; k < 3; k++) {
      b.reset();
      for (const s of chunk) b.push(s.ref, 1_700_000_000_000 + k * 15_000, k);
      enc.reset();
      encodeSampleBatch(enc, b);
      w.log(enc.get());
    }
    chunk.length = 0;
    await w.commit();
  }
}
await w.close();
chunk.length = 0;
gc();
await new Promise((r) => setTimeout(r, 200));
gc();
const rss0 = process.memoryUsage().rss;
const s = new Session();
s.connect();
if (process.argv[4] === 'prof') {
  await s.post('Profiler.enable');
  await s.post('Profiler.start');
}
const t0 = performance.now();
const c0 = process.cpuUsage();
const db = await openDB(dir, { logger: () => undefined, disableAutoCompaction: true });
const wall = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
if (process.argv[4] === 'prof') {
  const { profile } = await s.post('Profiler.stop');
  writeFileSync('open.cpuprofile', JSON.stringify(profile));
}
gc();
await new Promise((r) => setTimeout(r, 200));
gc();
const rss = process.memoryUsage().rss - rss0;
console.log(
  `open ${n} series (${comp} WAL): ${wall.toFixed(2)} s wall, ${((c.user + c.system) / 1e6).toFixed(2)} s CPU; RSS growth after GC ${(rss / 1e6).toFixed(0)} MB = ${(rss / n).toFixed(0)} B/series; heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`,
);
await db.close();
rmSync(dir, { recursive: true, force: true });
console.log('(preliminary: shared 2-core machine; CPU time is the steadier figure)');

/**
 * Head query benchmark: 10k series × 2 h of 10 s samples (7.2M samples), then select
 * every series with one matcher and iterate every sample; also a seek-heavy pass (one
 * seek per minute, as a range query's steps would). Prints samples/s. The machine may be
 * shared: treat the figures as indicative.
 *
 * Run: node --expose-gc --import tsx bench/tsdb/query.bench.ts [series=10000]
 */

import { Labels } from '../../src/model/labels.js';
import { Matcher } from '../../src/model/matcher.js';
import { ValueType, type SampleIterator } from '../../src/storage/interface.js';
import { Head } from '../../src/tsdb/head.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBlocks } from '../../src/tsdb/block.js';
import { compactHead } from '../../src/tsdb/compact.js';
import type { Querier } from '../../src/storage/interface.js';

const SERIES = Number(process.argv[2] ?? 10_000);
const RANGE = 2 * 3600_000;
const INTERVAL = 10_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

async function main(): Promise<void> {
  const head = new Head();
  const t0 = 1_700_000_000_000;
  const refs = new Uint32Array(SERIES);
  const vals = new Float64Array(SERIES);
  let app = head.appender();
  for (let i = 0; i < SERIES; i++) {
    const ls = Labels.from({
      __name__: Math.floor(i / 20) % 4 === 0 ? 'request_total' : 'response_latency_ms_bucket',
      le: String(i % 20),
      pod: `web-${Math.floor(i / 20)}`,
      namespace: 'emojivoto',
      direction: 'inbound',
    });
    refs[i] = app.append(0, ls, t0, 0);
  }
  await app.commit();
  const steps = RANGE / INTERVAL;
  for (let s = 1; s < steps; s++) {
    app = head.appender();
    const t = t0 + s * INTERVAL;
    for (let i = 0; i < SERIES; i++) {
      vals[i] += (i + s) % 9;
      app.append(refs[i], Labels.EMPTY, t, vals[i]);
    }
    await app.commit();
  }
  const total = SERIES * steps;
  console.log(
    `head query: ${SERIES} series × ${steps} samples = ${(total / 1e6).toFixed(1)}M samples, ${head.chunkCount()} chunks`,
  );

  const all = [new Matcher('=', 'namespace', 'emojivoto')];
  for (let rep = 0; rep < 3; rep++) {
    gc();
    const c0 = process.cpuUsage();
    let start = performance.now();
    const q = await head.querier(t0, t0 + RANGE);
    const ss = q.select(true, null, all);
    let n = 0;
    let sum = 0;
    let it: SampleIterator | undefined;
    while (ss.next()) {
      it = ss.at().iterator(it);
      while (it.next() === ValueType.Float) {
        sum += it.atV();
        n++;
      }
    }
    const selMs = performance.now() - start;
    const cu = process.cpuUsage(c0);
    const selCpuMs = (cu.user + cu.system) / 1000;
    if (n !== total) throw new Error(`read ${n} samples, want ${total}`);

    // Seek pass: one seek per minute of the range on every series.
    start = performance.now();
    const ss2 = q.select(true, null, all);
    let seeks = 0;
    while (ss2.next()) {
      it = ss2.at().iterator(it);
      for (let t = t0; t < t0 + RANGE; t += 60_000) {
        if (it.seek(t) === ValueType.Float) sum += it.atV();
        seeks++;
      }
    }
    const seekMs = performance.now() - start;
    console.log(
      `  select+iterate all: ${(total / (selMs / 1000) / 1e6).toFixed(2)}M samples/s (${selMs.toFixed(0)} ms; ` +
        `by CPU time ${(total / (selCpuMs / 1000) / 1e6).toFixed(2)}M samples/s)   ` +
        `seek every 60 s: ${(seeks / (seekMs / 1000) / 1e6).toFixed(2)}M seeks/s` +
        (sum === 0.5 ? '' : ''),
    );
  }
  await blockQueries(head, t0, total, all);
}

/** Reads every sample `q` selects; returns how many. */
function readAll(q: Querier, ms: Matcher[]): number {
  const ss = q.select(true, null, ms);
  let n = 0;
  let it: SampleIterator | undefined;
  while (ss.next()) {
    it = ss.at().iterator(it);
    while (it.next() === ValueType.Float) n++;
  }
  return n;
}

/**
 * The same data compacted into a block per chunk size (the head's 120-sample chunks
 * copied, then re-encoded into chunks of up to 240, 480 and 720 samples): select and
 * iterate the whole 2 h, and narrow 5-minute queries, which must decode every chunk
 * from its start up to the window (longer chunks: more samples decoded before it).
 */
async function blockQueries(head: Head, t0: number, total: number, all: Matcher[]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'mm-query-bench-'));
  try {
    console.log('block query (CPU ms; best of 3):');
    for (const perChunk of [0, 240, 480, 720]) {
      const dir = join(work, String(perChunk));
      const c0 = process.cpuUsage();
      compactHead(dir, head, t0, t0 + RANGE, perChunk === 0 ? {} : { samplesPerChunk: perChunk });
      const cc = process.cpuUsage(c0);
      const [block] = openBlocks(dir);
      let bestAll = Infinity;
      let bestNarrow = Infinity;
      const windows = 12;
      for (let rep = 0; rep < 3; rep++) {
        gc();
        let u0 = process.cpuUsage();
        const n = readAll(await block.querier(t0, t0 + RANGE), all);
        let u = process.cpuUsage(u0);
        if (n !== total) throw new Error(`read ${n} samples, want ${total}`);
        bestAll = Math.min(bestAll, (u.user + u.system) / 1000);
        // Narrow windows spread over the range, the last one at its end.
        u0 = process.cpuUsage();
        for (let w = 1; w <= windows; w++) {
          const end = t0 + (RANGE * w) / windows - 1;
          readAll(await block.querier(end - 300_000, end), all);
        }
        u = process.cpuUsage(u0);
        bestNarrow = Math.min(bestNarrow, (u.user + u.system) / 1000 / windows);
      }
      block.close();
      console.log(
        `  ${perChunk === 0 ? 'head chunks (120)' : `≤${perChunk}`}`.padEnd(22) +
          `compact ${((cc.user + cc.system) / 1000).toFixed(0)} ms CPU   ` +
          `select+iterate all: ${bestAll.toFixed(0)} ms (${(total / (bestAll / 1000) / 1e6).toFixed(2)}M samples/s)   ` +
          `5-minute window: ${bestNarrow.toFixed(1)} ms`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

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
}

await main();

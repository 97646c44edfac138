/**
 * Restart cost: how long `openDB` takes on a data directory holding blocks and a WAL
 * (blocks opened, checkpoint and segments replayed into the head), and the first query
 * across the head/block boundary after it.
 *
 *   node --expose-gc --import tsx bench/tsdb/open.bench.ts [--series 5000] [--hours 5]
 * @module
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../../src/model/labels.js';
import { Matcher } from '../../src/model/matcher.js';
import { ValueType } from '../../src/storage/interface.js';
import { openDB } from '../../src/tsdb/index.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const series = arg('series', 5000);
const hours = arg('hours', 5);
const STEP = 15_000;
const quiet = { logger: () => undefined, disableAutoCompaction: true };

const dir = mkdtempSync(join(tmpdir(), 'mm-open-bench-'));
try {
  const db = await openDB(dir, quiet);
  const ls = Array.from({ length: series }, (_, i) =>
    Labels.from({ __name__: 'request_total', pod: `pod-${i % 100}`, route: `/r/${i}` }),
  );
  const refs = new Array<number>(series).fill(0);
  let samples = 0;
  for (let t = 0; t < hours * 3_600_000; t += STEP) {
    const app = db.appender();
    for (let i = 0; i < series; i++) refs[i] = app.append(refs[i], ls[i], t, t / STEP + i);
    await app.commit();
    samples += series;
  }
  const tc = performance.now();
  await db.compact();
  const compactMs = performance.now() - tc;
  const blocks = db.blockList().length;
  const headSeries = db.head.seriesCount();
  await db.close();

  console.log(
    `${series} series × ${hours} h @15s = ${samples} samples; compaction ${compactMs.toFixed(0)} ms → ${blocks} blocks, ${headSeries} series in head`,
  );
  for (let round = 0; round < 3; round++) {
    globalThis.gc?.();
    const t0 = performance.now();
    const d = await openDB(dir, quiet);
    const openMs = performance.now() - t0;
    const t1 = performance.now();
    const edge = d.blockList().at(-1)?.maxTime ?? 0;
    const q = await d.querier(edge - 600_000, edge + 600_000);
    const set = q.select(true, null, [new Matcher('=', 'pod', 'pod-7')]);
    let n = 0;
    while (set.next()) {
      const it = set.at().iterator();
      while (it.next() !== ValueType.None) n++;
    }
    q.close();
    const queryMs = performance.now() - t1;
    console.log(
      `open #${round + 1}: ${openMs.toFixed(0)} ms (replayed ${d.openStats.samples} WAL samples, ${d.openStats.blocks} blocks); ` +
        `first boundary query ${queryMs.toFixed(1)} ms, ${n} samples`,
    );
    await d.close();
  }
  console.log('(preliminary: shared 2-core machine)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

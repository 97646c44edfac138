/**
 * The worker thread of range-workers.ts: opens the shared sources through the opener
 * module it was given, computes the asked rollup part and sends the rows back
 * transferred (their buffers move, no copy).
 * @module
 */

import { parentPort, workerData } from 'node:worker_threads';
import { Matcher, type MatchType } from '../model/matcher.js';
import type { Querier } from '../storage/interface.js';
import type { RollupPartJob, RollupPartReply } from './range-workers.js';
import { RollupPartTimeout, runRollupPart } from './rollup-part.js';

interface Opener {
  openSharedQuerier(source: unknown, mint: number, maxt: number): Querier;
}

const { openerUrl } = workerData as { openerUrl: string };
const opener = (await import(openerUrl)) as Opener;
const port = parentPort!;

port.on('message', (job: RollupPartJob) => {
  let reply: RollupPartReply;
  const transfer: ArrayBuffer[] = [];
  try {
    reply = runJob(job, transfer);
  } catch (err) {
    reply = {
      id: job.id,
      error: (err as Error).message,
      timeout: err instanceof RollupPartTimeout,
    };
    transfer.length = 0;
  }
  port.postMessage(reply, transfer);
});

function runJob(job: RollupPartJob, transfer: ArrayBuffer[]): RollupPartReply {
  const q = opener.openSharedQuerier(job.source, job.qmint, job.qmaxt);
  try {
    const matchers = job.matchers.map(([t, n, v]) => new Matcher(t as MatchType, n, v));
    const set = q.select(job.sorted, job.hints, matchers);
    const counterNames = new Set<string>();
    const r = runRollupPart(set, job.spec, job.part, job.parts, {
      checkAbort() {},
      counterSeen: (m) => counterNames.add(m.metricName()),
      // Persisted blocks keep no start timestamps, so no overlap can be met here.
      startTimeOverlap() {},
    });
    const err = set.err();
    if (err) throw err;
    // Own buffers (the table's arrays are views of larger ones), moved to the main thread.
    const val = r.table.val.slice();
    const cnt = r.table.cnt.slice();
    transfer.push(val.buffer, cnt.buffer, r.samples.buffer as ArrayBuffer);
    return {
      id: job.id,
      labels: r.table.labels.map((l) => l.toPairs()),
      first: r.first,
      val,
      cnt,
      samples: r.samples,
      steps: r.table.steps,
      series: r.series,
      keys: r.keys,
      counterNames: [...counterNames],
    };
  } finally {
    q.close();
  }
}

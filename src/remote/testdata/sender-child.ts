/**
 * A child process for the crash test: opens a DB, runs remote write from its WAL, and
 * appends known samples (every `intervalMs`) from where the DB ends, up to `count` more;
 * prints `appended <i>` after each commit and `done <end>` when finished.
 * Usage: node --import tsx sender-child.ts <dataDir> <url> <count> <intervalMs>
 * @module
 */

import { RemoteWriteManager } from '../manager.js';
import { openDB } from '../../tsdb/db.js';
import { appendKnown, readStore, rwConfig } from './harness.js';

const [dataDir, url, countArg, intervalArg] = process.argv.slice(2);
const N_SERIES = 8;
const T0 = 1_700_000_000_000;
const STEP = 1000;

const mgr = new RemoteWriteManager({ dataDir, logger: (l) => void process.stderr.write(`sender-child: ${l}\n`) });
const db = await openDB(dataDir, { logger: () => {}, walRetentionGuard: () => mgr.lowWatermarkSegment() });
await mgr.applyConfig([
  rwConfig(url, 'name: crash\nremote_timeout: 2s\nqueue_config:\n  min_shards: 2\n  max_samples_per_send: 40\n  batch_send_deadline: 50ms\n  min_backoff: 20ms\n  max_backoff: 300ms'),
]);
// Continue after the last sample the WAL kept.
let next = 0;
for (const pts of (await readStore(db, 'rw_test_metric')).values()) {
  if (pts.length > 0) next = Math.max(next, (pts[pts.length - 1][0] - T0) / STEP + 1);
}
let stopping = false;
process.on('SIGTERM', () => (stopping = true));
const end = next + Number(countArg);
for (let i = next; i < end && !stopping; i++) {
  await appendKnown(db, N_SERIES, i, i + 1, T0, STEP);
  process.stdout.write(`appended ${i}\n`);
  await new Promise((r) => setTimeout(r, Number(intervalArg)));
}
process.stdout.write(`done ${end}\n`);
while (!stopping) await new Promise((r) => setTimeout(r, 50));
await mgr.stop();
await db.close();
process.exit(0);

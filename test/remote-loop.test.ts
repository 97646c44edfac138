// End-to-end remote write with our own receiver: DB (WAL) → sender → HTTP → receiver →
// second DB. Faults: receiver down while appends go on, a 400 on one batch, restarts.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QueueManager, RemoteWriteManager, loadPosition } from '../src/remote/index.js';
import {
  appendKnown,
  knownLabels,
  knownValue,
  readStore,
  rwConfig,
  startReceiver,
  waitFor,
} from '../src/remote/testdata/harness.js';
import { openDB, type DB } from '../src/tsdb/db.js';

const T0 = 1_700_000_000_000;
const quiet = (): void => {};

async function withDirs(fn: (src: string, dst: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'mm-rw-loop-'));
  try {
    await fn(join(root, 'src'), join(root, 'dst'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Opens a source DB, a destination DB and our receiver in front of it; closes all three.
 * `srcDir` is the source's data folder (the queues keep their positions there).
 */
async function withPipeline(
  fn: (
    src: DB,
    dst: DB,
    rx: Awaited<ReturnType<typeof startReceiver>>,
    srcDir: string,
  ) => Promise<void>,
): Promise<void> {
  await withDirs(async (srcDir, dstDir) => {
    const src = await openDB(srcDir, { logger: quiet });
    const dst = await openDB(dstDir, { logger: quiet });
    const rx = await startReceiver(dst);
    try {
      await fn(src, dst, rx, srcDir);
    } finally {
      await rx.close();
      await src.close();
      await dst.close();
    }
  });
}

/** Asserts `dst` holds exactly samples [0, n) of each of `nSeries` known series. */
async function assertComplete(dst: DB, nSeries: number, n: number, stepMs: number): Promise<void> {
  const got = await readStore(dst, 'rw_test_metric');
  assert.equal(got.size, nSeries, 'series count');
  for (let s = 0; s < nSeries; s++) {
    const pts = got.get(knownLabels(s).toString());
    assert.ok(pts, `series ${s} arrived`);
    assert.equal(pts.length, n, `samples of series ${s}`);
    for (let i = 0; i < n; i++) {
      assert.deepEqual(pts[i], [T0 + i * stepMs, knownValue(s, i)], `series ${s} sample ${i}`);
    }
  }
}

async function count(dst: DB): Promise<number> {
  let n = 0;
  for (const pts of (await readStore(dst, 'rw_test_metric')).values()) n += pts.length;
  return n;
}

test(
  'sender → our receiver: every series and sample, in order, over several shards',
  { timeout: 30_000 },
  async () => {
    await withPipeline(async (src, dst, rx, srcDir) => {
      const nSeries = 30;
      const n = 150;
      await appendKnown(src, nSeries, 0, n, T0, 1000);
      const q = new QueueManager(
        rwConfig(
          rx.url,
          'queue_config:\n  min_shards: 4\n  max_shards: 4\n  max_samples_per_send: 100\n  batch_send_deadline: 100ms',
        ),
        {
          walDir: join(srcDir, 'wal'),
          stateDir: join(srcDir, 'remote'),
          externalLabels: {},
          logger: quiet,
        },
      );
      q.start();
      try {
        assert.ok(
          await waitFor(() => q.samplesTotal >= nSeries * n, 20_000),
          `sent ${q.samplesTotal}`,
        );
        await assertComplete(dst, nSeries, n, 1000);
        assert.equal(q.samplesFailed, 0);
        const rows = q.metrics();
        const shards = rows.find((r) => r.name === 'prometheus_remote_storage_shards');
        assert.equal(shards?.value, 4);
        assert.deepEqual(shards?.labels, { remote_name: q.key, url: rx.url });
        const sentTs = rows.find(
          (r) => r.name === 'prometheus_remote_storage_queue_highest_sent_timestamp_seconds',
        );
        assert.equal(sentTs?.value, (T0 + (n - 1) * 1000) / 1000);
      } finally {
        await q.stop();
      }
    });
  },
);

test(
  'external labels (series label wins) and write_relabel_configs are applied',
  { timeout: 30_000 },
  async () => {
    await withPipeline(async (src, dst, rx, srcDir) => {
      await appendKnown(src, 4, 0, 10, T0, 1000);
      const cfg = rwConfig(
        rx.url,
        'write_relabel_configs:\n  - source_labels: [series]\n    regex: "3"\n    action: drop\nqueue_config:\n  batch_send_deadline: 50ms',
      );
      const q = new QueueManager(cfg, {
        walDir: join(srcDir, 'wal'),
        stateDir: join(srcDir, 'remote'),
        externalLabels: { cluster: 'east', pod: 'ignored' },
        logger: quiet,
      });
      q.start();
      try {
        assert.ok(await waitFor(() => q.samplesTotal >= 30, 10_000));
        const got = await readStore(dst, 'rw_test_metric');
        assert.deepEqual(
          [...got.keys()].sort(),
          [0, 1, 2]
            .map(
              (s) => `{__name__="rw_test_metric", cluster="east", pod="pod-${s}", series="${s}"}`,
            )
            .sort(),
        );
        assert.equal(q.samplesDropped, 10);
      } finally {
        await q.stop();
      }
    });
  },
);

test(
  'receiver down for a while, appends go on: nothing missing, in order; retried counted',
  { timeout: 40_000 },
  async () => {
    await withPipeline(async (src, dst, rx, srcDir) => {
      let down = false;
      rx.fault = () => (down ? 'down' : 'pass');
      const nSeries = 10;
      const mgr = new RemoteWriteManager({ dataDir: srcDir, logger: quiet });
      await mgr.applyConfig([
        rwConfig(
          rx.url,
          'name: east\nqueue_config:\n  min_shards: 2\n  max_samples_per_send: 50\n  batch_send_deadline: 50ms\n  min_backoff: 10ms\n  max_backoff: 200ms',
        ),
      ]);
      try {
        await appendKnown(src, nSeries, 0, 50, T0, 1000);
        await waitFor(async () => (await count(dst)) === nSeries * 50, 10_000);
        down = true;
        // ~4 s outage with appends going on (a 500-row and a 503 would behave the same).
        for (let k = 0; k < 8; k++) {
          await appendKnown(src, nSeries, 50 + k * 25, 75 + k * 25, T0, 1000);
          await new Promise((r) => setTimeout(r, 500));
        }
        const retried = mgr.queueManagers[0].samplesRetried;
        down = false;
        assert.ok(
          await waitFor(async () => (await count(dst)) >= nSeries * 250, 20_000),
          'caught up',
        );
        await assertComplete(dst, nSeries, 250, 1000);
        assert.ok(retried > 0, 'retries counted during the outage');
        assert.equal(mgr.queueManagers[0].samplesFailed, 0);
      } finally {
        await mgr.stop();
      }
    });
  },
);

test(
  'a 400 on one batch drops that batch only; the queue does not stall',
  { timeout: 30_000 },
  async () => {
    await withPipeline(async (src, dst, rx, srcDir) => {
      rx.fault = (n) => (n === 2 ? 'bad-request' : 'pass');
      const nSeries = 5;
      const q = new QueueManager(
        rwConfig(rx.url, 'queue_config:\n  max_samples_per_send: 25\n  batch_send_deadline: 50ms'),
        {
          walDir: join(srcDir, 'wal'),
          stateDir: join(srcDir, 'remote'),
          externalLabels: {},
          logger: quiet,
        },
      );
      await appendKnown(src, nSeries, 0, 40, T0, 1000);
      q.start();
      try {
        assert.ok(await waitFor(() => q.samplesTotal + q.samplesFailed >= nSeries * 40, 10_000));
        assert.equal(q.samplesFailed, 25);
        assert.equal(await count(dst), nSeries * 40 - 25);
        // Later data still flows.
        await appendKnown(src, nSeries, 40, 60, T0, 1000);
        assert.ok(await waitFor(() => q.samplesTotal === nSeries * 60 - 25, 10_000));
      } finally {
        await q.stop();
      }
    });
  },
);

test(
  'restart resumes from the saved position (no resend of acknowledged data)',
  { timeout: 30_000 },
  async () => {
    await withPipeline(async (src, dst, rx, srcDir) => {
      const cfg = rwConfig(rx.url, 'name: resume\nqueue_config:\n  batch_send_deadline: 50ms');
      const opts = {
        walDir: join(srcDir, 'wal'),
        stateDir: join(srcDir, 'remote'),
        externalLabels: {},
        logger: quiet,
      };
      await appendKnown(src, 3, 0, 20, T0, 1000);
      const q1 = new QueueManager(cfg, opts);
      q1.start();
      assert.ok(await waitFor(() => q1.samplesTotal === 60, 10_000));
      await q1.stop();
      const pos = loadPosition(join(srcDir, 'remote', 'resume', 'position'));
      assert.ok(pos !== null && pos.offset > 0, 'position saved');
      await appendKnown(src, 3, 20, 30, T0, 1000);
      const q2 = new QueueManager(cfg, opts);
      q2.start();
      try {
        assert.ok(await waitFor(() => q2.samplesTotal >= 30, 10_000));
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(q2.samplesTotal, 30, 'only the new samples were sent');
        await assertComplete(dst, 3, 30, 1000);
      } finally {
        await q2.stop();
      }
    });
  },
);

// Remote write and WAL truncation: the retention guard keeps unsent segments through a
// checkpoint; a fresh endpoint reads the checkpoint's samples; the watcher follows
// segment rollover.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { QueueManager, RemoteWriteManager, WalWatcher } from '../src/remote/index.js';
import {
  appendKnown,
  knownLabels,
  knownValue,
  readStore,
  rwConfig,
  startReceiver,
  waitFor,
} from '../src/remote/testdata/harness.js';
import { openDB } from '../src/tsdb/db.js';
import { listCheckpoints, listSegments } from '../src/tsdb/wal/index.js';

const T0 = 1_700_000_000_000;
const quiet = (): void => {};
const SEG = 64 * 1024;

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'mm-rw-wal-'));
  try {
    await fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test(
  'retention guard: a checkpoint during an outage keeps the unsent segments; all arrive',
  { timeout: 40_000 },
  async () => {
    await withRoot(async (root) => {
      const mgr = new RemoteWriteManager({ dataDir: join(root, 'src'), logger: quiet });
      const src = await openDB(join(root, 'src'), {
        logger: quiet,
        walSegmentSizeBytes: SEG,
        walRetentionGuard: () => mgr.lowWatermarkSegment(),
      });
      const dst = await openDB(join(root, 'dst'), { logger: quiet });
      const rx = await startReceiver(dst);
      rx.fault = () => 'down';
      await mgr.applyConfig([
        rwConfig(
          rx.url,
          'name: g\nqueue_config:\n  batch_send_deadline: 50ms\n  min_backoff: 20ms\n  max_backoff: 200ms',
        ),
      ]);
      try {
        const nSeries = 50;
        const n = 1200;
        await appendKnown(src, nSeries, 0, n, T0, 1000);
        const walDir = join(root, 'src', 'wal');
        const before = listSegments(walDir);
        assert.ok(before.length >= 5, `several segments (${before.length})`);
        // The head moves on: everything older than the last sample is "in blocks".
        await src.truncateHead(T0 + (n - 1) * 1000);
        const after = listSegments(walDir);
        assert.equal(after[0], before[0], 'no unsent segment deleted');
        rx.fault = () => 'pass';
        assert.ok(
          await waitFor(async () => {
            let c = 0;
            for (const p of (await readStore(dst, 'rw_test_metric')).values()) c += p.length;
            return c >= nSeries * n;
          }, 20_000),
          'caught up',
        );
        const got = await readStore(dst, 'rw_test_metric');
        for (let s = 0; s < nSeries; s++) {
          const pts = got.get(knownLabels(s).toString()) ?? [];
          assert.equal(pts.length, n);
          for (let i = 0; i < n; i++) assert.deepEqual(pts[i], [T0 + i * 1000, knownValue(s, i)]);
        }
        // Once sent, a later truncation may delete them.
        await src.truncateHead(T0 + (n - 1) * 1000);
        assert.ok(listSegments(walDir)[0] > before[0], 'sent segments are released');
        assert.ok(listCheckpoints(walDir).length > 0);
      } finally {
        await mgr.stop();
        await rx.close();
        await src.close();
        await dst.close();
      }
    });
  },
);

test(
  'fresh endpoint after a checkpoint: reads series and samples from it, then the segments',
  { timeout: 30_000 },
  async () => {
    await withRoot(async (root) => {
      const src = await openDB(join(root, 'src'), { logger: quiet, walSegmentSizeBytes: SEG });
      const dst = await openDB(join(root, 'dst'), { logger: quiet });
      const rx = await startReceiver(dst);
      const nSeries = 40;
      const n = 1200;
      const keepFrom = 400;
      await appendKnown(src, nSeries, 0, n, T0, 1000);
      const stats = await src.truncateHead(T0 + keepFrom * 1000);
      assert.ok(stats !== null && stats.deletedSegments > 0, 'segments were checkpointed');
      const q = new QueueManager(rwConfig(rx.url, 'queue_config:\n  batch_send_deadline: 50ms'), {
        walDir: join(root, 'src', 'wal'),
        stateDir: join(root, 'src', 'remote'),
        externalLabels: {},
        logger: quiet,
      });
      q.start();
      try {
        assert.ok(
          await waitFor(async () => {
            const got = await readStore(dst, 'rw_test_metric');
            const pts = got.get(knownLabels(nSeries - 1).toString()) ?? [];
            return pts.length > 0 && pts[pts.length - 1][0] === T0 + (n - 1) * 1000;
          }, 20_000),
        );
        const got = await readStore(dst, 'rw_test_metric');
        assert.equal(got.size, nSeries);
        for (let s = 0; s < nSeries; s++) {
          const pts = got.get(knownLabels(s).toString()) ?? [];
          // Everything from keepFrom on, in order, with the right values.
          const tail = pts.filter(([t]) => t >= T0 + keepFrom * 1000);
          assert.equal(tail.length, n - keepFrom, `series ${s}`);
          for (const [t, v] of pts) assert.equal(v, knownValue(s, (t - T0) / 1000));
        }
        assert.equal(q.samplesFailed, 0);
      } finally {
        await q.stop();
        await rx.close();
        await src.close();
        await dst.close();
      }
    });
  },
);

test(
  'watcher: pending bytes cover the segments not read yet (the backlog shards scale on)',
  { timeout: 30_000 },
  async () => {
    await withRoot(async (root) => {
      const db = await openDB(join(root, 'db'), { logger: quiet, walSegmentSizeBytes: SEG });
      try {
        await appendKnown(db, 50, 0, 400, T0, 1000);
        const walDir = join(root, 'db', 'wal');
        assert.ok(listSegments(walDir).length > 2, 'several segments');
        let samples = 0;
        const w = new WalWatcher(walDir, null, {
          series: () => {},
          samples: (b) => (samples += b.length),
        });
        const total = w.pendingBytes();
        assert.ok(total > 2 * SEG, `pending ${total}`);
        w.read(5_000);
        const mid = w.pendingBytes();
        assert.ok(mid > 0 && mid < total, `pending after a part: ${mid} of ${total}`);
        assert.ok(w.bytesRead > 0 && w.bytesRead <= total - mid, `read ${w.bytesRead}`);
        while (w.read(100_000) > 0);
        assert.equal(samples, 50 * 400);
        assert.equal(w.pendingBytes(), 0);
        w.close();
      } finally {
        await db.close();
      }
    });
  },
);

test(
  'watcher: a record the sink has no room for is held back before the position, then handed once, in order',
  { timeout: 30_000 },
  async () => {
    await withRoot(async (root) => {
      const db = await openDB(join(root, 'db'), { logger: quiet, walSegmentSizeBytes: SEG });
      try {
        // 30 series × 300 commits: records of 30 samples over several segments.
        await appendKnown(db, 30, 0, 300, T0, 1000);
        const walDir = join(root, 'db', 'wal');
        const key = (b: { refs: Float64Array; ts: Float64Array }, i: number): string =>
          `${b.refs[i]}@${b.ts[i]}`;
        const all: string[] = [];
        const plain = new WalWatcher(walDir, null, {
          series: () => {},
          samples: (b) => {
            for (let i = 0; i < b.length; i++) all.push(key(b, i));
          },
        });
        while (plain.read(1_000_000) > 0);
        plain.close();
        assert.equal(all.length, 30 * 300);

        // Rooms: less than a record (each round one record), between one and two, several.
        for (const room of [10, 45, 100, 1000]) {
          const got: string[] = [];
          let inRound = 0;
          const rounds: number[] = [];
          const w = new WalWatcher(walDir, null, {
            series: () => {},
            samples: (b) => {
              for (let i = 0; i < b.length; i++) got.push(key(b, i));
              inRound += b.length;
            },
            fits: (b) => inRound === 0 || inRound + b.length <= room,
          });
          for (let guard = 0; guard < 10_000; guard++) {
            const n = w.read(1_000_000);
            if (!w.heldBack()) {
              if (n === 0) break;
              continue;
            }
            // Sealed here: a restart from this position hands exactly what follows.
            const at = w.position();
            const rest: string[] = [];
            const again = new WalWatcher(walDir, at, {
              series: () => {},
              samples: (b) => {
                for (let i = 0; i < b.length; i++) rest.push(key(b, i));
              },
            });
            while (again.read(1_000_000) > 0);
            again.close();
            assert.deepEqual(rest, all.slice(got.length), `room ${room}: after ${got.length}`);
            rounds.push(inRound);
            inRound = 0;
          }
          w.close();
          rounds.push(inRound);
          assert.deepEqual(got, all, `room ${room}: every sample once, in order`);
          const most = Math.max(room, 30);
          for (const r of rounds) assert.ok(r <= most, `room ${room}: a round of ${r}`);
          assert.ok(rounds.length >= Math.floor((30 * 300) / most), `room ${room}: rounds`);
        }
      } finally {
        await db.close();
      }
    });
  },
);

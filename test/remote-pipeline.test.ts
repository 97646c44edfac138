// Pipelined sending: shards do not wait for each other, yet the saved WAL position never
// passes a sample a slow request still carries, and a restart rebuilds the rounds in
// flight so that nothing is lost and nothing acknowledged is sent again.
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import snappy from 'snappy';
import {
  DecodedWriteRequest,
  QueueManager,
  decodeWriteRequest,
  loadPosition,
} from '../src/remote/index.js';
import { appendKnown, knownValue, rwConfig, waitFor } from '../src/remote/testdata/harness.js';
import { openDB } from '../src/tsdb/db.js';

const T0 = 1_700_000_000_000;
const quiet = (): void => {};

/**
 * A receiver that, like Prometheus's, rejects a whole request with 400 when any of its
 * samples is not newer than the last one stored for its series; it keeps each series'
 * timestamps and values. While `hold` says so, the request in which series `series="0"`
 * starts at `holdFrom` is stored but left unanswered (delivered, not acknowledged).
 */
interface StrictReceiver {
  url: string;
  /** `series` label → [t, v] in arrival order. */
  stored: Map<string, [number, number][]>;
  rejected: number;
  held: number;
  hold: boolean;
  /** The request whose series `0` starts at this timestamp is the one held. */
  holdFrom: number;
  heldSamples: number;
  /** Milliseconds before each answer (a slow receiver). */
  delayMs: number;
  /** Samples of each request received, in arrival order. */
  sizes: number[];
  close(): Promise<void>;
}

async function startStrictReceiver(): Promise<StrictReceiver> {
  const rx: StrictReceiver = {
    url: '',
    stored: new Map(),
    rejected: 0,
    held: 0,
    hold: false,
    holdFrom: 0,
    heldSamples: 0,
    delayMs: 0,
    sizes: [],
    close: () => Promise.resolve(),
  };
  const d = new DecodedWriteRequest();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => (rx.delayMs > 0 ? setTimeout(answer, rx.delayMs) : answer()));
    const answer = (): void => {
      d.reset();
      decodeWriteRequest(snappy.uncompressSync(Buffer.concat(chunks)) as Buffer, d);
      rx.sizes.push(d.samples);
      const names: string[] = [];
      for (let i = 0; i < d.series; i++) {
        const pairs = d.pairsOf(i);
        names.push(pairs[pairs.indexOf('series') + 1]);
      }
      const s0 = names.indexOf('0');
      const holdThis = rx.hold && s0 >= 0 && d.ts[d.sampleStart[s0]] === rx.holdFrom;
      for (let i = 0; i < d.series; i++) {
        const have = rx.stored.get(names[i]) ?? [];
        const last = have.length > 0 ? have[have.length - 1][0] : -Infinity;
        if (d.ts[d.sampleStart[i]] <= last) {
          rx.rejected++;
          res.writeHead(400).end(`out of order sample for series ${names[i]}`);
          return;
        }
      }
      for (let i = 0; i < d.series; i++) {
        const have = rx.stored.get(names[i]) ?? [];
        for (let k = d.sampleStart[i]; k < d.sampleStart[i + 1]; k++) have.push([d.ts[k], d.vs[k]]);
        rx.stored.set(names[i], have);
      }
      if (holdThis) {
        // Stored but never answered: delivered, yet not acknowledged to the sender.
        rx.held++;
        rx.heldSamples += d.samples;
        return;
      }
      res.writeHead(204).end();
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  rx.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`;
  rx.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return rx;
}

const count = (rx: StrictReceiver, s: number): number => rx.stored.get(String(s))?.length ?? 0;

test(
  'a slow request in one shard: the others run rounds ahead, the saved position waits; a restart loses nothing and resends nothing acknowledged',
  { timeout: 40_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'mm-rw-pipe-'));
    const db = await openDB(join(root, 'db'), { logger: quiet });
    const rx = await startStrictReceiver();
    const nSeries = 8;
    const cfg = rwConfig(
      rx.url,
      'name: pipe\nqueue_config:\n  min_shards: 4\n  max_shards: 4\n  max_samples_per_send: 10\n  batch_send_deadline: 50ms\n  min_backoff: 10ms\n  max_backoff: 100ms',
    );
    const opts = {
      walDir: join(root, 'db', 'wal'),
      stateDir: join(root, 'remote'),
      externalLabels: {},
      logger: quiet,
    };
    const positionFile = join(root, 'remote', 'pipe', 'position');
    let q1: QueueManager | null = new QueueManager(cfg, opts);
    let q2: QueueManager | null = null;
    try {
      // Phase 1: everything delivered, the position saved after it.
      await appendKnown(db, nSeries, 0, 50, T0, 1000);
      q1.start();
      assert.ok(await waitFor(() => q1?.samplesTotal === nSeries * 50, 10_000), 'phase 1 sent');
      assert.ok(await waitFor(() => loadPosition(positionFile)?.rounds === undefined, 5000));
      const p1 = q1.position();
      assert.ok(p1 !== null && p1.offset > 0, 'position saved after phase 1');

      // Phase 2: series 0's shard stalls on its first request; the other shards go on.
      rx.hold = true;
      rx.holdFrom = T0 + 50_000;
      await appendKnown(db, nSeries, 50, 250, T0, 1000);
      const aheadSeries = (): number[] =>
        Array.from({ length: nSeries }, (_, s) => s).filter((s) => count(rx, s) === 250);
      assert.ok(
        await waitFor(() => aheadSeries().length >= 2, 15_000),
        `other shards ran ahead (${Array.from({ length: nSeries }, (_, s) => count(rx, s)).join(' ')})`,
      );
      // Let the shards that are not held finish: every series is then whole or stuck at 50,
      // and the sender has every answer (a request answered after the stop would be
      // delivered yet not acknowledged, and sent again: a duplicate, not a mix).
      const counts = (): number[] => Array.from({ length: nSeries }, (_, s) => count(rx, s));
      assert.ok(
        await waitFor(
          () =>
            rx.held === 1 &&
            counts().every((n) => n < 60 || n === 250) &&
            q1?.samplesTotal === counts().reduce((a, b) => a + b, 0) - rx.heldSamples,
          15_000,
        ),
        `shards that are not held are done (${counts().join(' ')}; ${q1.samplesTotal} acknowledged)`,
      );
      const settledCounts = counts().join(' ');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(
        counts().join(' '),
        settledCounts,
        'nothing more arrives while one shard is held',
      );
      assert.ok(count(rx, 0) < 60, 'series 0 held');
      // 200 samples × 8 series are over several rounds (320 samples each): the shards
      // that finished went through all of them while round one is still unfinished.
      const saved = loadPosition(positionFile);
      assert.ok(saved !== null);
      assert.deepEqual(q1.position(), p1, 'the position did not pass the held samples');
      assert.deepEqual({ segment: saved.segment, offset: saved.offset }, p1, 'nor on disk');
      assert.ok((saved.rounds?.length ?? 0) >= 2, 'rounds after the held one were in flight');
      const first = saved.rounds?.[0];
      assert.ok(
        first !== undefined && first.done.some((n) => n === 0),
        'the held shard: none done',
      );
      assert.ok(
        first.done.some((n) => n > 0),
        'another shard: acknowledged',
      );
      const deliveredByQ1 = q1.samplesTotal - nSeries * 50;

      // Restart (stop abandons the held request; positions were saved after each ack,
      // so this is what a kill leaves behind too).
      await q1.stop();
      q1 = null;
      rx.hold = false;
      // Another request size after the restart: the rebuilt rounds keep theirs.
      q2 = new QueueManager(
        rwConfig(
          rx.url,
          'name: pipe\nqueue_config:\n  min_shards: 4\n  max_shards: 4\n  max_samples_per_send: 7\n  batch_send_deadline: 50ms',
        ),
        opts,
      );
      q2.start();
      const all = nSeries * 250;
      assert.ok(
        await waitFor(
          () => Array.from({ length: nSeries }, (_, s) => count(rx, s)).every((n) => n === 250),
          15_000,
        ),
        `caught up (${Array.from({ length: nSeries }, (_, s) => count(rx, s)).join(' ')})`,
      );
      for (let s = 0; s < nSeries; s++) {
        const pts = rx.stored.get(String(s)) ?? [];
        for (let i = 0; i < 250; i++) {
          assert.deepEqual(pts[i], [T0 + i * 1000, knownValue(s, i)], `series ${s} sample ${i}`);
        }
      }
      // The held request comes again whole (rebuilt with its old size: the new one would
      // cut it and mix its samples with new ones): a duplicate, rejected and dropped.
      assert.equal(rx.rejected, 1, 'only the held request again, nothing mixed');
      assert.equal(q2.samplesFailed, rx.heldSamples);
      assert.equal(
        q2.samplesTotal,
        all - nSeries * 50 - deliveredByQ1 - rx.heldSamples,
        'nothing acknowledged sent again',
      );
    } finally {
      await q1?.stop();
      await q2?.stop();
      await rx.close();
      await db.close();
      rmSync(root, { recursive: true, force: true });
    }
  },
);

test(
  'a round sealed while every shard has a request on the wire is still sent (no lost wake-up)',
  { timeout: 30_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'mm-rw-pipe-'));
    const db = await openDB(join(root, 'db'), { logger: quiet });
    const rx = await startStrictReceiver();
    rx.delayMs = 400;
    const nSeries = 40;
    // Rounds of one request per shard (4 × 20 = 2 samples of each series), sealed as soon
    // as the WAL has that much; the deadline is far away.
    const q = new QueueManager(
      rwConfig(
        rx.url,
        'queue_config:\n  min_shards: 4\n  max_shards: 4\n  max_samples_per_send: 20\n  batch_send_deadline: 60s',
      ),
      {
        walDir: join(root, 'db', 'wal'),
        stateDir: join(root, 'remote'),
        externalLabels: {},
        logger: quiet,
        pollIntervalMs: 10,
      },
    );
    try {
      q.start();
      await appendKnown(db, nSeries, 0, 2, T0, 1000);
      // Every shard now waits 400 ms for its answer; the second round is sealed meanwhile.
      await new Promise((r) => setTimeout(r, 100));
      await appendKnown(db, nSeries, 2, 4, T0, 1000);
      const ok = await waitFor(() => q.samplesTotal === nSeries * 4, 10_000);
      assert.ok(ok, `sent ${q.samplesTotal} of ${nSeries * 4}`);
      for (let s = 0; s < nSeries; s++) {
        assert.deepEqual(
          (rx.stored.get(String(s)) ?? []).map((p) => p[0]),
          [T0, T0 + 1000, T0 + 2000, T0 + 3000],
          `series ${s}`,
        );
      }
    } finally {
      await q.stop();
      await rx.close();
      await db.close();
      rmSync(root, { recursive: true, force: true });
    }
  },
);

test(
  'uneven shards: a round stops when a shard has its requests full, so no request is a short tail',
  { timeout: 30_000 },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'mm-rw-pipe-'));
    const db = await openDB(join(root, 'db'), { logger: quiet });
    const rx = await startStrictReceiver();
    let q: QueueManager | null = null;
    try {
      // 12 series over 8 shards: four shards get two samples of each record, four get one.
      // Rounds are 8 requests of 10 per shard deep; a round that ended at the sample count
      // (640) would give the heavy shards 108 samples (10 requests + a tail of 8).
      const nSeries = 12;
      const steps = 400;
      await appendKnown(db, nSeries, 0, steps, T0, 1000);
      q = new QueueManager(
        rwConfig(
          rx.url,
          'name: even\nqueue_config:\n  min_shards: 8\n  max_shards: 8\n  max_samples_per_send: 10\n  batch_send_deadline: 50ms',
        ),
        {
          walDir: join(root, 'db', 'wal'),
          stateDir: join(root, 'state'),
          externalLabels: {},
          logger: quiet,
        },
      );
      q.start();
      const all = nSeries * steps;
      assert.ok(
        await waitFor(() => q?.samplesTotal === all, 15_000),
        `sent ${q.samplesTotal} of ${all}`,
      );
      assert.equal(rx.rejected, 0, 'in order');
      for (let s = 0; s < nSeries; s++) {
        const pts = rx.stored.get(String(s)) ?? [];
        assert.equal(pts.length, steps, `series ${s}`);
        for (let i = 0; i < steps; i++) {
          assert.deepEqual(pts[i], [T0 + i * 1000, knownValue(s, i)], `series ${s} sample ${i}`);
        }
      }
      assert.ok(
        rx.sizes.every((n) => n <= 10),
        `requests within max_samples_per_send`,
      );
      const short = rx.sizes.filter((n) => n < 10).length;
      assert.ok(
        rx.sizes.length <= all / 10 + 8,
        `${rx.sizes.length} requests for ${all} samples (${short} short)`,
      );
    } finally {
      await q?.stop();
      await rx.close();
      await db.close();
      rmSync(root, { recursive: true, force: true });
    }
  },
);

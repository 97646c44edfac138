/**
 * Checkpoints (Prometheus `wlog.Checkpoint`): the live part of segments `from…to` (and of
 * the previous checkpoint) rewritten as a small WAL of its own, so the segments can go.
 * @module
 */

import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../../model/errors.js';
import { Encbuf } from '../encoding.js';
import {
  RecordType,
  SampleBatch,
  decodeSamples,
  decodeSeries,
  decodeTombstones,
  encodeSamples,
  encodeSeries,
  encodeTombstones,
  recordType,
  type RefSeries,
  type Tombstone,
} from '../record.js';
import { WalReader } from './reader.js';
import { checkpointName, fsyncDir, lastCheckpoint, listCheckpoints } from './segment.js';
import { WAL } from './wal.js';

/** What a checkpoint kept and dropped. */
export interface CheckpointStats {
  /** Folder of the new checkpoint. */
  dir: string;
  droppedSeries: number;
  droppedSamples: number;
  droppedTombstones: number;
  /** Records of types the checkpoint does not carry (exemplars, metadata…). */
  droppedOther: number;
  totalSeries: number;
  totalSamples: number;
  totalTombstones: number;
  deletedSegments: number;
  deletedCheckpoints: number;
}

/** Records are batched up to this size before they are logged into the checkpoint. */
const BATCH_BYTES = 1024 * 1024;

/**
 * Writes `checkpoint.<to>` from the previous checkpoint and segments `from…to`, keeping
 * series for which `keep(ref)` is true and samples with `t ≥ mint`; then deletes segments
 * ≤ `to` and older checkpoints. `to` must be below the active segment (call
 * `wal.nextSegment()` first to checkpoint everything written so far).
 */
export async function checkpoint(
  wal: WAL,
  from: number,
  to: number,
  keep: (ref: number) => boolean,
  mint: number,
): Promise<CheckpointStats> {
  // Never the segment being written, nor one a later write would create: replay skips
  // every segment the checkpoint covers.
  const active = wal.writeSegment();
  if (to >= active) {
    throw new StorageError(
      'ERR_WAL_CHECKPOINT',
      `cannot checkpoint segments ${from}…${to}: segment ${active} is still being written`,
    );
  }
  const stats: CheckpointStats = {
    dir: join(wal.dir, checkpointName(to)),
    droppedSeries: 0,
    droppedSamples: 0,
    droppedTombstones: 0,
    droppedOther: 0,
    totalSeries: 0,
    totalSamples: 0,
    totalTombstones: 0,
    deletedSegments: 0,
    deletedCheckpoints: 0,
  };

  const sources: { dir: string; first?: number; last?: number }[] = [];
  const prev = lastCheckpoint(wal.dir);
  if (prev !== null) {
    if (from > prev.index + 1) {
      throw new StorageError(
        'ERR_WAL_CHECKPOINT',
        `cannot checkpoint segments ${from}…${to}: gap after checkpoint ${prev.index}`,
      );
    }
    // Segments the previous checkpoint covers should be gone already; never read them twice.
    from = prev.index + 1;
    sources.push({ dir: prev.dir });
  }
  sources.push({ dir: wal.dir, first: from, last: to });

  const tmp = stats.dir + '.tmp';
  // Leftovers of checkpoints that a crash interrupted.
  for (const name of readdirSync(wal.dir)) {
    if (/^checkpoint\.\d+\.tmp$/.test(name))
      rmSync(join(wal.dir, name), { recursive: true, force: true });
  }
  const out = WAL.open(tmp, {
    segmentSizeBytes: wal.segmentSizeBytes,
    fsync: 'segment',
    compression: wal.compression,
  });

  const series: RefSeries[] = [];
  const kept: RefSeries[] = [];
  const samples = new SampleBatch(4096);
  const stones: Tombstone[] = [];
  const keptStones: Tombstone[] = [];
  // Kept samples accumulate here as columns and go out as one record per batch.
  const keptSamples = new SampleBatch(4096);
  const enc = new Encbuf(BATCH_BYTES + 64 * 1024);

  const flushSamples = (): void => {
    if (keptSamples.length === 0) return;
    enc.reset();
    encodeSamples(enc, keptSamples.refs, keptSamples.ts, keptSamples.vs, 0, keptSamples.length);
    out.log(enc.get());
    keptSamples.reset();
  };

  try {
    for (const src of sources) {
      const r = new WalReader(src.dir, { first: src.first, last: src.last });
      try {
        while (r.next()) {
          const rec = r.record();
          switch (recordType(rec)) {
            case RecordType.Series: {
              series.length = 0;
              kept.length = 0;
              decodeSeries(rec, series);
              for (const s of series) {
                if (keep(s.ref)) kept.push(s);
                else stats.droppedSeries++;
              }
              stats.totalSeries += series.length;
              if (kept.length > 0) {
                flushSamples();
                enc.reset();
                encodeSeries(enc, kept);
                out.log(enc.get());
              }
              break;
            }
            case RecordType.Samples: {
              samples.reset();
              decodeSamples(rec, samples);
              for (let i = 0; i < samples.length; i++) {
                const ref = samples.refs[i];
                const t = samples.ts[i];
                if (t >= mint && keep(ref)) keptSamples.push(ref, t, samples.vs[i]);
                else stats.droppedSamples++;
              }
              stats.totalSamples += samples.length;
              // About 18 bytes per sample once encoded.
              if (keptSamples.length * 18 >= BATCH_BYTES) flushSamples();
              break;
            }
            case RecordType.Tombstones: {
              stones.length = 0;
              keptStones.length = 0;
              decodeTombstones(rec, stones);
              for (const s of stones) {
                if (s.maxt >= mint && keep(s.ref)) keptStones.push(s);
                else stats.droppedTombstones++;
              }
              stats.totalTombstones += stones.length;
              if (keptStones.length > 0) {
                flushSamples();
                enc.reset();
                encodeTombstones(enc, keptStones);
                out.log(enc.get());
              }
              break;
            }
            default:
              stats.droppedOther++;
          }
        }
        const err = r.err();
        if (err !== null) throw err;
      } finally {
        r.close();
      }
    }
    flushSamples();
    await out.commit();
    await out.close();
  } catch (err) {
    await out.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }

  // Publish atomically, then drop what the checkpoint replaces.
  rmSync(stats.dir, { recursive: true, force: true });
  renameSync(tmp, stats.dir);
  fsyncDir(wal.dir);
  stats.deletedSegments = wal.deleteSegmentsThrough(to);
  for (const cp of listCheckpoints(wal.dir)) {
    if (cp.index < to && existsSync(cp.dir)) {
      rmSync(cp.dir, { recursive: true, force: true });
      stats.deletedCheckpoints++;
    }
  }
  return stats;
}

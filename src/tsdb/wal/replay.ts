/**
 * Replay: the newest checkpoint, then the segments after it, with a repair when the
 * segments are damaged (docs/format/wal.md, "Reading, corruption and repair").
 * @module
 */

import { WalReader } from './reader.js';
import { lastCheckpoint } from './segment.js';
import type { RepairResult, WAL } from './wal.js';

/** What a replay read. */
export interface ReplayResult {
  /** Index of the checkpoint read first, or -1. */
  checkpoint: number;
  /** Records passed to the callback, checkpoint included. */
  records: number;
  /** First and last segment read after the checkpoint ([-1, -1] when none). */
  segments: [number, number];
  /** Set when damage was cut off; the records after it were not replayed. */
  repair: RepairResult | null;
}

/**
 * Calls `onRecord` with every record of the log in order. The record is a view valid only
 * during the call. A corrupt checkpoint throws its CorruptionError; corrupt segments are
 * repaired through `wal.repair` (which logs one line) and replay stops at the damage.
 * Call it before the first write.
 */
export function replay(wal: WAL, onRecord: (rec: Uint8Array) => void): ReplayResult {
  const result: ReplayResult = { checkpoint: -1, records: 0, segments: [-1, -1], repair: null };
  const cp = lastCheckpoint(wal.dir);
  if (cp !== null) {
    result.checkpoint = cp.index;
    const r = new WalReader(cp.dir);
    try {
      while (r.next()) onRecord(r.record());
      const err = r.err();
      if (err !== null) throw err;
      result.records += r.records;
    } finally {
      r.close();
    }
  }
  const first = cp !== null ? cp.index + 1 : undefined;
  const r = new WalReader(wal.dir, { first });
  try {
    while (r.next()) {
      onRecord(r.record());
      const s = r.segment();
      if (result.segments[0] < 0) result.segments[0] = s;
      result.segments[1] = s;
    }
    result.records += r.records;
    const err = r.err();
    if (err !== null) result.repair = wal.repair(err);
  } finally {
    r.close();
  }
  return result;
}

/**
 * The write-ahead log: writer, reader, replay with repair, and checkpoints
 * (docs/format/wal.md).
 * @module
 */

export {
  WAL,
  type FsyncMode,
  type WalCompression,
  type WALOptions,
  type RepairResult,
} from './wal.js';
export { WalReader, WalCorruptionError, type WalReaderOptions } from './reader.js';
export { replay, type ReplayResult } from './replay.js';
export { checkpoint, type CheckpointStats } from './checkpoint.js';
export {
  PAGE_SIZE,
  FRAGMENT_HEADER_SIZE,
  DEFAULT_SEGMENT_SIZE,
  segmentName,
  segmentPath,
  listSegments,
  listCheckpoints,
  lastCheckpoint,
} from './segment.js';

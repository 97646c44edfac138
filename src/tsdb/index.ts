/**
 * The TSDB's public surface for `cmd/` and `web/`: the database, its options and the
 * helpers the command line needs (retention flag parsers, block listing).
 * @module
 */

export {
  DB,
  DEFAULT_BLOCK_CHUNK_SAMPLES,
  LOCK_FILENAME,
  openDB,
  type DBOptions,
  type OpenStats,
} from './db.js';
export { Block, BlockSet, listBlockDirs, openBlocks } from './block.js';
export { DEFAULT_BLOCK_RANGES_MS, exponentialBlockRanges, type CompactOptions } from './compact.js';
export { DEFAULT_CHUNK_RANGE_MS, Head, type HeadMetric } from './head.js';
export type { BlockMeta } from './meta.js';
export { DEFAULT_RETENTION_MS, parseRetentionDuration, parseRetentionSize } from './retention.js';

/**
 * Retention, as Prometheus's `tsdb/db.go`: whole blocks are deleted, oldest first, when
 * they fall out of the time retention (`--storage.tsdb.retention.time`, measured from
 * the newest block's end) or when the blocks together exceed the size retention
 * (`--storage.tsdb.retention.size`). Deletions of single series are tombstones
 * ({@link Block.delete}); {@link cleanTombstones} rewrites a block without them.
 * @module
 */

import { ConfigError } from '../model/errors.js';
import { deleteBlockDir, type Block } from './block.js';
import { compactBlocks } from './compact.js';
import type { BlockMeta } from './meta.js';

/** Prometheus's default time retention: 15 days. */
export const DEFAULT_RETENTION_MS = 15 * 24 * 3_600_000;

/** Retention settings; 0 disables a limit. */
export interface RetentionOptions {
  /** Keep blocks whose end is within this many ms of the newest block's end. */
  retentionMs: number;
  /** Keep the newest blocks whose sizes add up to at most this (plus `extraBytes`). */
  retentionBytes: number;
  /** Bytes counted before the first block (the WAL and head chunks, as Prometheus). */
  extraBytes?: number;
}

/**
 * The ULIDs of blocks to delete. Blocks are taken newest first (by maxTime); once one is
 * beyond a limit, it and every older block go.
 */
export function blocksBeyondRetention(
  blocks: readonly Block[],
  opts: RetentionOptions,
): Set<string> {
  const out = new Set<string>();
  if (blocks.length === 0) return out;
  const byAge = [...blocks].sort((a, b) => b.maxTime - a.maxTime);
  if (opts.retentionMs > 0) {
    for (let i = 1; i < byAge.length; i++) {
      if (byAge[0].maxTime - byAge[i].maxTime > opts.retentionMs) {
        for (const b of byAge.slice(i)) out.add(b.ulid);
        break;
      }
    }
  }
  if (opts.retentionBytes > 0) {
    let size = opts.extraBytes ?? 0;
    for (let i = 0; i < byAge.length; i++) {
      size += byAge[i].size();
      if (size > opts.retentionBytes) {
        for (const b of byAge.slice(i)) out.add(b.ulid);
        break;
      }
    }
  }
  return out;
}

/**
 * Closes and deletes the blocks beyond retention; returns those kept (same order) and the
 * ULIDs deleted.
 */
export function applyRetention(
  blocks: readonly Block[],
  opts: RetentionOptions,
): { kept: Block[]; deleted: string[] } {
  const doomed = blocksBeyondRetention(blocks, opts);
  const kept: Block[] = [];
  const deleted: string[] = [];
  for (const b of blocks) {
    if (!doomed.has(b.ulid)) {
      kept.push(b);
      continue;
    }
    b.close();
    deleteBlockDir(b.dir);
    deleted.push(b.ulid);
  }
  return { kept, deleted };
}

/**
 * Rewrites a block without its tombstoned samples (the admin API's clean_tombstones):
 * writes the new block, then deletes the old one, which it closes. Returns the new meta,
 * or null when nothing was to clean or every sample was deleted (the block is then gone).
 * The new block keeps the old one's level and sources; its parent is the old block.
 */
export function cleanTombstones(dataDir: string, block: Block): BlockMeta | null {
  if (block.tombstones.size === 0) return null;
  const meta = compactBlocks(dataDir, [block]);
  block.close();
  deleteBlockDir(block.dir);
  return meta;
}

const DURATION_UNITS: Record<string, number> = {
  y: 365 * 86_400_000,
  w: 7 * 86_400_000,
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};

/** Parses a Prometheus duration (`15d`, `1h30m`, `500ms`, `0`) into ms. */
export function parseRetentionDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+)(ms|y|w|d|h|m|s)/gy;
  let total = 0;
  let last = '';
  let m: RegExpExecArray | null;
  let end = 0;
  const order = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];
  while ((m = re.exec(s)) !== null) {
    if (last !== '' && order.indexOf(m[2]) <= order.indexOf(last)) break;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    last = m[2];
    end = re.lastIndex;
  }
  if (s === '' || end !== s.length)
    throw new ConfigError(`invalid duration ${JSON.stringify(s)}: want e.g. 15d, 12h or 1h30m`);
  return total;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
  P: 2 ** 50,
  E: 2 ** 60,
};

/** Parses a Prometheus size (`512MB`, `10GiB`, `0`; units are powers of 1024) into bytes. */
export function parseRetentionSize(s: string): number {
  if (s === '0') return 0;
  const m = /^(\d+)(|K|M|G|T|P|E)i?B$/.exec(s);
  if (m === null)
    throw new ConfigError(`invalid size ${JSON.stringify(s)}: want e.g. 512MB or 10GB`);
  return Number(m[1]) * SIZE_UNITS[m[2]];
}

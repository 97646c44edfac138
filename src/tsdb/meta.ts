/**
 * Block metadata (`meta.json`, docs/format/meta.md) and ULIDs, the names of blocks.
 * @module
 */

import { randomFillSync } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptionError, StorageError } from '../model/errors.js';

/** Name of the metadata file inside a block directory. */
export const META_FILENAME = 'meta.json';
/** The meta.json format version. */
export const META_VERSION_1 = 1;

/** Counts of what a block holds. Zero members are omitted from the JSON, as Go's omitempty. */
export interface BlockStats {
  numSamples?: number;
  numSeries?: number;
  numChunks?: number;
  numTombstones?: number;
}

/** One direct input of a merged block. */
export interface BlockDesc {
  ulid: string;
  minTime: number;
  maxTime: number;
}

/** How a block came to be. */
export interface BlockMetaCompaction {
  level: number;
  sources?: string[];
  deletable?: boolean;
  parents?: BlockDesc[];
  failed?: boolean;
}

/** The contents of meta.json. `minTime` is inclusive, `maxTime` exclusive (ms). */
export interface BlockMeta {
  ulid: string;
  minTime: number;
  maxTime: number;
  stats: BlockStats;
  compaction: BlockMetaCompaction;
  version: number;
}

/** Reads and checks `<dir>/meta.json`. */
export function readMeta(dir: string): BlockMeta {
  const path = join(dir, META_FILENAME);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new StorageError('ERR_META', `cannot read ${path}`, { cause: err });
  }
  let m: BlockMeta;
  try {
    m = JSON.parse(text) as BlockMeta;
  } catch (err) {
    throw new CorruptionError(path, 0, 'meta.json is not JSON', { cause: err });
  }
  if (m.version !== META_VERSION_1)
    throw new CorruptionError(path, 0, `unsupported meta.json version ${m.version}, want 1`);
  if (!isULID(m.ulid)) throw new CorruptionError(path, 0, `bad ulid ${JSON.stringify(m.ulid)}`);
  if (typeof m.minTime !== 'number' || typeof m.maxTime !== 'number')
    throw new CorruptionError(path, 0, 'minTime and maxTime must be numbers');
  m.stats ??= {};
  m.compaction ??= { level: 1 };
  return m;
}

/** The JSON text of a meta, laid out as Prometheus writes it (tabs, Go field order). */
export function encodeMeta(m: BlockMeta): string {
  const stats: BlockStats = {};
  if (m.stats.numSamples) stats.numSamples = m.stats.numSamples;
  if (m.stats.numSeries) stats.numSeries = m.stats.numSeries;
  if (m.stats.numChunks) stats.numChunks = m.stats.numChunks;
  if (m.stats.numTombstones) stats.numTombstones = m.stats.numTombstones;
  const c: BlockMetaCompaction = { level: m.compaction.level };
  if (m.compaction.sources?.length) c.sources = m.compaction.sources;
  if (m.compaction.deletable) c.deletable = true;
  if (m.compaction.parents?.length) {
    c.parents = m.compaction.parents.map((p) => ({
      ulid: p.ulid,
      minTime: p.minTime,
      maxTime: p.maxTime,
    }));
  }
  if (m.compaction.failed) c.failed = true;
  const out = {
    ulid: m.ulid,
    minTime: m.minTime,
    maxTime: m.maxTime,
    stats,
    compaction: c,
    version: m.version,
  };
  return JSON.stringify(out, null, '\t');
}

/** Writes `<dir>/meta.json` and fsyncs it (the directory is the caller's to sync). */
export function writeMeta(dir: string, m: BlockMeta): void {
  const fd = openSync(join(dir, META_FILENAME), 'w');
  try {
    writeSync(fd, encodeMeta(m));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < CROCKFORD.length; i++) {
  DECODE[CROCKFORD.charCodeAt(i)] = i;
  DECODE[CROCKFORD.toLowerCase().charCodeAt(i)] = i;
}

let lastUlidMs = -1;
const lastRandom = new Uint8Array(10);

/**
 * A new ULID for time `ms`: 48-bit time then 80 random bits, in Crockford base32.
 * Within one millisecond the random part is incremented, so ULIDs made in order sort
 * in order (the monotonic variant).
 */
export function newULID(ms: number = Date.now()): string {
  if (!Number.isInteger(ms) || ms < 0 || ms >= 2 ** 48)
    throw new StorageError('ERR_ULID', `ulid time ${ms} outside [0, 2^48)`);
  if (ms === lastUlidMs) {
    let i = 9;
    while (i >= 0 && lastRandom[i] === 0xff) lastRandom[i--] = 0;
    if (i >= 0) lastRandom[i]++;
  } else {
    randomFillSync(lastRandom);
    lastUlidMs = ms;
  }
  let s = '';
  let t = ms;
  const time = new Array<string>(10);
  for (let i = 9; i >= 0; i--) {
    time[i] = CROCKFORD[t % 32];
    t = Math.floor(t / 32);
  }
  s = time.join('');
  // 80 bits = 16 characters of 5 bits, most significant first.
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    acc = (acc << 8) | lastRandom[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      s += CROCKFORD[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return s;
}

/** Reports whether `s` is a well-formed ULID (26 Crockford characters, first at most '7'). */
export function isULID(s: unknown): s is string {
  if (typeof s !== 'string' || s.length !== 26) return false;
  for (let i = 0; i < 26; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || DECODE[c] < 0) return false;
  }
  return DECODE[s.charCodeAt(0)] <= 7;
}

/** The millisecond timestamp of a ULID. */
export function ulidTime(s: string): number {
  let t = 0;
  for (let i = 0; i < 10; i++) t = t * 32 + DECODE[s.charCodeAt(i)];
  return t;
}

/**
 * Layout constants of the WAL and the names of its files (docs/format/wal.md): segments
 * `00000000`, `00000001`, … and checkpoints `checkpoint.NNNNNNNN/` in one folder.
 * @module
 */

import { closeSync, fsyncSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptionError } from '../../model/errors.js';

/** Size of a page: fragments never cross a page boundary. */
export const PAGE_SIZE = 32 * 1024;
/** Bytes of a fragment header: type, length, CRC32C. */
export const FRAGMENT_HEADER_SIZE = 7;
/** Default largest size of a segment file. */
export const DEFAULT_SEGMENT_SIZE = 128 * 1024 * 1024;

/** Fragment types: the low three bits of the header's type byte. */
export const FragmentType = {
  /** Zero padding up to the end of the page. */
  PageTerm: 0,
  Full: 1,
  First: 2,
  Middle: 3,
  Last: 4,
} as const;
export type FragmentType = (typeof FragmentType)[keyof typeof FragmentType];

/** Type-byte bit of a record compressed with Snappy's block format (Prometheus 2.x). */
export const SNAPPY_FLAG = 0x08;
/** Type-byte bit of a zstd-compressed record (Prometheus 2.45+; not supported). */
export const ZSTD_FLAG = 0x10;
/** Type-byte bits that mark a Snappy or zstd compressed record. */
export const COMPRESSION_MASK = SNAPPY_FLAG | ZSTD_FLAG;
/** Mask of the fragment type in the type byte. */
export const FRAGMENT_TYPE_MASK = 0x07;

const CHECKPOINT_PREFIX = 'checkpoint.';

/** The file name of segment `i`: eight decimal digits. */
export function segmentName(i: number): string {
  return String(i).padStart(8, '0');
}

/** The path of segment `i` in `dir`. */
export function segmentPath(dir: string, i: number): string {
  return join(dir, segmentName(i));
}

/** The folder name of the checkpoint covering segments up to `i`. */
export function checkpointName(i: number): string {
  return CHECKPOINT_PREFIX + segmentName(i);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * The indexes of the segment files in `dir`, ascending. Throws a CorruptionError when
 * they are not consecutive: a gap would replay later writes without earlier ones.
 */
export function listSegments(dir: string): number[] {
  const out: number[] = [];
  for (const name of listDir(dir)) {
    if (/^\d{8,}$/.test(name)) out.push(Number(name));
  }
  out.sort((a, b) => a - b);
  for (let i = 1; i < out.length; i++) {
    if (out[i] !== out[i - 1] + 1) {
      throw new CorruptionError(
        segmentPath(dir, out[i - 1] + 1),
        0,
        `segment missing: found ${segmentName(out[i - 1])} then ${segmentName(out[i])}`,
      );
    }
  }
  return out;
}

/** A checkpoint folder found in the WAL folder. */
export interface CheckpointRef {
  /** Last segment the checkpoint covers. */
  index: number;
  /** Path of the folder. */
  dir: string;
}

/** Finished checkpoints in `dir` (not `.tmp` ones), ascending by index. */
export function listCheckpoints(dir: string): CheckpointRef[] {
  const out: CheckpointRef[] = [];
  for (const name of listDir(dir)) {
    const m = /^checkpoint\.(\d{8,})$/.exec(name);
    if (m) out.push({ index: Number(m[1]), dir: join(dir, name) });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** The newest checkpoint in `dir`, or null. */
export function lastCheckpoint(dir: string): CheckpointRef | null {
  const all = listCheckpoints(dir);
  return all.length > 0 ? all[all.length - 1] : null;
}

/** Fsyncs a folder, so that files created or renamed in it survive a power loss. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

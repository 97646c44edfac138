/**
 * The kernel page size, for converting /proc/self/stat's rss (in pages) to bytes.
 * @module
 */

import { readFileSync } from 'node:fs';

let cached = 0;

/** The page size in bytes: from /proc/self/smaps_rollup's KernelPageSize, else 4096. */
export function pageSize(): number {
  if (cached > 0) return cached;
  cached = 4096;
  try {
    const m = /KernelPageSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps', 'latin1').slice(0, 4096));
    if (m) cached = Number(m[1]) * 1024;
  } catch {
    // keep 4096
  }
  return cached;
}

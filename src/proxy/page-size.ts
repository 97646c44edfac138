/**
 * The kernel page size, for converting /proc/self/stat's rss (in pages) to bytes.
 * @module
 */

import { closeSync, openSync, readSync } from 'node:fs';

let cached = 0;

/**
 * The page size in bytes: the first `KernelPageSize` of /proc/self/smaps (only its first
 * 4 KiB are read; the file can be large), else 4096.
 */
export function pageSize(): number {
  if (cached > 0) return cached;
  cached = 4096;
  try {
    const fd = openSync('/proc/self/smaps', 'r');
    try {
      const buf = Buffer.alloc(4096);
      const n = readSync(fd, buf, 0, buf.length, null);
      const m = /KernelPageSize:\s+(\d+) kB/.exec(buf.toString('latin1', 0, n));
      if (m) cached = Number(m[1]) * 1024;
    } finally {
      closeSync(fd);
    }
  } catch {
    // not Linux: keep 4096
  }
  return cached;
}

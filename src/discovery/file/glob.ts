/**
 * The file-name globs of `file_sd_configs`: wildcards only in the last path element,
 * as Prometheus's file discovery allows (`*` and `?`, matched like Go's filepath.Match).
 * @module
 */

import { readdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';

/** True when `name` (one path element) matches `pattern`. */
export function matchElement(pattern: string, name: string): boolean {
  let re = '^';
  for (const ch of pattern) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[\\^$.|+(){}[\]]/g, '\\$&');
  }
  return new RegExp(re + '$', 's').test(name);
}

/** True when the last element of `pattern` holds a wildcard. */
export function hasWildcard(pattern: string): boolean {
  return /[*?]/.test(basename(pattern));
}

/**
 * Expands `pattern` (relative patterns against `baseDir`) into the sorted list of
 * existing paths. A missing directory gives an empty list, as Go's Glob does.
 */
export async function globFiles(pattern: string, baseDir = '.'): Promise<string[]> {
  const full = isAbsolute(pattern) ? pattern : join(baseDir, pattern);
  const dir = dirname(full);
  const elem = basename(full);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  if (!hasWildcard(elem)) return names.includes(elem) ? [full] : [];
  return names
    .filter((n) => matchElement(elem, n))
    .sort()
    .map((n) => join(dir, n));
}

/**
 * Finding the peer programs (promtool, prometheus, victoria-metrics) that interop tests
 * start. A missing peer skips the test, unless MESHMETRICS_REQUIRE_PEERS=1 (set by
 * .ci/run), which turns the skip into a failure so CI can never pass by skipping.
 * @module
 */

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** Full path of `program` on PATH (or in /usr/bin, /usr/sbin), or null. */
export function findProgram(program: string): string | null {
  const dirs = (process.env.PATH ?? '')
    .split(delimiter)
    .concat(['/usr/bin', '/usr/sbin', '/usr/local/bin']);
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, program);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** True when missing peers must fail tests instead of skipping them. */
export const PEERS_REQUIRED = process.env.MESHMETRICS_REQUIRE_PEERS === '1';

/**
 * Returns the path of `program`, or skips the test (returns null) when it is missing.
 * With MESHMETRICS_REQUIRE_PEERS=1 a missing program throws instead.
 */
export function requirePeer(t: TestContext, program: string, debianPackage: string): string | null {
  const p = findProgram(program);
  if (p) return p;
  const why = `${program} not found (Debian package ${debianPackage})`;
  if (PEERS_REQUIRED) throw new Error(`${why}, and MESHMETRICS_REQUIRE_PEERS=1`);
  t.skip(why);
  return null;
}

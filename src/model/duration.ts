/**
 * Durations as Prometheus writes them (`model.ParseDuration`, `model.Duration.String`):
 * `1y2w3d4h5m6s7ms`, units in that order, integers only, and a bare `0`.
 * @module
 */

const UNIT_MS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 24 * 3600 * 1000],
  ['w', 7 * 24 * 3600 * 1000],
  ['d', 24 * 3600 * 1000],
  ['h', 3600 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
];

// The same pattern as prometheus/common model.durationRE.
const DURATION_RE =
  /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/**
 * Parses a Prometheus duration into milliseconds, or returns null when `s` is not one.
 * Like Prometheus it rejects the empty string, fractions and values past int64 nanoseconds.
 */
export function parseDuration(s: string): number | null {
  if (s === '0') return 0;
  if (s === '') return null;
  const m = DURATION_RE.exec(s);
  if (!m) return null;
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = m[i + 1];
    if (part !== undefined) ms += Number(part) * UNIT_MS[i][1];
  }
  // Go stores durations as int64 nanoseconds; larger values overflow there.
  if (ms * 1e6 > 2 ** 63 - 1) return null;
  return ms;
}

/** Formats milliseconds the way Prometheus prints a duration (`1m30s`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNIT_MS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

/**
 * How the dashboard writes numbers: the same precision as `meshmetrics stat` (success with two
 * decimals, RPS with one, latency in whole ms), and '-' where there is no data.
 */

/** The placeholder for a missing figure, as `stat` prints it. */
export const NO_DATA = '-';

/** `0.9912` → `99.12%`. */
export function formatPercent(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NO_DATA;
  return `${(v * 100).toFixed(digits)}%`;
}

/** Requests per second with one decimal (three significant digits below 1). */
export function formatRps(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NO_DATA;
  if (v !== 0 && Math.abs(v) < 1) return `${+v.toPrecision(2)}`;
  return v.toFixed(1);
}

/** Milliseconds: whole below 10 s, seconds with one decimal above. */
export function formatMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NO_DATA;
  if (Math.abs(v) >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (Math.abs(v) < 10 && v !== Math.round(v)) return `${+v.toFixed(1)} ms`;
  return `${Math.round(v)} ms`;
}

/** A count, with thin grouping. */
export function formatCount(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NO_DATA;
  return Math.round(v).toLocaleString('en-US');
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** Bytes in binary units: `1.5 KiB`. */
export function formatBytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NO_DATA;
  let x = Math.abs(v);
  let u = 0;
  while (x >= 1024 && u < BYTE_UNITS.length - 1) {
    x /= 1024;
    u++;
  }
  const sign = v < 0 ? '-' : '';
  return `${sign}${u === 0 ? Math.round(x) : x.toFixed(x < 10 ? 1 : 0)} ${BYTE_UNITS[u]}`;
}

/** A duration in seconds as `7ms`, `1.2s`, `3m 4s`. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return NO_DATA;
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${+s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** How long ago a time was, relative to `nowMs`: `3s ago`, `never` for Prometheus's zero time. */
export function formatAgo(iso: string, nowMs: number): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t) || t <= 0) return 'never';
  const s = Math.max(0, (nowMs - t) / 1000);
  if (s < 1) return 'just now';
  return `${formatSeconds(Math.round(s))} ago`;
}

/** A workload's health from its success rate (`idle` without traffic). */
export type Health = 'good' | 'warn' | 'bad' | 'idle';

/** Success-rate thresholds: at least 99 % is good, at least 95 % a warning, below that bad. */
export const HEALTH_THRESHOLDS = { good: 0.99, warn: 0.95 } as const;

export function healthOf(success: number | null | undefined): Health {
  if (success === null || success === undefined || !Number.isFinite(success)) return 'idle';
  if (success >= HEALTH_THRESHOLDS.good) return 'good';
  if (success >= HEALTH_THRESHOLDS.warn) return 'warn';
  return 'bad';
}

/** The words of each health, for titles and screen readers. */
export const HEALTH_TEXT: Record<Health, string> = {
  good: 'healthy (success ≥ 99%)',
  warn: 'degraded (success 95–99%)',
  bad: 'failing (success < 95%)',
  idle: 'no traffic',
};

/** One word per health, for cards. */
export const HEALTH_WORD: Record<Health, string> = {
  good: 'healthy',
  warn: 'degraded',
  bad: 'failing',
  idle: 'no traffic',
};

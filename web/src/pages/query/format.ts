/**
 * Pure helpers of the query explorer: series names in PromQL's `name{a="b"}` form, the
 * durations of the range picker, the automatic step, and the matrix → chart columns.
 */
/** `name{a="b", c="d"}`, as Prometheus prints a series; `{}` for a series with no labels. */
export function seriesName(metric: Record<string, string>): string {
  const name = metric.__name__ ?? '';
  const labels = Object.entries(metric)
    .filter(([k]) => k !== '__name__')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return labels.length === 0 && name !== '' ? name : `${name}{${labels.join(', ')}}`;
}

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/**
 * A Prometheus duration (`5m`, `1h30m`, `90s`) or a plain number of seconds, in ms;
 * undefined when the text is neither.
 */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
  const re = /(\d+)(ms|[smhdwy])/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s)) !== null) {
    total += parseInt(m[1]!, 10) * UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  return end === s.length && total > 0 ? total : undefined;
}

/** The shortest Prometheus duration for `ms` (`1h30m`, `15s`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

/** The graph's range choices, as in Prometheus's UI. */
export const RANGES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '7d'];

/** About this many points per series when the step is automatic. */
export const AUTO_POINTS = 250;

/** The automatic step for a range, in seconds: about 250 points, at least 1 s, rounded. */
export function autoStepSeconds(rangeMs: number): number {
  const raw = rangeMs / 1000 / AUTO_POINTS;
  if (raw <= 1) return 1;
  // Round to a number a person would pick: 1, 2, 5, 10, 15, 30, 60 ...
  const nice = [1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 21600];
  return nice.find((n) => n >= raw) ?? Math.ceil(raw / 3600) * 3600;
}

/**
 * A range query's result as chart columns: one time axis from `startS` to `endS` by `stepS`
 * (the steps the API evaluated), and per series one value per step, null where it has none
 * or where the value is not finite.
 */
export function matrixColumns(
  series: readonly { values: [number, string][] }[],
  startS: number,
  endS: number,
  stepS: number,
): { times: number[]; values: (number | null)[][] } {
  const n = Math.floor((endS - startS) / stepS + 1e-9) + 1;
  const times = new Array<number>(n);
  for (let i = 0; i < n; i++) times[i] = startS + i * stepS;
  const values = series.map((s) => {
    const col = new Array<number | null>(n).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((t - startS) / stepS);
      const x = Number(v);
      // NaN and ±Inf (`"NaN"`, `"+Inf"`) cannot be drawn: they are gaps, as in Prometheus's graph.
      if (i >= 0 && i < n && Number.isFinite(x)) col[i] = x;
    }
    return col;
  });
  return { times, values };
}

/** `2026-11-27 15:04:05` in local time, for the evaluation-time and end-time fields. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * The inverse of `toLocalInput` (seconds optional, `T` accepted), or Unix seconds; undefined
 * for anything else.
 */
export function fromLocalInput(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return parseFloat(s) * 1000;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1).map((x) => parseInt(x ?? '0', 10)) as number[];
  const ms = new Date(y!, mo! - 1, d, h, mi, sec).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

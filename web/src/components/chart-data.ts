/**
 * Turns `query_range` answers into the columns `Chart` draws: one time axis from start to end
 * by step, and one array per series with null where the answer has no point (a gap).
 */
import type { MatrixSeries } from '../api.js';
import type { ChartSeries } from './chart.js';

/** The time axis of a range query, in seconds. */
export function timeAxis(startSeconds: number, endSeconds: number, stepSeconds: number): number[] {
  const times: number[] = [];
  for (let t = startSeconds; t <= endSeconds + 1e-9; t += stepSeconds) times.push(t);
  return times;
}

/** The series of one matrix answer on `times`, each named by `label`. */
export function alignMatrix(
  series: MatrixSeries[],
  times: number[],
  stepSeconds: number,
  label: (metric: Record<string, string>) => string,
): ChartSeries[] {
  const t0 = times[0] ?? 0;
  return series.map((s) => {
    const values: (number | null)[] = new Array<number | null>(times.length).fill(null);
    for (const [t, v] of s.values) {
      const i = Math.round((t - t0) / stepSeconds);
      const x = Number(v);
      if (i >= 0 && i < values.length && Number.isFinite(x)) values[i] = x;
    }
    return { label: label(s.metric), values };
  });
}

/** A chart's y range: [0, max] for quantities that start at zero, with headroom. */
export function zeroBased(series: ChartSeries[]): [number, number] {
  let hi = 0;
  for (const s of series) for (const v of s.values) if (v !== null && v > hi) hi = v;
  return [0, hi > 0 ? hi * 1.1 : 1];
}

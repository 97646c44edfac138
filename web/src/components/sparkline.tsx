/**
 * A tiny line of the last hour in a table cell: plain SVG, cheap enough for hundreds of rows
 * (uPlot would build a canvas and a legend for each). Gaps (missing points) break the line.
 */

export interface SparklineProps {
  /** Values at equal steps; null where there is no sample. */
  values: (number | null)[];
  width?: number;
  height?: number;
  /** Fixed value range, e.g. [0, 1] for a success rate; by default it fits the data. */
  range?: [number, number];
  /** CSS class for colour (`good`, `warn`, `bad`, `idle`). */
  tone?: string;
  /** Tooltip text. */
  title?: string;
}

export function Sparkline({
  values,
  width = 120,
  height = 24,
  range,
  tone,
  title,
}: SparklineProps) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (range) [lo, hi] = [Math.min(range[0], lo), Math.max(range[1], hi)];
  if (lo === Infinity) {
    return (
      <svg class="sparkline empty" width={width} height={height} role="img" aria-label="no data">
        <line x1={0} x2={width} y1={height - 1} y2={height - 1} />
      </svg>
    );
  }
  if (hi === lo) {
    hi = lo + 1;
    lo = lo - (range ? 0 : 1);
  }
  const pad = 2;
  const dx = values.length > 1 ? width / (values.length - 1) : 0;
  const y = (v: number) => pad + (height - 2 * pad) * (1 - (v - lo) / (hi - lo));
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${(i * dx).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  let last = values.length - 1;
  while (last >= 0 && values[last] === null) last--;
  return (
    <svg
      class={`sparkline ${tone ?? ''}`}
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={title ?? 'trend'}
    >
      {title ? <title>{title}</title> : null}
      <path d={d} />
      {last >= 0 ? <circle cx={last * dx} cy={y(values[last]!)} r={2} /> : null}
    </svg>
  );
}

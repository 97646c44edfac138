/**
 * A time-series chart on uPlot (canvas, fast with thousands of points and hundreds of series).
 * Data is column-oriented, as uPlot wants it: one shared time axis in seconds, and one array of
 * values per series with `null` for gaps. The chart follows its container's width.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  /** One value per timestamp of `ChartProps.times`; null where the series has no sample. */
  values: (number | null)[];
  color?: string;
}

export interface ChartProps {
  /** Timestamps in seconds, ascending. */
  times: number[];
  series: ChartSeries[];
  height?: number;
  /** Stack the series (areas summed from the bottom). */
  stacked?: boolean;
  /** Formats an axis and legend value, e.g. as a percentage or with a unit. */
  format?: (v: number) => string;
  /** Fixed y range, e.g. [0, 1] for ratios; by default it fits the data. */
  yRange?: [number, number];
}

const PALETTE = [
  '#3b82f6',
  '#ef4444',
  '#10b981',
  '#f59e0b',
  '#8b5cf6',
  '#ec4899',
  '#14b8a6',
  '#f97316',
  '#6366f1',
  '#84cc16',
  '#06b6d4',
  '#a855f7',
];

/** The colour of the i-th series, stable across redraws. */
export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/** Sums series bottom-up for a stacked chart (nulls count as 0 below a present value). */
function stack(series: ChartSeries[]): (number | null)[][] {
  const acc: number[] = [];
  return series.map((s) =>
    s.values.map((v, i) => {
      if (v === null) return null;
      acc[i] = (acc[i] ?? 0) + v;
      return acc[i]!;
    }),
  );
}

export function Chart({
  times,
  series,
  height = 220,
  stacked = false,
  format,
  yRange,
}: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The shape the current plot was built for; a refresh with the same shape only swaps data,
  // so the chart does not flicker.
  const shape = useRef('');

  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const values = stacked ? stack(series) : series.map((s) => s.values);
    const data = [times, ...values] as uPlot.AlignedData;
    const newShape = JSON.stringify([series.map((s) => s.label), stacked, height, yRange]);
    if (plot.current !== null && shape.current === newShape) {
      plot.current.setData(data);
      return;
    }
    shape.current = newShape;
    const fmt = format ?? ((v: number) => String(+v.toPrecision(4)));
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      series: [
        {},
        ...series.map((s, i) => {
          const color = s.color ?? seriesColor(i);
          return {
            label: s.label,
            stroke: color,
            fill: stacked ? color + '55' : undefined,
            width: 1.5,
            spanGaps: false,
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : fmt(v)),
          };
        }),
      ],
      axes: [
        {},
        {
          values: (_u, ticks) => ticks.map(fmt),
          // Wide enough for the longest tick label ("1.5 KiB/s", "99.5%").
          size: (_u, values) =>
            values ? 18 + 7 * Math.max(3, ...values.map((v) => String(v).length)) : 48,
        },
      ],
      scales: yRange ? { y: { range: yRange } } : {},
      legend: { show: series.length <= 12 },
      cursor: { drag: { x: true, y: false } },
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, data, el);
  }, [times, series, height, stacked, format, yRange]);

  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [height]);

  return <div class="chart" ref={host} />;
}

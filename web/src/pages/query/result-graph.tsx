/**
 * The Graph tab: a range query's series on one uPlot canvas, lines or stacked areas, with a
 * legend below that shows each series' value under the cursor; a click on a legend entry
 * shows that series alone, a second click shows them all again.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MatrixSeries } from '../../api.js';
import { seriesColor } from '../../components/chart.js';
import { matrixColumns } from './format.js';
import { SeriesLabel } from './result-table.js';

/** Series beyond this are not drawn; a note says so. */
export const MAX_GRAPH_SERIES = 100;

export interface ResultGraphProps {
  series: MatrixSeries[];
  startS: number;
  endS: number;
  stepS: number;
  stacked: boolean;
}

/** Sums columns bottom-up for stacked areas; a gap stays a gap. */
function stackColumns(cols: (number | null)[][]): (number | null)[][] {
  const acc: number[] = [];
  return cols.map((c) =>
    c.map((v, i) => {
      if (v === null) return null;
      acc[i] = (acc[i] ?? 0) + v;
      return acc[i]!;
    }),
  );
}

function lastValue(col: (number | null)[]): number | null {
  for (let i = col.length - 1; i >= 0; i--) if (col[i] !== null) return col[i]!;
  return null;
}

function formatNumber(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
  return String(+v.toPrecision(4));
}

export function ResultGraph({ series, startS, endS, stepS, stacked }: ResultGraphProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [cursorIdx, setCursorIdx] = useState<number | null>(null);
  const [only, setOnly] = useState<number | null>(null);

  const drawn = series.slice(0, MAX_GRAPH_SERIES);
  const cols = useMemo(
    () => matrixColumns(drawn, startS, endS, stepS),
    [series, startS, endS, stepS],
  );

  useEffect(() => {
    setOnly(null);
  }, [series]);

  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const sparse = cols.values.map((c) => c.length < 60 || c.filter((v) => v !== null).length < 30);
    const visible = cols.values.map((c, i) =>
      only === null || only === i ? c : c.map(() => null),
    );
    const values = stacked ? stackColumns(visible) : visible;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 300),
      height: 360,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      series: [
        {},
        ...drawn.map((_, i) => ({
          stroke: seriesColor(i),
          fill: stacked ? seriesColor(i) + '40' : undefined,
          width: 1.5,
          // Isolated samples (a new series, a short range) are invisible as lines: mark them.
          points: { show: sparse[i]! },
        })),
      ],
      axes: [
        { stroke: '#6b7280', grid: { stroke: '#f1f2f4' } },
        {
          stroke: '#6b7280',
          grid: { stroke: '#f1f2f4' },
          size: 64,
          values: (_u, ticks) => ticks.map(formatNumber),
        },
      ],
      scales: { x: { time: true, range: [startS, endS] } },
      hooks: { setCursor: [(u) => setCursorIdx(u.cursor.idx ?? null)] },
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, [cols.times, ...values] as uPlot.AlignedData, el);
  }, [cols, stacked, only]);

  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const ro = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(el.clientWidth, 300), height: 360 }),
    );
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  const at = cursorIdx === null ? null : cols.times[cursorIdx];
  return (
    <div class="q-graph">
      {series.length > drawn.length && (
        <div class="q-note">
          The query returned {series.length} series; the graph shows the first {drawn.length}.
          Narrow the query (a label matcher, <code>topk</code>, or an aggregation) to see the rest.
        </div>
      )}
      <div class="q-canvas" ref={host} data-testid="query-graph" />
      <div class="q-legend-head">
        {at === undefined || at === null
          ? 'Last values · hover over the graph to read others · click a series to show it alone'
          : `Values at ${new Date(at * 1000).toLocaleString()}`}
      </div>
      <ul class="q-legend">
        {drawn.map((s, i) => {
          const col = cols.values[i]!;
          const v = cursorIdx === null ? lastValue(col) : col[cursorIdx];
          return (
            <li
              key={i}
              class={only !== null && only !== i ? 'q-dim' : ''}
              onClick={() => setOnly(only === i ? null : i)}
              title="Show this series alone (click again for all)"
            >
              <span class="q-swatch" style={{ background: seriesColor(i) }} />
              <SeriesLabel metric={s.metric} />
              {v !== null && v !== undefined && (
                <span class="q-legend-value">{formatNumber(v)}</span>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}

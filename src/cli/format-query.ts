/**
 * Printing query answers: a table of series and values, or the API's `data` as JSON.
 * @module
 */
import type { Metric, QueryResult, SamplePair } from './prom-api.js';
import { formatTable } from './table.js';

/** `name{a="x", b="y"}` with label values quoted as PromQL does, `__name__` first. */
export function formatMetric(m: Metric): string {
  const name = m.__name__ ?? '';
  const labels = Object.keys(m)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(m[k])}`);
  return labels.length ? `${name}{${labels.join(', ')}}` : name || '{}';
}

/** A sample's timestamp as RFC 3339 UTC with milliseconds. */
function formatTime(p: SamplePair): string {
  return new Date(p[0] * 1000).toISOString();
}

/** Renders a query result as a table (METRIC, VALUE, TIMESTAMP; one row per sample of a range). */
export function formatQueryTable(data: QueryResult): string {
  switch (data.resultType) {
    case 'vector':
      return formatTable(
        ['METRIC', 'VALUE', 'TIMESTAMP'],
        data.result.map((s) => [formatMetric(s.metric), s.value[1], formatTime(s.value)]),
      );
    case 'matrix': {
      const rows: string[][] = [];
      for (const s of data.result)
        for (const p of s.values) rows.push([formatMetric(s.metric), p[1], formatTime(p)]);
      return formatTable(['METRIC', 'VALUE', 'TIMESTAMP'], rows);
    }
    case 'scalar':
    case 'string':
      return formatTable(['VALUE', 'TIMESTAMP'], [[data.result[1], formatTime(data.result)]]);
  }
}

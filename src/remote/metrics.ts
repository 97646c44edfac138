/**
 * Self-metrics as plain rows the collector's /metrics can print.
 * @module
 */

/** One sample of a self-metric, with its family's type and help. */
export interface MetricRow {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  labels: Record<string, string>;
  value: number;
}

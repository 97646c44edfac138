/**
 * The scraper's own metrics, named as Prometheus names them (`prometheus_target_*`), kept
 * as plain counters and handed out as rows for the collector's `/metrics`.
 * @module
 */

/** One exposition row: a sample of a self-metric. */
export interface MetricRow {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels: Record<string, string>;
  value: number;
}

/** Counters shared by every pool and loop of a manager. */
export class ScrapeMetrics {
  /** Samples rejected as out of order. */
  sampleOutOfOrder = 0;
  /** Samples rejected as older than the head accepts. */
  sampleOutOfBounds = 0;
  /** Samples rejected for another value at the same timestamp (a line repeated in one scrape included). */
  sampleDuplicateTimestamp = 0;
  /** Scrapes that hit sample_limit. */
  exceededSampleLimit = 0;
  /** Scrapes that hit body_size_limit. */
  exceededBodySizeLimit = 0;
  /** Scrapes that hit a label limit. */
  exceededLabelLimits = 0;
  /** Pools that hit target_limit (per sync). */
  exceededTargetLimit = 0;
  /** Pool reloads (config changes) that succeeded. */
  poolReloads = 0;
  /** Pool syncs (target group updates). */
  poolSyncs = 0;
  /** Scrapes done and failed. */
  scrapes = 0;
  scrapesFailed = 0;
  /** Ticks skipped because they fired too late (an overloaded event loop; see ScrapeLoop). */
  scrapesSkippedLate = 0;
  /** Active targets per pool; set by the manager. */
  readonly poolTargets = new Map<string, number>();

  /** The metrics as rows, in a stable order. */
  rows(): MetricRow[] {
    const c = (name: string, help: string, value: number): MetricRow => ({
      name,
      help,
      type: 'counter',
      labels: {},
      value,
    });
    const rows: MetricRow[] = [
      c(
        'prometheus_target_scrapes_sample_out_of_order_total',
        'Total number of samples rejected due to not being out of the expected order.',
        this.sampleOutOfOrder,
      ),
      c(
        'prometheus_target_scrapes_sample_out_of_bounds_total',
        'Total number of samples rejected due to timestamp falling outside of the time bounds.',
        this.sampleOutOfBounds,
      ),
      c(
        'prometheus_target_scrapes_sample_duplicate_timestamp_total',
        'Total number of samples rejected due to duplicate timestamps but different values.',
        this.sampleDuplicateTimestamp,
      ),
      c(
        'prometheus_target_scrapes_exceeded_sample_limit_total',
        'Total number of scrapes that hit the sample limit and were rejected.',
        this.exceededSampleLimit,
      ),
      c(
        'prometheus_target_scrapes_exceeded_body_size_limit_total',
        'Total number of scrapes that hit the body size limit.',
        this.exceededBodySizeLimit,
      ),
      c(
        'prometheus_target_scrapes_exceeded_label_limits_total',
        'Total number of scrapes that hit a label limit (label_limit, label_name_length_limit or label_value_length_limit).',
        this.exceededLabelLimits,
      ),
      c(
        'prometheus_target_scrape_pool_exceeded_target_limit_total',
        'Total number of times scrape pools hit the target limit.',
        this.exceededTargetLimit,
      ),
      c(
        'prometheus_target_scrape_pool_reloads_total',
        'Total number of scrape pool reloads.',
        this.poolReloads,
      ),
      c(
        'prometheus_target_scrape_pool_sync_total',
        'Total number of syncs that were executed on a scrape pool.',
        this.poolSyncs,
      ),
      c('meshmetrics_target_scrapes_total', 'Total number of scrapes.', this.scrapes),
      c(
        'meshmetrics_target_scrapes_failed_total',
        'Total number of scrapes that failed (up=0).',
        this.scrapesFailed,
      ),
      c(
        'meshmetrics_target_scrapes_skipped_late_total',
        'Total number of scrapes not started because their tick fired more than half the scrape timeout late (an overloaded collector).',
        this.scrapesSkippedLate,
      ),
    ];
    rows.push({
      name: 'prometheus_target_scrape_pools_total',
      help: 'Number of scrape pools.',
      type: 'gauge',
      labels: {},
      value: this.poolTargets.size,
    });
    for (const [job, n] of [...this.poolTargets].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      rows.push({
        name: 'prometheus_target_scrape_pool_targets',
        help: 'Current number of targets in this scrape pool.',
        type: 'gauge',
        labels: { scrape_job: job },
        value: n,
      });
    }
    return rows;
  }
}

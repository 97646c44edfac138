/**
 * Counters of service discovery, named after Prometheus's own
 * (`prometheus_sd_file_read_errors_total`, `prometheus_sd_kubernetes_events_total`, …).
 * One instance is shared by a manager and its discoverers; the web layer exposes it.
 * @module
 */

/** Plain counters; read them, never reset them. */
export class DiscoveryMetrics {
  /** `prometheus_sd_file_read_errors_total`: file_sd files that failed to read or parse. */
  fileReadErrorsTotal = 0;
  /** `prometheus_sd_file_scan_duration_seconds_count`: completed file_sd refreshes. */
  fileScansTotal = 0;
  /** `prometheus_sd_kubernetes_events_total` by `event` (add, update, delete). */
  kubernetesEventsTotal: Record<'add' | 'update' | 'delete', number> = {
    add: 0,
    update: 0,
    delete: 0,
  };
  /** Failed list or watch requests to the Kubernetes API (client-go logs these). */
  kubernetesRequestErrorsTotal = 0;
  /** `prometheus_sd_received_updates_total`: updates received from discoverers. */
  receivedUpdatesTotal = 0;
  /** `prometheus_sd_updates_total`: updates sent to the subscriber. */
  updatesTotal = 0;
  /** `prometheus_sd_discovered_targets` by job, as of the last update. */
  discoveredTargets: Record<string, number> = {};
  /** Discoverers that ended with an error. */
  discovererFailuresTotal = 0;
}

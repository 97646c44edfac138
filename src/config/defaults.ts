/**
 * Every default of the configuration in one place, as Prometheus 2.42 sets them
 * (`config/config.go`, `discovery/file`, `discovery/kubernetes`). Durations are ms.
 * @module
 */

/** `global:` defaults (`DefaultGlobalConfig`). */
export const GLOBAL_DEFAULTS = {
  scrapeIntervalMs: 60_000,
  scrapeTimeoutMs: 10_000,
  evaluationIntervalMs: 60_000,
} as const;

/** Scrape-config defaults (`DefaultScrapeConfig`); interval and timeout come from `global`. */
export const SCRAPE_DEFAULTS = {
  metricsPath: '/metrics',
  scheme: 'http',
  honorLabels: false,
  honorTimestamps: true,
  /** 0 means no limit, for every limit below. */
  sampleLimit: 0,
  targetLimit: 0,
  labelLimit: 0,
  labelNameLengthLimit: 0,
  labelValueLengthLimit: 0,
  bodySizeLimitBytes: 0,
} as const;

/** HTTP client defaults (prometheus/common `DefaultHTTPClientConfig`). */
export const HTTP_CLIENT_DEFAULTS = {
  followRedirects: true,
  enableHttp2: true,
  authorizationType: 'Bearer',
} as const;

/** `file_sd_configs` defaults. */
export const FILE_SD_DEFAULTS = {
  refreshIntervalMs: 5 * 60_000,
} as const;

/** `remote_write` defaults (`DefaultRemoteWriteConfig`). */
export const REMOTE_WRITE_DEFAULTS = {
  remoteTimeoutMs: 30_000,
  sendExemplars: false,
  sendNativeHistograms: false,
} as const;

/** `remote_write[].queue_config` defaults (`DefaultQueueConfig` of 2.42). */
export const QUEUE_DEFAULTS = {
  capacity: 2500,
  maxShards: 200,
  minShards: 1,
  maxSamplesPerSend: 500,
  batchSendDeadlineMs: 5_000,
  minBackoffMs: 30,
  maxBackoffMs: 5_000,
  retryOnHttp429: false,
} as const;

/** `remote_write[].metadata_config` defaults (`DefaultMetadataConfig`). */
export const METADATA_DEFAULTS = {
  send: true,
  sendIntervalMs: 60_000,
  maxSamplesPerSend: 500,
} as const;

/** Where a pod finds its Kubernetes service account (in-cluster configuration). */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

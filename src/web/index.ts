/**
 * The web room: the Prometheus HTTP API (`/api/v1`), `/federate`, the collector's own
 * `/metrics` and the `/-/` endpoints. It reads through the storage contracts and the small
 * interfaces of interfaces.ts; `cmd/` passes the concrete objects in.
 * @module
 */
export { Api, MAX_POINTS, statusOfErrorType } from './api/v1/api.js';
export type { ApiOptions, ApiResult, BuildInfo } from './api/v1/api.js';
export { writeFederation } from './federate.js';
export type { FederateOptions, FederateStats } from './federate.js';
export {
  formatJsonTimestamp,
  formatJsonValue,
  formatRFC3339Nano,
  formatScalarTimestamp,
  formatScalarValue,
} from './format.js';
export type * from './interfaces.js';
export { MAX_TIME_MS, MIN_TIME_MS, parseDuration, parseTime } from './params.js';
export { exprString } from './promql-print.js';
export { parseMetricSelector } from './selector.js';
export { processMetrics, renderSelfMetrics } from './self-metrics.js';
export { parseListenAddress, WebServer } from './server.js';
export type { WebOptions } from './server.js';

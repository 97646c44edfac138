/**
 * The sidecar proxy: listeners, protocol detection, metric recording, admin server.
 * @module
 */
export {
  Proxy,
  DEFAULT_PROXY_OPTIONS,
  type ProxyOptions,
  type ProxyAddresses,
  type ProxyIdentity,
  type TcpRoute,
} from './proxy.js';
export { Destinations, type Destination } from './destinations.js';
export { detectProtocol, H2_PREFACE, type Detected } from './detect.js';
export {
  LATENCY_BOUNDS_MS,
  Registry,
  ScalarFamily,
  HistogramFamily,
  type Clock,
  type LabelPairs,
} from './metrics.js';
export {
  ProxyMetrics,
  TcpHandle,
  classify,
  errnoOf,
  errorKind,
  type ByteCounters,
} from './recorder.js';
export { LabelSets, splitHostPort, joinHostPort } from './labels.js';
export { isLoopback, handleAdmin, type AdminHandlers } from './admin.js';
export type { BuildInfo } from './process-metrics.js';

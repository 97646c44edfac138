/**
 * Remote write: the sender (WAL watcher, queues, shards; {@link RemoteWriteManager}) and
 * the receiver ({@link handleRemoteWrite} for `POST /api/v1/write`). Protobuf and snappy
 * are handled here by hand.
 * @module
 */

export { RemoteWriteManager, type RemoteWriteManagerOptions } from './manager.js';
export {
  QueueManager,
  backoffDelay,
  desiredShards,
  endpointKey,
  loadPosition,
  roundDepth,
  roundsInFlight,
  savePosition,
  type QueueOptions,
  type ShardLoad,
} from './queue.js';
export {
  WalWatcher,
  comparePositions,
  type SavedPosition,
  type SavedRound,
  type WalPosition,
  type WatcherSink,
} from './watcher.js';
export {
  RemoteWriteClient,
  PROTOCOL_HEADERS,
  USER_AGENT,
  parseRetryAfter,
  type SendResult,
} from './client.js';
export {
  RemoteWriteReceiver,
  RemoteWriteRejection,
  handleRemoteWrite,
  checkSeriesLabels,
  snappyDecodedLength,
  type ReceiverOptions,
} from './receiver.js';
export {
  WriteRequestEncoder,
  DecodedWriteRequest,
  METADATA_TYPES,
  decodeWriteRequest,
  encodeLabels,
  encodeMetadataRequest,
  type RemoteMetadata,
} from './protobuf.js';
export {
  MetadataSender,
  dedupMetadata,
  type MetadataSenderHooks,
  type MetadataSource,
} from './metadata.js';
export type { MetricRow } from './metrics.js';

/**
 * The YAML configuration: a Prometheus-compatible subset, validated with errors that name
 * file, line, column and key, returned as typed objects with defaults applied.
 * @module
 */
export * from './config.js';
export * from './defaults.js';
export { formatDuration, parseDuration } from '../model/duration.js';
export { parseBase2Bytes } from './units.js';
export { ConfigFileError } from './yaml-reader.js';
export { formatBase2Bytes, marshalConfig, yamlString } from './marshal.js';

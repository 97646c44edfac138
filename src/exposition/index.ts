/**
 * The exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0.
 * @module
 */
export * from './parser.js';
export * from './parser-body.js';

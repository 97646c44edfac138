/**
 * The exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0.
 * @module
 */
export * from './parser.js';
export * from './parser-body.js';
export * from './format-float.js';
export * from './writer-buffer.js';
export * from './writer.js';
export * from './negotiate.js';
export * from './lint.js';

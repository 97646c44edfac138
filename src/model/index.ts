/**
 * The data model: label sets, matchers, the stale marker and the error taxonomy.
 * @module
 */
export * from './duration.js';
export * from './errors.js';
export * from './labels.js';
export * from './matcher.js';
export * from './regex.js';
export * from './stale.js';

/**
 * Storage contracts shared by the TSDB and its users.
 * @module
 */
export * from './interface.js';
export * from './errors.js';

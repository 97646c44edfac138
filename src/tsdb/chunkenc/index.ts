/**
 * Chunk encodings: the contracts and the Gorilla XOR float chunk.
 * @module
 */
export * from './chunk.js';
export { XORChunk, XORAppender, XORIterator } from './xor.js';

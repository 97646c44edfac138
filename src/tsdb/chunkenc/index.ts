/**
 * Chunk encodings: the contracts and the Gorilla XOR float chunk.
 * @module
 */
export * from './chunk.js';
export { XORChunk, XORAppender, XORIterator, XORBulkDecoder } from './xor.js';

/**
 * The chunk contracts: a chunk is a compressed run of samples of one series, with an
 * appender to extend it and an iterator to read it back (Prometheus `tsdb/chunkenc/chunk.go`).
 * @module
 */

import type { SampleIterator } from '../../storage/interface.js';

/** Encoding byte of a chunk, as stored in chunk files: no encoding. */
export const ENCODING_NONE = 0;
/** Encoding byte of the Gorilla XOR float chunk. */
export const ENCODING_XOR = 1;

/** Most samples one chunk can count (the header is a uint16). */
export const MAX_SAMPLES_PER_CHUNK = 65535;

/** Adds samples at the end of a chunk. Timestamps must increase; the head checks that. */
export interface ChunkAppender {
  append(t: number, v: number): void;
}

/** A compressed run of samples of one series. */
export interface Chunk {
  /** The encoded bytes: a view that stays valid until the next append. */
  bytes(): Uint8Array;
  /** Number of samples the chunk holds. */
  numSamples(): number;
  /** The encoding byte (e.g. {@link ENCODING_XOR}). */
  encoding(): number;
  /** An appender positioned after the last sample. Only one appender may be used at a time. */
  appender(): ChunkAppender;
  /**
   * An iterator over the samples present now; `reuse` is reset and returned when it is an
   * iterator of the same kind, so a loop over many chunks allocates one iterator.
   */
  iterator(reuse?: SampleIterator): SampleIterator;
}

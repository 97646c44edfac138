/**
 * Sentinel errors for rejected samples. The append path throws these frozen singletons,
 * never a `new Error` per sample (capturing a stack is what costs); callers compare them
 * with `===` and count rejections by kind.
 * @module
 */

import { StorageError } from '../model/errors.js';

function sentinel(code: string, message: string): StorageError {
  const e = new StorageError(code, message);
  return Object.freeze(e);
}

/** The sample is older than the newest sample of its series. */
export const ERR_OUT_OF_ORDER_SAMPLE = sentinel('ERR_OUT_OF_ORDER_SAMPLE', 'out of order sample');
/** The sample is older than what the head still accepts. */
export const ERR_OUT_OF_BOUNDS = sentinel('ERR_OUT_OF_BOUNDS', 'out of bounds');
/** The series already has a different value at this timestamp. */
export const ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP = sentinel(
  'ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP',
  'duplicate sample for timestamp',
);
/** The label set is empty, has an empty name, or repeats a name. */
export const ERR_INVALID_SAMPLE = sentinel('ERR_INVALID_SAMPLE', 'invalid sample');
/** A series ref that the store does not know. */
export const ERR_NOT_FOUND = sentinel('ERR_NOT_FOUND', 'not found');

/**
 * Decoding a scrape response body before parsing: gzip and deflate, with a limit on the
 * decompressed size so a small compressed body cannot blow up memory.
 * @module
 */

import { gunzipSync, inflateSync } from 'node:zlib';
import { ParseError } from '../model/errors.js';

/** Default limit on a decompressed body: 256 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;

/**
 * Returns the body as plain bytes. `contentEncoding` is the response's Content-Encoding
 * header (`gzip`, `x-gzip`, `deflate`, `identity` or empty). Throws a ParseError when the
 * data is corrupt, the encoding unknown, or the result larger than `maxBytes`.
 */
export function decodeBody(
  buf: Buffer,
  contentEncoding: string | null | undefined,
  maxBytes = DEFAULT_MAX_BODY_BYTES,
): Buffer {
  const enc = (contentEncoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') {
    if (buf.length > maxBytes)
      throw new ParseError(`body is ${buf.length} bytes, over the limit of ${maxBytes}`);
    return buf;
  }
  const inflate =
    enc === 'gzip' || enc === 'x-gzip' ? gunzipSync : enc === 'deflate' ? inflateSync : null;
  if (inflate === null)
    throw new ParseError(`unsupported content encoding ${JSON.stringify(contentEncoding)}`);
  try {
    return inflate(buf, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new ParseError(`decompressed body is over the limit of ${maxBytes} bytes`, 0, 0, {
        cause: err,
      });
    }
    throw new ParseError(`cannot decompress ${enc} body: ${(err as Error).message}`, 0, 0, {
      cause: err,
    });
  }
}

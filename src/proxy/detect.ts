/**
 * Protocol detection on the first bytes of a connection, as Linkerd's proxy does: the
 * HTTP/2 connection preface, an HTTP/1 request line's method token, or anything else
 * (opaque TCP).
 * @module
 */

/** What a connection speaks, or that more bytes are needed to tell. */
export type Detected = 'h2' | 'http1' | 'tcp' | 'need-more';

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Longest method token accepted before the space (e.g. `PROPPATCH`, `MKCALENDAR`). */
const MAX_METHOD_LENGTH = 16;

/**
 * Classifies the first bytes read from a connection. HTTP/1 is a method token of upper-case
 * letters (or `-`/`_`) followed by a space; h2 is the full 24-byte preface. A prefix of
 * either asks for more bytes.
 */
export function detectProtocol(buf: Uint8Array): Detected {
  const n = buf.length;
  if (n === 0) return 'need-more';
  // The preface starts with "PRI ", which is also a method token: check it first.
  const m = Math.min(n, H2_PREFACE.length);
  let prefaceMatch = true;
  for (let i = 0; i < m; i++) {
    if (buf[i] !== H2_PREFACE[i]) {
      prefaceMatch = false;
      break;
    }
  }
  if (prefaceMatch) return n >= H2_PREFACE.length ? 'h2' : 'need-more';
  for (let i = 0; i < n && i <= MAX_METHOD_LENGTH; i++) {
    const c = buf[i];
    if (c === 0x20) return i > 0 ? 'http1' : 'tcp';
    const isToken = (c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f;
    if (!isToken) return 'tcp';
  }
  return n > MAX_METHOD_LENGTH ? 'tcp' : 'need-more';
}

/**
 * The plain-HTTP side of a scrape without Node's HTTP client: one keep-alive connection
 * per target, the request bytes built once, and the response read by the socket into one
 * shared read buffer and copied into the target's body buffer, where it is parsed in place.
 *
 * Node's client costs a request object, an incoming message, a stream and a Buffer per read
 * for every scrape. At a 10 s interval that garbage, not the parsing, was most of the
 * collector's allocation: the scrapes' young-generation collections cost as much CPU as the
 * scrapes' parsing. HTTPS targets still go through Node's client ({@link TargetFetcher}).
 *
 * {@link ResponseReader} is the HTTP/1.1 response framing (status line, headers,
 * Content-Length, chunked with extensions and trailers, or until close), fed bytes in any
 * splits; {@link PlainConnection} is the socket around it.
 * @module
 */

import { connect, type Socket } from 'node:net';

/** Longest status line and headers accepted (Go's client allows 1 MiB; a metrics endpoint sends a few hundred bytes). */
const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size line (with extensions) or trailer line. */
const MAX_LINE_BYTES = 4096;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

const HEAD = 0;
const FIXED = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_DATA_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
const DONE = 7;
const FAILED = 8;

/** Where a {@link ResponseReader} stands after it was given bytes or the end of the stream. */
export type ReadState = 'more' | 'done' | 'failed';

/**
 * Reads one HTTP/1.1 response into a growable buffer and decodes its body in place: after
 * `'done'`, the body is `buf[bodyStart, bodyEnd)`. Buffers come from `take` and grow by
 * doubling; the caller owns the buffer in {@link buf} and hands it back.
 */
export class ResponseReader {
  buf: Buffer | null = null;
  /** Bytes held in {@link buf}. */
  private len = 0;
  private phase = HEAD;
  /** Where the search for the end of the head or of a line goes on. */
  private cursor = 0;
  bodyStart = 0;
  bodyEnd = 0;
  /** Body bytes still to come: of the whole body (Content-Length) or of the current chunk. */
  private remaining = 0;
  status = 0;
  statusText = '';
  contentType = '';
  contentEncoding = '';
  /** Whether the connection may carry the next request once this response is read. */
  keepAlive = true;
  /** Why the response is not readable, when the state is `'failed'`. */
  error = '';
  /** Whether the failure is the body size limit. */
  overLimit = false;
  /** The configured body size limit (after decompression); 0 = no limit. */
  private limit = 0;
  /** Body bytes allowed as they arrive: the limit, or a little more for a compressed body. */
  private rawLimit = 0;
  private readonly take: (minBytes: number) => Buffer;

  constructor(take: (minBytes: number) => Buffer) {
    this.take = take;
  }

  /** Starts a new response; `buf` stays with the reader (the caller may have released it). */
  reset(limit: number): void {
    this.len = 0;
    this.phase = HEAD;
    this.cursor = 0;
    this.bodyStart = 0;
    this.bodyEnd = 0;
    this.remaining = 0;
    this.status = 0;
    this.statusText = '';
    this.contentType = '';
    this.contentEncoding = '';
    this.keepAlive = true;
    this.error = '';
    this.overLimit = false;
    this.limit = limit;
    this.rawLimit = limit;
  }

  /** Whether no byte of the response has arrived yet. */
  get empty(): boolean {
    return this.len === 0;
  }

  /** Takes `src[0, n)` and reads as far as it can. */
  push(src: Uint8Array, n: number): ReadState {
    if (this.phase >= DONE) {
      // Bytes after a complete response: nothing was asked for; never reuse the connection.
      this.keepAlive = false;
      return this.phase === DONE ? 'done' : 'failed';
    }
    let buf = this.buf;
    const need = this.len + n;
    if (buf === null || need > buf.length) {
      const grown = this.take(buf === null ? need : Math.max(need, buf.length * 2));
      if (buf !== null) buf.copy(grown, 0, 0, this.len);
      buf = this.buf = grown;
    }
    buf.set(n === src.length ? src : src.subarray(0, n), this.len);
    this.len = need;
    return this.advance();
  }

  /** The connection ended: a body read until close is complete; anything else is cut short. */
  end(): ReadState {
    if (this.phase === UNTIL_CLOSE) {
      this.bodyEnd = this.len;
      this.keepAlive = false;
      this.phase = DONE;
      return 'done';
    }
    if (this.phase === DONE) return 'done';
    if (this.phase !== FAILED) {
      this.fail(
        this.phase === HEAD
          ? 'connection closed before the response headers were complete'
          : 'connection closed while reading body',
      );
    }
    return 'failed';
  }

  private fail(message: string, overLimit = false): ReadState {
    this.phase = FAILED;
    this.error = message;
    this.overLimit = overLimit;
    this.keepAlive = false;
    return 'failed';
  }

  private overRawLimit(bodyBytes: number): boolean {
    return this.rawLimit > 0 && bodyBytes > this.rawLimit;
  }

  private advance(): ReadState {
    const buf = this.buf!;
    for (;;) {
      switch (this.phase) {
        case HEAD: {
          const at = buf.indexOf(CRLFCRLF, this.cursor > 3 ? this.cursor - 3 : 0);
          if (at < 0 || at >= this.len) {
            this.cursor = this.len;
            if (this.len > MAX_HEAD_BYTES) {
              return this.fail(`response headers exceed ${MAX_HEAD_BYTES} bytes`);
            }
            return 'more';
          }
          if (at > MAX_HEAD_BYTES) {
            return this.fail(`response headers exceed ${MAX_HEAD_BYTES} bytes`);
          }
          const headEnd = at + 4;
          const err = this.readHead(buf.toString('latin1', 0, at), headEnd);
          if (err !== '') return this.fail(err, this.overLimit);
          if (this.status >= 100 && this.status < 200) {
            // An interim response (100 Continue, 103 Early Hints): the real one follows.
            buf.copyWithin(0, headEnd, this.len);
            this.len -= headEnd;
            this.cursor = 0;
            this.phase = HEAD;
            this.contentType = '';
            this.contentEncoding = '';
            this.keepAlive = true;
            if (this.len === 0) return 'more';
          }
          break;
        }
        case FIXED: {
          const have = this.len - this.bodyStart;
          if (have < this.remaining) return 'more';
          this.bodyEnd = this.bodyStart + this.remaining;
          if (this.len > this.bodyEnd) this.keepAlive = false;
          this.phase = DONE;
          return 'done';
        }
        case UNTIL_CLOSE:
          if (this.overRawLimit(this.len - this.bodyStart)) {
            return this.fail(
              `body size limit exceeded: read ${this.len - this.bodyStart} bytes, limit ${this.limit}`,
              true,
            );
          }
          return 'more';
        case CHUNK_SIZE: {
          const eol = this.lineEnd();
          if (eol < 0) return this.len - this.cursor > MAX_LINE_BYTES ? this.badChunk() : 'more';
          const size = parseChunkSize(buf, this.cursor, eol);
          if (size < 0) return this.badChunk();
          this.cursor = eol + 2;
          if (size === 0) {
            this.phase = TRAILERS;
            break;
          }
          const bodyBytes = this.bodyEnd - this.bodyStart + size;
          if (this.overRawLimit(bodyBytes)) {
            return this.fail(
              `body size limit exceeded: read ${bodyBytes} bytes, limit ${this.limit}`,
              true,
            );
          }
          this.remaining = size;
          this.phase = CHUNK_DATA;
          break;
        }
        case CHUNK_DATA: {
          const avail = this.len - this.cursor;
          if (avail === 0) return 'more';
          const n = avail < this.remaining ? avail : this.remaining;
          // Decoded in place: the body never runs ahead of the bytes still to read.
          if (this.bodyEnd !== this.cursor)
            buf.copyWithin(this.bodyEnd, this.cursor, this.cursor + n);
          this.bodyEnd += n;
          this.cursor += n;
          this.remaining -= n;
          if (this.remaining > 0) return 'more';
          this.phase = CHUNK_DATA_END;
          break;
        }
        case CHUNK_DATA_END:
          if (this.len - this.cursor < 2) return 'more';
          if (buf[this.cursor] !== 13 || buf[this.cursor + 1] !== 10) return this.badChunk();
          this.cursor += 2;
          this.phase = CHUNK_SIZE;
          break;
        case TRAILERS: {
          const eol = this.lineEnd();
          if (eol < 0) return this.len - this.cursor > MAX_LINE_BYTES ? this.badChunk() : 'more';
          const empty = eol === this.cursor;
          this.cursor = eol + 2;
          if (!empty) break; // a trailer field: not used
          if (this.len > this.cursor) this.keepAlive = false;
          this.phase = DONE;
          return 'done';
        }
        default:
          return this.phase === DONE ? 'done' : 'failed';
      }
    }
  }

  private badChunk(): ReadState {
    return this.fail('malformed chunked encoding in response body');
  }

  /** Index of the next CRLF at or after the cursor, or -1. */
  private lineEnd(): number {
    const at = this.buf!.indexOf(CRLF, this.cursor);
    return at < 0 || at + 2 > this.len ? -1 : at;
  }

  /** Reads the status line and headers; sets the framing. Returns an error message or ''. */
  private readHead(head: string, headEnd: number): string {
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (m === null) return `malformed HTTP status line ${JSON.stringify(lines[0].slice(0, 100))}`;
    const http10 = m[1] === '0';
    this.status = Number(m[2]);
    this.statusText = m[3] ?? '';
    let contentLength = -1;
    let chunked = false;
    let connection = '';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      if (colon <= 0) return `malformed HTTP response header ${JSON.stringify(line.slice(0, 100))}`;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d+$/.test(value)) return `bad Content-Length ${JSON.stringify(value)}`;
        const n = Number(value);
        if (contentLength >= 0 && n !== contentLength) return 'conflicting Content-Length headers';
        contentLength = n;
      } else if (name === 'transfer-encoding') {
        const codings = value.toLowerCase().split(',');
        chunked = codings[codings.length - 1].trim() === 'chunked';
        if (!chunked) return `unsupported transfer encoding ${JSON.stringify(value)}`;
      } else if (name === 'connection') {
        connection = value.toLowerCase();
      } else if (name === 'content-type') {
        this.contentType = value;
      } else if (name === 'content-encoding') {
        this.contentEncoding = value;
      }
    }
    this.keepAlive = http10 ? /\bkeep-alive\b/.test(connection) : !/\bclose\b/.test(connection);
    const enc = this.contentEncoding.toLowerCase();
    if (this.limit > 0 && enc !== '' && enc !== 'identity') {
      // Compressed bytes are at most a little more than the body they hold (stored
      // blocks): a stream past that is over the limit once inflated.
      this.rawLimit = this.limit + Math.ceil(this.limit / 64) + 1024;
    }
    this.bodyStart = this.bodyEnd = this.cursor = headEnd;
    if (this.status < 200) return '';
    if (this.status === 204 || this.status === 304) {
      this.remaining = 0;
      this.phase = FIXED;
    } else if (chunked) {
      this.phase = CHUNK_SIZE;
    } else if (contentLength >= 0) {
      if (this.overRawLimit(contentLength)) {
        this.overLimit = true;
        return `body size limit exceeded: read ${contentLength} bytes, limit ${this.limit}`;
      }
      this.remaining = contentLength;
      this.phase = FIXED;
    } else {
      this.keepAlive = false;
      this.phase = UNTIL_CLOSE;
    }
    return '';
  }
}

/** The hex size of a chunk-size line in `buf[from, to)` (extensions after `;` ignored), or -1. */
function parseChunkSize(buf: Buffer, from: number, to: number): number {
  let size = 0;
  let digits = 0;
  let i = from;
  for (; i < to; i++) {
    const c = buf[i];
    const d =
      c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) break;
    size = size * 16 + d;
    if (++digits > 12) return -1; // past 2^48: no metrics body is that big
  }
  if (digits === 0) return -1;
  for (; i < to; i++) {
    const c = buf[i];
    if (c === 59) return size; // ';' starts an extension
    if (c !== 32 && c !== 9) return -1;
  }
  return size;
}

/** How a {@link PlainConnection} request ended; `reused` says whether the socket had served one before. */
export interface ConnectionEvents {
  /** Bytes arrived and were pushed to the reader. */
  onState(state: ReadState): void;
  /** The socket failed or closed before the response was done. */
  onError(err: Error, reused: boolean): void;
}

/**
 * One target's keep-alive connection. Data is read by the socket into a buffer shared by
 * every connection (reads are handled at once, so one is enough) and pushed to the reader.
 */
export class PlainConnection {
  private readonly host: string;
  private readonly port: number;
  private socket: Socket | null = null;
  /** Responses this socket has carried: a failure before any byte of a reused socket is retried. */
  private served = 0;
  private events: ConnectionEvents | null = null;
  private readonly reader: ResponseReader;

  constructor(host: string, port: number, reader: ResponseReader) {
    this.host = host;
    this.port = port;
    this.reader = reader;
  }

  /** Sends `request` (a whole GET) on the open socket or a new one. */
  send(request: Buffer, events: ConnectionEvents): void {
    this.events = events;
    let s = this.socket;
    if (s === null || s.destroyed) {
      s = this.socket = this.open();
      this.served = 0;
    }
    s.ref();
    s.write(request);
  }

  /** The response was read whole; keep the socket when it may carry the next request. */
  finished(keepAlive: boolean): void {
    this.events = null;
    const s = this.socket;
    if (s === null) return;
    if (keepAlive) {
      this.served++;
      s.unref();
    } else {
      this.close();
    }
  }

  /** Drops the socket (a timeout, an abort, a failed response, a stopped target). */
  close(): void {
    this.events = null;
    const s = this.socket;
    this.socket = null;
    if (s !== null) s.destroy();
  }

  private open(): Socket {
    const s: Socket = connect({
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          if (this.socket !== s) return false;
          const ev = this.events;
          if (ev === null) {
            // Bytes nobody asked for: the connection is out of step; drop it.
            this.close();
            return false;
          }
          ev.onState(this.reader.push(buf, n));
          return true;
        },
      },
    });
    s.on('error', (err: Error) => this.lost(s, err));
    s.on('end', () => {
      if (this.socket !== s) return;
      const ev = this.events;
      if (ev === null) {
        this.close(); // the server closed an idle keep-alive connection
        return;
      }
      if (this.reader.empty) this.lost(s, new Error('EOF'));
      else ev.onState(this.reader.end());
    });
    s.on('close', () => this.lost(s, new Error('connection closed')));
    return s;
  }

  private lost(s: Socket, err: Error): void {
    if (this.socket !== s) return;
    const ev = this.events;
    const reused = this.served > 0 && this.reader.empty;
    this.close();
    ev?.onError(err, reused);
  }
}

/** One read buffer for every connection: each read is pushed to its reader before the next. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

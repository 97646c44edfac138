/**
 * The HTTP/1.1 fast path: plain keep-alive requests are forwarded on raw sockets, with our
 * own small parser for request and response heads, and bodies streamed by their framing
 * (Content-Length or chunked, passed through as they are). Header lines are copied as
 * written; only hop-by-hop lines are left out, so case, order and repeats pass through.
 *
 * ```
 *   client ──bytes──▶ FastConnection ──head + body──▶ Upstream (pooled per route) ──▶ target
 *                      │  anything unusual, between two requests
 *                      └──▶ node:http server (http1.ts), which takes the connection over
 * ```
 *
 * Anything unusual goes to the node:http path instead, which takes the connection from the
 * first byte of that request on: another HTTP version, CONNECT, upgrades, `Expect`,
 * a request without Host, both Content-Length and Transfer-Encoding, obs-fold, oversized or
 * odd heads. Pipelined requests are served one after the other.
 * @module
 */

import type * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { errnoOf, errorKind } from './recorder.js';
import type { Route, Side } from './side.js';

/** Largest request or response head read here (node:http's default limit). */
const MAX_HEAD_BYTES = 16 * 1024;
/** Size of the read buffer the target connections of a pool share. */
const READ_BUFFER_BYTES = 64 * 1024;
/** Idle connections kept per pool. */
const MAX_IDLE_PER_POOL = 256;
/** A client connection idle this long is closed (node:http's keepAliveTimeout here), ms. */
const CLIENT_IDLE_MS = 60_000;

/** Limits a test may shorten. */
export const fastPathLimits = {
  /**
   * A request head still incomplete this long after its first byte is answered 408 and the
   * connection closed (node:http's headersTimeout), so a client trickling bytes cannot hold
   * a connection past the idle timeout. Checked when bytes arrive; silence is the idle
   * timeout's. In ms.
   */
  headTimeoutMs: 60_000,
};

/** Bytes allowed in a header name (RFC 9110 §5.6.2 tchar). */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
  TOKEN[c.charCodeAt(0)] = 1;

const REQUEST_TIMEOUT = Buffer.from(
  'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
  'latin1',
);

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');
const HTTP11 = Buffer.from('HTTP/1.1', 'latin1');
const NO_BYTES = Buffer.alloc(0);

/** True when bytes `b[start, start + name.length)` equal `name` (lower case) in any case. */
function nameIs(b: Buffer, start: number, len: number, name: string): boolean {
  if (len !== name.length) return false;
  for (let i = 0; i < len; i++) {
    let c = b[start + i];
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** Hop-by-hop header names (RFC 9110 §7.6.1), not forwarded; by length for a quick test. */
const HOP_BY_HOP = ['te', 'trailer', 'upgrade', 'keep-alive', 'connection', 'proxy-connection'];

function isHopByHop(b: Buffer, start: number, len: number): boolean {
  if (len < 2 || len > 19) return false;
  for (const n of HOP_BY_HOP) if (nameIs(b, start, len, n)) return true;
  return nameIs(b, start, len, 'proxy-authorization');
}

/** Whether the comma-separated header value in `b[from, to)` holds `token` (lower case), in any case. */
function hasToken(b: Buffer, from: number, to: number, token: string): boolean {
  // Comma-separated tokens, compared case-insensitively in place: the Connection header
  // of nearly every response, where strings and a split were ~150 bytes of garbage.
  let i = from;
  while (i < to) {
    while (i < to && (b[i] === SP || b[i] === HT || b[i] === 0x2c)) i++;
    let e = i;
    while (e < to && b[e] !== 0x2c) e++;
    let te = e;
    while (te > i && (b[te - 1] === SP || b[te - 1] === HT)) te--;
    if (te - i === token.length) {
      let k = 0;
      for (; k < token.length; k++) {
        const c = b[i + k];
        if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== token.charCodeAt(k)) break;
      }
      if (k === token.length) return true;
    }
    i = e + 1;
  }
  return false;
}

/** The decimal number of 1 to 15 digits in `b[from, to)`, or -1. */
function decimalAt(b: Buffer, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = b[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** A parsed message head: the bytes to forward and what the forwarder needs from it. */
interface Head {
  /** The head to send on, hop-by-hop lines left out (a view of the input when unchanged). */
  out: Buffer;
  /** Content-Length, or -1. */
  contentLength: number;
  chunked: boolean;
  /** Transfer-Encoding without chunked last (a response delimited by close). */
  otherCoding: boolean;
  /** `Connection: close` was sent. */
  close: boolean;
  /** The `Connection: keep-alive` token was sent (for HTTP/1.0 responses). */
  keepAlive: boolean;
  host: string | undefined;
  grpcStatus: string;
  /** Something the fast path leaves to node:http (requests only). */
  unusual: boolean;
}

/**
 * Walks the header lines of `b[lineStart, end)` (`end` is the index of the blank line's
 * CRLF pair) and fills `head`, appending to `parts` the bytes from `copyFrom` to the end of
 * the head, hop-by-hop lines left out.
 */
function scanHeaders(
  b: Buffer,
  lineStart: number,
  end: number,
  copyFrom: number,
  head: Head,
  parts: Buffer[],
): void {
  let keepFrom = copyFrom;
  let p = lineStart;
  while (p < end + 2) {
    const eol = b.indexOf(LF, p);
    if (eol < 0 || eol > end + 2 || b[eol - 1] !== CR) {
      head.unusual = true;
      return;
    }
    const first = b[p];
    if (first === SP || first === HT) {
      head.unusual = true; // obs-fold
      return;
    }
    const colon = b.indexOf(COLON, p);
    if (colon < 0 || colon > eol || colon === p || b[colon - 1] === SP || b[colon - 1] === HT) {
      head.unusual = true;
      return;
    }
    const len = colon - p;
    for (let i = p; i < colon; i++)
      if (TOKEN[b[i]] === 0) {
        head.unusual = true; // node:http answers 400
        return;
      }
    let vs = colon + 1;
    let ve = eol - 1;
    while (vs < ve && (b[vs] === SP || b[vs] === HT)) vs++;
    while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HT)) ve--;
    let hop = false;
    switch (len) {
      case 4:
        if (nameIs(b, p, len, 'host')) {
          if (head.host !== undefined) head.unusual = true;
          head.host = b.toString('latin1', vs, ve);
        }
        break;
      case 6:
        if (nameIs(b, p, len, 'expect')) head.unusual = true;
        break;
      case 10:
        if (nameIs(b, p, len, 'connection')) {
          hop = true;
          if (hasToken(b, vs, ve, 'close')) head.close = true;
          if (hasToken(b, vs, ve, 'keep-alive')) head.keepAlive = true;
          if (hasToken(b, vs, ve, 'upgrade')) head.unusual = true;
        }
        break;
      case 11:
        if (nameIs(b, p, len, 'grpc-status')) head.grpcStatus = b.toString('latin1', vs, ve);
        break;
      case 14:
        if (nameIs(b, p, len, 'content-length')) {
          const n = decimalAt(b, vs, ve);
          if (head.contentLength >= 0 || n < 0) head.unusual = true;
          else head.contentLength = n;
        }
        break;
      case 17:
        if (nameIs(b, p, len, 'transfer-encoding')) {
          // Forwarded as is: the body's chunked framing passes through unchanged.
          const v = b.toString('latin1', vs, ve).toLowerCase();
          if (v === 'chunked') head.chunked = true;
          else if (/(^|,)\s*chunked$/.test(v)) {
            head.chunked = true;
            head.unusual = true;
          } else {
            head.otherCoding = true;
            head.unusual = true;
          }
        }
        break;
      case 7:
        if (nameIs(b, p, len, 'upgrade')) {
          hop = true;
          head.unusual = true;
        }
        break;
    }
    if (!hop && len >= 2 && len <= 19 && isHopByHop(b, p, len)) hop = true;
    if (hop) {
      if (p > keepFrom) parts.push(b.subarray(keepFrom, p));
      keepFrom = eol + 1;
    }
    p = eol + 1;
  }
  if (head.chunked && head.contentLength >= 0) head.unusual = true;
  parts.push(b.subarray(keepFrom, end + 4));
}

function newHead(): Head {
  return {
    out: NO_BYTES,
    contentLength: -1,
    chunked: false,
    otherCoding: false,
    close: false,
    keepAlive: false,
    host: undefined,
    grpcStatus: '',
    unusual: false,
  };
}

/**
 * Finds the end of a chunked body in `b[from…]`, keeping state across calls, and the
 * `grpc-status` trailer if one is sent.
 */
class ChunkedScanner {
  private state = 0;
  private size = 0;
  private left = 0;
  private line = '';
  grpcStatus = '';
  failed = false;

  /** Index just past the end of the body, or -1 when `b` ends before it. */
  scan(b: Buffer, from: number): number {
    let i = from;
    const n = b.length;
    while (i < n) {
      const c = b[i];
      switch (this.state) {
        case 0: {
          // chunk size
          const d =
            c >= 0x30 && c <= 0x39
              ? c - 0x30
              : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66
                ? (c | 0x20) - 0x57
                : -1;
          if (d >= 0) {
            this.size = this.size * 16 + d;
            if (this.size > Number.MAX_SAFE_INTEGER / 16) return this.fail();
          } else if (c === CR) this.state = 2;
          else if (c === 0x3b || c === SP || c === HT) this.state = 1;
          else return this.fail();
          i++;
          break;
        }
        case 1: // chunk extension
          if (c === CR) this.state = 2;
          i++;
          break;
        case 2: // LF after the size line
          if (c !== LF) return this.fail();
          i++;
          if (this.size === 0) this.state = 6;
          else {
            this.left = this.size;
            this.state = 3;
          }
          break;
        case 3: {
          // chunk data
          const take = Math.min(this.left, n - i);
          this.left -= take;
          i += take;
          if (this.left === 0) this.state = 4;
          break;
        }
        case 4:
          if (c !== CR) return this.fail();
          this.state = 5;
          i++;
          break;
        case 5:
          if (c !== LF) return this.fail();
          this.state = 0;
          this.size = 0;
          i++;
          break;
        case 6: // start of a trailer line, or the final CRLF
          if (c === CR) this.state = 9;
          else {
            this.line = '';
            this.state = 7;
            continue;
          }
          i++;
          break;
        case 7: {
          // trailer line
          const cr = b.indexOf(CR, i);
          const stop = cr < 0 ? n : cr;
          if (this.line.length + stop - i > MAX_HEAD_BYTES) return this.fail();
          this.line += b.toString('latin1', i, stop);
          i = stop;
          if (cr >= 0) {
            this.state = 8;
            i++;
          }
          break;
        }
        case 8:
          if (c !== LF) return this.fail();
          if (/^grpc-status:/i.test(this.line))
            this.grpcStatus = this.line.slice(this.line.indexOf(':') + 1).trim();
          this.state = 6;
          i++;
          break;
        case 9:
          if (c !== LF) return this.fail();
          return i + 1;
      }
    }
    return -1;
  }

  private fail(): number {
    this.failed = true;
    return -1;
  }
}

/** Pools of idle keep-alive connections to targets, per route pool (last in, first out). */
export class UpstreamPool {
  private readonly side: Side;
  private readonly idle = new Map<string, Upstream[]>();
  private closed = false;
  /**
   * Where every target connection of the pool reads into. Node's own reads allocate a
   * 64 KiB buffer and a Buffer object per read and pass through the Readable machinery;
   * here a read is parsed before the next can land, and whatever outlives it (an
   * incomplete head, the bytes for the client) is copied out (Upstream.onData,
   * FastConnection.flush).
   */
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

  constructor(side: Side) {
    this.side = side;
  }

  /** An idle connection of `route`'s pool, or a new one. */
  acquire(route: Route): Upstream {
    const list = this.idle.get(route.pool);
    if (list !== undefined) {
      while (list.length > 0) {
        const u = list.pop()!;
        if (!u.socket.destroyed && u.socket.writable) {
          u.reused = true;
          return u;
        }
      }
    }
    return this.dial(route);
  }

  /** A new connection for `route`. */
  dial(route: Route): Upstream {
    return new Upstream(this, route);
  }

  /** Opens a socket for `route` whose reads go to `onRead`, as views of the pool's buffer. */
  connect(route: Route, onRead: (d: Buffer) => void): net.Socket {
    const buffer = this.readBuffer;
    return this.side.dial(route, {
      buffer,
      callback: (n: number): boolean => {
        onRead(buffer.subarray(0, n));
        return true; // a full client pauses the socket itself (FastConnection.flush)
      },
    });
  }

  release(u: Upstream): void {
    let list = this.idle.get(u.route.pool);
    if (list === undefined) this.idle.set(u.route.pool, (list = []));
    if (this.closed || list.length >= MAX_IDLE_PER_POOL) u.socket.destroy();
    else list.push(u);
  }

  /** Drops `u` from its idle list (it closed while idle). */
  forget(u: Upstream): void {
    const list = this.idle.get(u.route.pool);
    const k = list === undefined ? -1 : list.indexOf(u);
    if (k >= 0) list!.splice(k, 1);
  }

  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const u of list) u.socket.destroy();
    this.idle.clear();
  }
}

/** Response framing of the exchange in flight. */
const NONE = 0;
const LENGTH = 1;
const CHUNKED = 2;
const UNTIL_CLOSE = 3;

/** One connection to a target, carrying one exchange at a time for its owner. */
class Upstream {
  readonly socket: net.Socket;
  readonly route: Route;
  private readonly pool: UpstreamPool;
  owner: FastConnection | null = null;
  /** Taken from the pool (it may have been closed by the target meanwhile). */
  reused = false;
  /** Bytes of the response received so far (0 until the first). */
  private received = 0;
  private buf: Buffer | null = null;
  private inBody = false;
  private framing = NONE;
  private left = 0;
  private chunks: ChunkedScanner | null = null;
  private keepAlive = true;
  private error: Error | null = null;

  constructor(pool: UpstreamPool, route: Route) {
    this.pool = pool;
    this.route = route;
    const socket = (this.socket = pool.connect(route, (d) => this.onData(d)));
    socket.on('error', (err) => (this.error ??= err));
    socket.on('close', () => this.onClose());
    // An idle connection the target closes is dropped from the pool at its FIN.
    socket.on('end', () => {
      if (this.owner === null) socket.destroy();
    });
  }

  /** Starts an exchange: `owner` has written the request head. */
  begin(owner: FastConnection): void {
    // Its last response may have paused it for a slow client.
    if (this.socket.isPaused()) this.socket.resume();
    this.owner = owner;
    this.received = 0;
    this.buf = null;
    this.inBody = false;
    this.framing = NONE;
    this.keepAlive = true;
    this.chunks = null;
  }

  private onClose(): void {
    const owner = this.owner;
    this.owner = null;
    if (owner === null) {
      this.pool.forget(this);
      return;
    }
    if (this.inBody && this.framing === UNTIL_CLOSE && this.error === null) owner.responseEnd('');
    else owner.upstreamFailed(this, this.error, this.received > 0);
  }

  private onData(d: Buffer): void {
    const owner = this.owner;
    if (owner === null) {
      this.socket.destroy(); // bytes nobody asked for
      return;
    }
    this.received += d.length;
    // What one read carries (head and body) leaves in one write.
    this.consume(d, owner);
    owner.flush();
  }

  private consume(d: Buffer, owner: FastConnection): void {
    let b = d;
    if (!this.inBody) {
      if (this.buf !== null) b = Buffer.concat([this.buf, d]);
      this.buf = null;
      for (;;) {
        const end = b.indexOf(CRLFCRLF);
        if (end < 0) {
          if (b.length > MAX_HEAD_BYTES) this.socket.destroy(new Error('response head too large'));
          else this.buf = Buffer.from(b); // `d` is a view of the pool's read buffer
          return;
        }
        const status = this.head(b, end, owner);
        if (status < 0) return;
        b = b.subarray(end + 4);
        if (status >= 200) break;
        // An informational answer (103…): passed on, the final one follows.
        if (b.length === 0) return;
      }
    }
    this.body(b, owner);
  }

  /** Parses a response head; passes it to the owner. The status, or -1 when broken. */
  private head(b: Buffer, end: number, owner: FastConnection): number {
    const lineEnd = b.indexOf(LF);
    // "HTTP/1.x NNN reason"
    if (
      lineEnd < 13 ||
      b[lineEnd - 1] !== CR ||
      b[8] !== SP ||
      b.compare(HTTP11, 0, 7, 0, 7) !== 0
    ) {
      this.socket.destroy(new Error('malformed response'));
      return -1;
    }
    const status = (b[9] - 0x30) * 100 + (b[10] - 0x30) * 10 + (b[11] - 0x30);
    if (!(status >= 100 && status <= 999) || (b[12] !== SP && b[12] !== CR) || status === 101) {
      this.socket.destroy(new Error('malformed response'));
      return -1;
    }
    const http10 = b[7] === 0x30;
    const h = newHead();
    // The status line goes out as HTTP/1.1 (we speak 1.1 to the client).
    const parts: Buffer[] = http10 ? [HTTP11] : [];
    scanHeaders(b, lineEnd + 1, end, http10 ? 8 : 0, h, parts);
    if (status < 200) {
      owner.informational(parts);
      return status;
    }
    this.keepAlive = !h.close && (!http10 || h.keepAlive);
    if (owner.isHead || status === 204 || status === 304) this.framing = NONE;
    else if (h.chunked && !h.otherCoding) {
      this.framing = CHUNKED;
      this.chunks = new ChunkedScanner();
    } else if (h.contentLength >= 0 && !h.otherCoding) {
      this.framing = LENGTH;
      this.left = h.contentLength;
    } else this.framing = UNTIL_CLOSE;
    if (this.framing === UNTIL_CLOSE) {
      // The end of the body is the end of this connection, so it is the client's too.
      this.keepAlive = false;
      parts[parts.length - 1] = Buffer.concat([
        parts[parts.length - 1].subarray(0, -2),
        Buffer.from('connection: close\r\n\r\n', 'latin1'),
      ]);
    }
    this.inBody = true;
    owner.responseHead(status, parts, h.grpcStatus, this.framing === UNTIL_CLOSE);
    return status;
  }

  private body(b: Buffer, owner: FastConnection): void {
    switch (this.framing) {
      case NONE:
        if (b.length > 0) this.keepAlive = false;
        this.finish(owner, '');
        return;
      case LENGTH: {
        const take = Math.min(this.left, b.length);
        if (take > 0) owner.responseBody(take === b.length ? b : b.subarray(0, take));
        this.left -= take;
        if (this.left === 0) {
          if (take < b.length) this.keepAlive = false; // bytes past the response
          this.finish(owner, '');
        }
        return;
      }
      case CHUNKED: {
        const s = this.chunks!;
        const end = s.scan(b, 0);
        if (s.failed) {
          this.socket.destroy(new Error('malformed chunked body'));
          return;
        }
        if (end < 0) {
          if (b.length > 0) owner.responseBody(b);
          return;
        }
        owner.responseBody(end === b.length ? b : b.subarray(0, end));
        if (end < b.length) this.keepAlive = false;
        this.finish(owner, s.grpcStatus);
        return;
      }
      default:
        if (b.length > 0) owner.responseBody(b);
    }
  }

  private finish(owner: FastConnection, trailerGrpc: string): void {
    this.owner = null;
    this.inBody = false;
    // Back to the pool first, so a pipelined request that starts next can take it.
    if (this.keepAlive && owner.requestSent && !this.socket.destroyed) this.pool.release(this);
    else this.socket.destroy();
    owner.responseEnd(trailerGrpc);
  }
}

/**
 * One client connection on the fast path. `handOff` gives the connection (with the bytes
 * not yet served) to the node:http server.
 */
export class FastConnection {
  private readonly side: Side;
  readonly socket: net.Socket;
  private readonly pool: UpstreamPool;
  private readonly handOff: (socket: net.Socket) => void;
  private readonly onData = (d: Buffer): void => this.read(d);
  private readonly onClose = (): void => this.clientGone();
  private readonly onDrain = (): void => {
    this.up?.socket.resume();
  };
  private readonly onUpDrain = (): void => {
    this.socket.resume();
  };
  private readonly onTimeout = (): void => {
    if (!this.active) this.socket.destroy();
  };
  /** Bytes received and not yet served (the next request, pipelined ones). */
  private pending: Buffer | null = null;
  /** When the first byte of the incomplete head in `pending` arrived (0: none waiting). */
  private headSince = 0;
  private done = false;

  // The exchange in flight.
  private active = false;
  private up: Upstream | null = null;
  private route: Route | null = null;
  private t0 = 0;
  private status = 0;
  private headGrpc = '';
  /** The request head as sent, kept to send again on a fresh connection. */
  private sentHead: Buffer | null = null;
  private reqLeft = 0;
  private reqChunks: ChunkedScanner | null = null;
  /** The whole request has been sent on. */
  requestSent = false;
  isHead = false;
  private closeAfter = false;
  /** Response bytes of the current read of the target, not yet written (see flush). */
  private readonly out: Buffer[] = [];

  constructor(
    side: Side,
    socket: net.Socket,
    pool: UpstreamPool,
    handOff: (socket: net.Socket) => void,
  ) {
    this.side = side;
    this.socket = socket;
    this.pool = pool;
    this.handOff = handOff;
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.setTimeout(CLIENT_IDLE_MS, this.onTimeout);
  }

  /** Serves the connection; `first` holds the bytes read during protocol detection. */
  start(first: Buffer | null): void {
    if (first !== null && first.length > 0) this.read(first);
  }

  private read(d: Buffer): void {
    if (this.active && !this.requestSent) {
      const rest = this.forwardBody(d);
      if (rest === null) return;
      d = rest;
      if (d.length === 0) return;
    }
    this.pending = this.pending === null ? d : Buffer.concat([this.pending, d]);
    if (!this.active) this.next();
    else if (this.pending.length > MAX_HEAD_BYTES) this.socket.pause(); // pipelined, wait
  }

  /** Starts the exchange of the next request in `pending`, if it is complete. */
  private next(): void {
    const b = this.pending;
    if (b === null || this.done) return;
    const end = b.indexOf(CRLFCRLF);
    if (end < 0) {
      if (b.length > MAX_HEAD_BYTES) this.toNodeHttp();
      else if (this.headSince === 0) this.headSince = performance.now();
      else if (performance.now() - this.headSince > fastPathLimits.headTimeoutMs) {
        this.done = true;
        this.socket.end(REQUEST_TIMEOUT);
      }
      return;
    }
    this.headSince = 0;
    const lineEnd = b.indexOf(LF);
    const sp1 = b.indexOf(SP);
    const sp2 = sp1 < 0 ? -1 : b.indexOf(SP, sp1 + 1);
    if (
      sp1 <= 0 ||
      sp2 < 0 ||
      lineEnd !== sp2 + 10 ||
      b[lineEnd - 1] !== CR ||
      !b.subarray(sp2 + 1, lineEnd - 1).equals(HTTP11)
    ) {
      this.toNodeHttp();
      return;
    }
    const method = b.toString('latin1', 0, sp1);
    if (method === 'CONNECT') {
      this.toNodeHttp();
      return;
    }
    const h = newHead();
    const parts: Buffer[] = [];
    scanHeaders(b, lineEnd + 1, end, 0, h, parts);
    if (h.unusual || h.host === undefined) {
      this.toNodeHttp();
      return;
    }
    const side = this.side;
    let route: Route;
    if (b[sp1 + 1] === 0x2f)
      route = side.route(h.host); // origin form: "/…"
    else if (
      side.direction === 'outbound' &&
      b.toString('latin1', sp1 + 1, sp1 + 8) === 'http://'
    ) {
      // Absolute form (a forward-proxy request): origin form on, Host from the URI
      // (RFC 9112 §3.2.2).
      const uri = b.toString('latin1', sp1 + 8, sp2);
      const slash = uri.indexOf('/');
      const authority = slash < 0 ? uri : uri.slice(0, slash);
      route = side.route(authority);
      const line = `${method} ${slash < 0 ? '/' : uri.slice(slash)} HTTP/1.1\r\n`;
      // parts[0] starts with the request line, which is never left out.
      parts[0] = Buffer.concat([
        Buffer.from(line, 'latin1'),
        replaceHost(parts[0].subarray(lineEnd + 1), authority),
      ]);
      for (let i = 1; i < parts.length; i++) parts[i] = replaceHost(parts[i], authority);
    } else {
      this.toNodeHttp();
      return;
    }
    const head = parts.length === 1 ? parts[0] : Buffer.concat(parts);

    // The exchange.
    this.active = true;
    this.t0 = performance.now();
    this.route = route;
    this.status = 0;
    this.headGrpc = '';
    this.isHead = method === 'HEAD';
    this.closeAfter = h.close;
    this.sentHead = h.contentLength > 0 || h.chunked ? null : head;
    this.requestSent = false;
    this.reqLeft = h.chunked ? 0 : Math.max(0, h.contentLength);
    this.reqChunks = h.chunked ? new ChunkedScanner() : null;
    this.side.metrics.request(route.endpoint);
    const up = (this.up = this.pool.acquire(route));
    up.begin(this);
    const body = b.subarray(end + 4);
    this.pending = null;
    if (this.reqLeft === 0 && this.reqChunks === null) {
      this.requestSent = true;
      up.socket.write(head);
      if (body.length > 0) this.pending = body;
      return;
    }
    // Head and the body bytes already here leave in one write.
    up.socket.cork();
    up.socket.write(head);
    if (body.length > 0) {
      const rest = this.forwardBody(body);
      if (rest !== null && rest.length > 0) this.pending = rest;
    }
    up.socket.uncork();
  }

  /** Sends request body bytes on; returns the bytes past the body, or null if none. */
  private forwardBody(d: Buffer): Buffer | null {
    const up = this.up!;
    let take: number;
    if (this.reqChunks !== null) {
      const end = this.reqChunks.scan(d, 0);
      if (this.reqChunks.failed) {
        this.socket.destroy();
        return null;
      }
      take = end < 0 ? d.length : end;
      if (end >= 0) this.requestSent = true;
    } else {
      take = Math.min(this.reqLeft, d.length);
      this.reqLeft -= take;
      if (this.reqLeft === 0) this.requestSent = true;
    }
    if (take > 0 && !up.socket.write(take === d.length ? d : d.subarray(0, take))) {
      this.socket.pause();
      up.socket.once('drain', this.onUpDrain);
    }
    return take < d.length ? d.subarray(take) : null;
  }

  /** An informational (1xx) response head (its pieces), passed on as is. */
  informational(head: Buffer[]): void {
    for (const part of head) this.out.push(part);
  }

  /** The response head (its pieces, hop-by-hop lines left out). */
  responseHead(status: number, head: Buffer[], grpcStatus: string, untilClose: boolean): void {
    this.status = status;
    this.headGrpc = grpcStatus;
    if (untilClose) this.closeAfter = true;
    this.side.metrics.responseStart(this.route!.endpoint, status, performance.now() - this.t0);
    for (const part of head) this.out.push(part);
  }

  responseBody(chunk: Buffer): void {
    this.out.push(chunk);
  }

  /**
   * Writes the response bytes gathered from one read of the target in a single write: a
   * small response (head pieces and body) costs one copy and one `write`, where cork plus a
   * write per piece cost a `writev` and the stream machinery once per piece. A full client
   * socket pauses the target until it drains.
   */
  flush(): void {
    const out = this.out;
    if (out.length === 0) return;
    // A copy: the pieces are views of the pool's read buffer, which the next read reuses.
    const chunk = out.length === 1 ? Buffer.from(out[0]) : Buffer.concat(out);
    out.length = 0;
    if (!this.socket.write(chunk)) this.up?.socket.pause();
  }

  /** The response ended; `trailerGrpc` is the grpc-status trailer, if any. */
  responseEnd(trailerGrpc: string): void {
    const route = this.route!;
    this.active = false;
    this.up = null;
    this.flush(); // the response is whole: nothing left to pause
    this.side.metrics.responseEnd(route.endpoint, this.status, trailerGrpc || this.headGrpc, '');
    if (this.closeAfter || !this.requestSent) {
      this.finishConnection();
      this.socket.end();
      return;
    }
    // Reading may have been paused for a slow target or while pipelined requests waited.
    if (this.socket.isPaused()) this.socket.resume();
    if (this.pending !== null) this.next();
  }

  /** The target failed or closed before the response ended. */
  upstreamFailed(up: Upstream, err: Error | null, responseStarted: boolean): void {
    const m = this.side.metrics;
    const route = this.route!;
    this.up = null;
    if (!responseStarted && up.reused && this.sentHead !== null && !this.done) {
      // A pooled connection the target closed as we reused it: once more on a fresh one,
      // as the request had no body and nothing of the answer came.
      const head = this.sentHead;
      this.sentHead = null;
      const fresh = (this.up = this.pool.dial(route));
      fresh.begin(this);
      fresh.socket.write(head);
      return;
    }
    if (this.status !== 0) {
      // Cut short after the head went out: the client's response cannot be completed.
      this.active = false;
      m.responseEnd(route.endpoint, this.status, '', 'i/o');
      this.finishConnection();
      this.socket.destroy();
      return;
    }
    // Nothing reached the client yet: answer as Linkerd does when the target fails.
    const failure = err ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    m.error(this.side.direction, 'http', errorKind(failure));
    this.status = 502;
    m.responseStart(route.endpoint, 502, performance.now() - this.t0);
    this.socket.write(
      `HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\nl5d-proxy-error: ${errnoOf(failure) || 'unexpected'}\r\ncontent-length: 0\r\n\r\n`,
    );
    this.responseEnd('');
  }

  /** The client went away. */
  private clientGone(): void {
    this.done = true;
    const up = this.up;
    if (!this.active || up === null) return;
    this.active = false;
    this.up = null;
    up.owner = null;
    up.socket.destroy();
    if (this.status !== 0)
      this.side.metrics.responseEnd(this.route!.endpoint, this.status, '', 'i/o');
  }

  private finishConnection(): void {
    this.done = true;
  }

  /** Gives the connection, from the first byte not served, to the node:http server. */
  private toNodeHttp(): void {
    const s = this.socket;
    this.done = true;
    s.off('data', this.onData);
    s.off('close', this.onClose);
    s.off('drain', this.onDrain);
    s.setTimeout(0);
    s.off('timeout', this.onTimeout);
    s.pause();
    if (this.pending !== null) s.unshift(this.pending);
    this.pending = null;
    this.handOff(s);
  }
}

/** Replaces the value of a Host line in a run of header lines. */
function replaceHost(lines: Buffer, authority: string): Buffer {
  const text = lines.toString('latin1');
  const re = /(^|\r\n)(host:)[ \t]*[^\r]*/i;
  if (!re.test(text)) return lines;
  return Buffer.from(text.replace(re, `$1$2 ${authority}`), 'latin1');
}

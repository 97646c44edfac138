/**
 * The HTTP side of a scrape: one GET with Prometheus 2.42's headers, a deadline that aborts
 * the request, and a body read into a pooled buffer with the body size limit enforced
 * (after gzip decoding, as Prometheus counts it).
 *
 * A compressed body is read whole, then inflated in one synchronous call. A streaming
 * inflater hands each 16 KiB of output back through the thread pool and the event loop:
 * ~25 turns for a Linkerd body, each one waiting behind every other target's work when the
 * collector is loaded, so scrapes ran into their timeout and threw their work away.
 * @module
 */

import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { gunzipSync, inflateSync } from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import type { HttpClientConfig } from '../config/index.js';
import { PROMETHEUS_SCRAPE_ACCEPT } from '../exposition/index.js';
import { PromError } from '../model/errors.js';
import { PlainConnection, ResponseReader, type ConnectionEvents } from './http1.js';

/** A scrape failed before parsing: HTTP status, timeout, connection, body limit. */
export class ScrapeError extends PromError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ScrapeError';
  }
}

/** What a successful fetch returns. `body` is a view into the fetcher's buffer, or the inflated body. */
export interface FetchResult {
  body: Buffer;
  contentType: string;
}

/** First size of a body buffer; it doubles to fit the bodies it reads. */
const INITIAL_BODY_BYTES = 64 * 1024;
/**
 * Free body buffers kept for reuse; more are left to the garbage collector. Scrapes in
 * flight at once are few (a body is held from its first byte until it is parsed), and a
 * Linkerd body's buffer is ~512 KiB.
 */
const MAX_FREE_BODIES = 4;

/**
 * Body buffers shared by every target. A target holds one only from its response's first
 * byte until the loop has parsed the body ({@link TargetFetcher.release}), so the buffers
 * in use are as many as the scrapes in flight, not one per target: with a ~300 KB Linkerd
 * body per target, a buffer per target cost ~500 bytes of RSS per series.
 */
class BodyBufferPool {
  private readonly free: Buffer[] = [];

  get(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(INITIAL_BODY_BYTES);
  }

  put(b: Buffer): void {
    if (this.free.length < MAX_FREE_BODIES) this.free.push(b);
  }
}

const bodyBuffers = new BodyBufferPool();
const EMPTY = Buffer.alloc(0);

/** A body buffer of at least `minBytes`: a pooled one when it is big enough. */
function takeBodyBuffer(minBytes: number): Buffer {
  const b = bodyBuffers.get();
  return b.length >= minBytes ? b : Buffer.allocUnsafe(Math.max(minBytes, INITIAL_BODY_BYTES));
}

function httpStatusError(status: number, text: string): ScrapeError {
  return new ScrapeError(
    'ERR_SCRAPE_HTTP_STATUS',
    `server returned HTTP status ${status} ${text}`.trimEnd(),
  );
}

/** The inflater of a Content-Encoding; null for none; undefined when not supported. */
function inflaterFor(
  contentEncoding: string,
): typeof gunzipSync | typeof inflateSync | null | undefined {
  const enc = contentEncoding.trim().toLowerCase();
  if (enc === 'gzip' || enc === 'x-gzip') return gunzipSync;
  if (enc === 'deflate') return inflateSync;
  return enc === '' || enc === 'identity' ? null : undefined;
}

/**
 * The body as the parser wants it: inflated in one call when compressed, with the body
 * size limit (0 = none) applied to the inflated size. Throws a ScrapeError.
 */
function decodeBody(raw: Buffer, contentEncoding: string, limit: number): Buffer {
  const inflate = inflaterFor(contentEncoding);
  if (inflate === undefined) {
    throw new ScrapeError(
      'ERR_SCRAPE_ENCODING',
      `unsupported content encoding ${JSON.stringify(contentEncoding.trim().toLowerCase())}`,
    );
  }
  if (inflate === null) return raw;
  try {
    return inflate(raw, { maxOutputLength: limit > 0 ? limit : bufferConstants.MAX_LENGTH });
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError
      ? new ScrapeError(
          'ERR_SCRAPE_BODY_SIZE_LIMIT',
          `body size limit exceeded: read more than ${limit} bytes, limit ${limit}`,
        )
      : new ScrapeError('ERR_SCRAPE_BODY', `cannot read body: ${(err as Error).message}`, {
          cause: err,
        });
  }
}

/** Options shared by the fetchers of one pool. */
export interface HttpScrapeOptions {
  userAgent: string;
  httpClient: HttpClientConfig | null;
  /** 0 = no limit. */
  bodySizeLimitBytes: number;
}

/**
 * How one fetch ends, at most once: resolved, failed, timed out or aborted by the loop.
 * When the timer fires, I/O that arrived while other loops held the event loop has not
 * been handled yet: it gets one turn of the poll phase before the scrape is called timed out.
 */
class FetchEnd {
  settled = false;
  private readonly timer: NodeJS.Timeout;
  private readonly signal: AbortSignal;
  private readonly onAbort: () => void;
  private readonly resolveFn: (r: FetchResult) => void;
  private readonly rejectFn: (err: ScrapeError) => void;
  /** Drops the request's connection when the fetch fails. */
  private readonly drop: () => void;

  constructor(
    timeoutMs: number,
    signal: AbortSignal,
    resolve: (r: FetchResult) => void,
    reject: (err: ScrapeError) => void,
    drop: () => void,
  ) {
    this.signal = signal;
    this.resolveFn = resolve;
    this.rejectFn = reject;
    this.drop = drop;
    this.timer = setTimeout(
      () =>
        setImmediate(() =>
          this.fail(new ScrapeError('ERR_SCRAPE_TIMEOUT', `scrape timed out after ${timeoutMs}ms`)),
        ),
      timeoutMs,
    );
    this.onAbort = () => this.fail(new ScrapeError('ERR_SCRAPE_CANCELED', 'scrape canceled'));
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  fail(err: ScrapeError): void {
    if (!this.finish()) return;
    this.drop();
    this.rejectFn(err);
  }

  resolve(r: FetchResult): void {
    if (this.finish()) this.resolveFn(r);
  }

  private finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    this.signal.removeEventListener('abort', this.onAbort);
    return true;
  }
}

/** The keep-alive agents of one pool (one per scheme), built from its `tls_config`. */
export class PoolAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  constructor(cfg: HttpClientConfig | null) {
    this.http = new http.Agent({ keepAlive: true, maxSockets: 1 << 16 });
    const tls = cfg?.tlsConfig;
    const read = (inline: string, file: string): string | undefined =>
      inline !== '' ? inline : file !== '' ? readFileSync(file, 'utf8') : undefined;
    this.https = new https.Agent({
      keepAlive: true,
      ca: tls ? read(tls.ca, tls.caFile) : undefined,
      cert: tls ? read(tls.cert, tls.certFile) : undefined,
      key: tls ? read(tls.key, tls.keyFile) : undefined,
      servername: tls && tls.serverName !== '' ? tls.serverName : undefined,
      rejectUnauthorized: tls ? !tls.insecureSkipVerify : true,
      minVersion:
        tls && tls.minVersion !== '' ? (TLS_VERSIONS[tls.minVersion] ?? undefined) : undefined,
    });
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

const TLS_VERSIONS: Record<string, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};

/** {@link authorizationHeader}, with a file that cannot be read as a ScrapeError. */
function scrapeAuthorization(cfg: HttpClientConfig | null): string | undefined {
  try {
    return authorizationHeader(cfg);
  } catch (err) {
    throw new ScrapeError('ERR_SCRAPE_AUTH', `cannot read credentials: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The `Authorization` header of a job, read fresh each scrape so rotated files apply. */
function authorizationHeader(cfg: HttpClientConfig | null): string | undefined {
  if (cfg === null) return undefined;
  if (cfg.basicAuth !== null) {
    const b = cfg.basicAuth;
    const pw = b.passwordFile !== '' ? readFileSync(b.passwordFile, 'utf8').trim() : b.password;
    return 'Basic ' + Buffer.from(`${b.username}:${pw}`).toString('base64');
  }
  if (cfg.authorization !== null) {
    const a = cfg.authorization;
    const cred =
      a.credentialsFile !== '' ? readFileSync(a.credentialsFile, 'utf8').trim() : a.credentials;
    return `${a.type || 'Bearer'} ${cred}`;
  }
  return undefined;
}

/**
 * Fetches one target's metrics, again and again, into a growable body buffer taken from a
 * shared pool. The returned view is valid until {@link release} or the next fetch.
 */
export class TargetFetcher {
  private readonly url: URL;
  private readonly agents: PoolAgents;
  private readonly opts: HttpScrapeOptions;
  private readonly timeoutHeader: string;
  private readonly timeoutMs: number;
  /** The body buffer while a fetch or its body is in use, else null (back in the pool). */
  private buf: Buffer | null;
  /** Plain-HTTP targets: the response reader and the keep-alive connection (see http1.ts). */
  private readonly reader: ResponseReader | null;
  private readonly conn: PlainConnection | null;
  /** The request bytes, built once when there is no Authorization header to re-read. */
  private request: Buffer | null;

  constructor(url: string, timeoutMs: number, agents: PoolAgents, opts: HttpScrapeOptions) {
    this.url = new URL(url);
    this.agents = agents;
    this.opts = opts;
    this.timeoutMs = timeoutMs;
    this.timeoutHeader = String(timeoutMs / 1000);
    this.buf = null;
    this.request = null;
    if (this.url.protocol === 'http:') {
      this.reader = new ResponseReader(takeBodyBuffer);
      const host = this.url.hostname.replace(/^\[(.*)\]$/, '$1'); // an IPv6 literal
      this.conn = new PlainConnection(host, Number(this.url.port || 80), this.reader);
    } else {
      this.reader = null;
      this.conn = null;
    }
  }

  /** Closes the keep-alive connection of a plain-HTTP target (the target is gone). */
  close(): void {
    this.conn?.close();
  }

  /**
   * GETs the target. Rejects with a ScrapeError on a non-200 status, a timeout (the
   * request is aborted), a connection error, or a body over the limit. `signal` aborts early.
   */
  fetch(signal: AbortSignal): Promise<FetchResult> {
    if (this.conn !== null) return this.fetchPlain(signal, this.conn, this.reader!);
    const url = this.url;
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string> = {
      Accept: PROMETHEUS_SCRAPE_ACCEPT,
      'Accept-Encoding': 'gzip',
      'User-Agent': this.opts.userAgent,
      'X-Prometheus-Scrape-Timeout-Seconds': this.timeoutHeader,
    };
    return new Promise<FetchResult>((resolve, reject) => {
      let auth: string | undefined;
      try {
        auth = scrapeAuthorization(this.opts.httpClient);
      } catch (err) {
        reject(err);
        return;
      }
      if (auth !== undefined) headers.Authorization = auth;
      const end = new FetchEnd(this.timeoutMs, signal, resolve, reject, () => req.destroy());
      const fail = (err: ScrapeError): void => end.fail(err);
      const mod = isHttps ? https : http;
      const req = mod.request(
        url,
        { method: 'GET', headers, agent: isHttps ? this.agents.https : this.agents.http },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            fail(httpStatusError(res.statusCode ?? 0, res.statusMessage ?? ''));
            return;
          }
          const enc = res.headers['content-encoding'] ?? '';
          const inflate = inflaterFor(enc);
          if (inflate === undefined) {
            res.resume();
            try {
              decodeBody(EMPTY, enc, 0);
            } catch (err) {
              fail(err as ScrapeError);
            }
            return;
          }
          const limit = this.opts.bodySizeLimitBytes;
          // Compressed bytes are at most a little more than the body they hold (stored
          // blocks): a stream past that is over the limit once inflated.
          const rawLimit =
            limit <= 0 ? 0 : inflate === null ? limit : limit + Math.ceil(limit / 64) + 1024;
          let n = 0;
          res.on('data', (chunk: Buffer) => {
            if (end.settled) return;
            const need = n + chunk.length;
            if (rawLimit > 0 && need > rawLimit) {
              fail(
                new ScrapeError(
                  'ERR_SCRAPE_BODY_SIZE_LIMIT',
                  `body size limit exceeded: read ${need} bytes, limit ${limit}`,
                ),
              );
              return;
            }
            let buf = this.buf;
            if (buf === null) buf = this.buf = bodyBuffers.get();
            if (need > buf.length) {
              const grown = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
              buf.copy(grown, 0, 0, n);
              buf = this.buf = grown;
            }
            chunk.copy(buf, n);
            n = need;
          });
          res.on('end', () => {
            if (end.settled) return;
            let body: Buffer;
            try {
              body = decodeBody(this.buf === null ? EMPTY : this.buf.subarray(0, n), enc, limit);
            } catch (err) {
              fail(err as ScrapeError);
              return;
            }
            end.resolve({ body, contentType: String(res.headers['content-type'] ?? '') });
          });
          res.on('error', (err: Error) =>
            fail(
              new ScrapeError('ERR_SCRAPE_BODY', `cannot read body: ${err.message}`, {
                cause: err,
              }),
            ),
          );
          res.on('aborted', () =>
            fail(new ScrapeError('ERR_SCRAPE_BODY', 'connection closed while reading body')),
          );
        },
      );
      req.on('error', (err: Error) =>
        fail(
          new ScrapeError('ERR_SCRAPE_CONNECT', `Get "${url.href}": ${err.message}`, {
            cause: err,
          }),
        ),
      );
      req.end();
    });
  }

  /** GET over the target's own keep-alive connection: see http1.ts. */
  private fetchPlain(
    signal: AbortSignal,
    conn: PlainConnection,
    reader: ResponseReader,
  ): Promise<FetchResult> {
    return new Promise<FetchResult>((resolve, reject) => {
      let request: Buffer;
      try {
        request = this.requestBytes();
      } catch (err) {
        reject(err);
        return;
      }
      const limit = this.opts.bodySizeLimitBytes;
      let retried = false;
      const end = new FetchEnd(this.timeoutMs, signal, resolve, reject, () => conn.close());
      const fail = (err: ScrapeError): void => end.fail(err);
      const events: ConnectionEvents = {
        onState: (state) => {
          if (end.settled) return;
          if (reader.status >= 200 && reader.status !== 200) {
            fail(httpStatusError(reader.status, reader.statusText));
            return;
          }
          if (state === 'more') return;
          if (state === 'failed') {
            fail(
              reader.overLimit
                ? new ScrapeError('ERR_SCRAPE_BODY_SIZE_LIMIT', reader.error)
                : new ScrapeError('ERR_SCRAPE_BODY', `cannot read body: ${reader.error}`),
            );
            return;
          }
          conn.finished(reader.keepAlive);
          let body: Buffer;
          try {
            body = decodeBody(
              reader.buf!.subarray(reader.bodyStart, reader.bodyEnd),
              reader.contentEncoding,
              limit,
            );
          } catch (err) {
            fail(err as ScrapeError);
            return;
          }
          end.resolve({ body, contentType: reader.contentType });
        },
        onError: (err, reused) => {
          if (end.settled) return;
          if (reused && !retried) {
            // The server closed the idle connection as the request went out: once more
            // on a new one, as Go's transport retries a GET on a reused connection.
            retried = true;
            reader.reset(limit);
            conn.send(request, events);
            return;
          }
          fail(
            new ScrapeError('ERR_SCRAPE_CONNECT', `Get "${this.url.href}": ${err.message}`, {
              cause: err,
            }),
          );
        },
      };
      reader.reset(limit);
      conn.send(request, events);
    });
  }

  /** The GET request's bytes, with Prometheus's scrape headers. */
  private requestBytes(): Buffer {
    const auth = scrapeAuthorization(this.opts.httpClient);
    if (auth === undefined && this.request !== null) return this.request;
    const u = this.url;
    const ua = this.opts.userAgent;
    if (/[\r\n]/.test(ua) || (auth !== undefined && /[\r\n]/.test(auth))) {
      throw new ScrapeError('ERR_SCRAPE_AUTH', 'a request header value contains a line break');
    }
    const head =
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUser-Agent: ${ua}\r\n` +
      `Accept: ${PROMETHEUS_SCRAPE_ACCEPT}\r\nAccept-Encoding: gzip\r\n` +
      `X-Prometheus-Scrape-Timeout-Seconds: ${this.timeoutHeader}\r\n` +
      (auth !== undefined ? `Authorization: ${auth}\r\n` : '') +
      '\r\n';
    const bytes = Buffer.from(head, 'latin1');
    if (auth === undefined) this.request = bytes;
    return bytes;
  }

  /** The body of the last fetch is no longer used: its buffer goes back to the pool. */
  release(): void {
    const reader = this.reader;
    if (reader !== null && reader.buf !== null) {
      bodyBuffers.put(reader.buf);
      reader.buf = null;
    }
    const b = this.buf;
    if (b === null) return;
    this.buf = null;
    bodyBuffers.put(b);
  }
}

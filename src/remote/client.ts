/**
 * The HTTP side of remote write: one keep-alive client per endpoint that POSTs a
 * snappy-compressed WriteRequest with the protocol headers, the user's headers (which
 * may not override the protocol's), basic auth or an Authorization header, and TLS.
 * @module
 */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { urlToHttpOptions } from 'node:url';
import type { RemoteWriteConfig } from '../config/index.js';
import { ConfigError } from '../model/errors.js';

/** The version this package announces in User-Agent. */
export const USER_AGENT = 'meshmetrics/0.1.0';

/** Headers of remote write 1.0; users cannot override them. */
export const PROTOCOL_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'User-Agent': USER_AGENT,
  'X-Prometheus-Remote-Write-Version': '0.1.0',
});

/** What an attempt to send got back. */
export interface SendResult {
  /** HTTP status, or 0 for a network error or timeout. */
  status: number;
  /** Delay asked for by Retry-After (ms), or -1. */
  retryAfterMs: number;
  /** The first KiB of the body, or the network error's message. */
  message: string;
}

/** POSTs compressed requests to one endpoint. */
export class RemoteWriteClient {
  readonly url: URL;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;
  private readonly baseHeaders: Record<string, string>;
  private readonly transport: typeof http | typeof https;
  private readonly cfg: RemoteWriteConfig;
  /** Request options but the headers, built once (not from the URL per request). */
  private readonly target: http.RequestOptions;

  constructor(cfg: RemoteWriteConfig) {
    this.cfg = cfg;
    try {
      this.url = new URL(cfg.url);
    } catch {
      throw new ConfigError(`remote_write url ${JSON.stringify(cfg.url)} is not a valid URL`);
    }
    this.timeoutMs = cfg.remoteTimeoutMs;
    const tls = cfg.httpClient.tlsConfig;
    if (this.url.protocol === 'https:') {
      this.transport = https;
      this.agent = new https.Agent({
        keepAlive: true,
        ca: tls.caFile ? readFileSync(tls.caFile) : tls.ca || undefined,
        cert: tls.certFile ? readFileSync(tls.certFile) : tls.cert || undefined,
        key: tls.keyFile ? readFileSync(tls.keyFile) : tls.key || undefined,
        servername: tls.serverName || undefined,
        rejectUnauthorized: !tls.insecureSkipVerify,
      });
    } else {
      this.transport = http;
      this.agent = new http.Agent({ keepAlive: true });
    }
    // User headers first; the protocol's overwrite them whatever their case.
    const h: Record<string, string> = {};
    const reserved = new Set(Object.keys(PROTOCOL_HEADERS).map((k) => k.toLowerCase()));
    for (const [k, v] of Object.entries(cfg.headers)) {
      if (!reserved.has(k.toLowerCase()) && k.toLowerCase() !== 'authorization') h[k] = v;
    }
    Object.assign(h, PROTOCOL_HEADERS);
    this.baseHeaders = h;
    this.target = {
      ...urlToHttpOptions(this.url),
      method: 'POST',
      agent: this.agent,
      timeout: this.timeoutMs,
    };
  }

  /** The Authorization header, read each time so rotated credential files are seen. */
  private authorization(): string | null {
    const hc = this.cfg.httpClient;
    if (hc.basicAuth !== null) {
      const pw = hc.basicAuth.passwordFile
        ? readFileSync(hc.basicAuth.passwordFile, 'utf8').trim()
        : hc.basicAuth.password;
      return 'Basic ' + Buffer.from(`${hc.basicAuth.username}:${pw}`).toString('base64');
    }
    if (hc.authorization !== null) {
      const a = hc.authorization;
      const cred = a.credentialsFile
        ? readFileSync(a.credentialsFile, 'utf8').trim()
        : a.credentials;
      return `${a.type || 'Bearer'} ${cred}`;
    }
    return null;
  }

  /** Sends one compressed body; never throws (network errors come back as status 0). */
  send(body: Buffer): Promise<SendResult> {
    return new Promise((resolve) => {
      const headers: Record<string, string | number> = {
        ...this.baseHeaders,
        'Content-Length': body.length,
      };
      let auth: string | null;
      try {
        auth = this.authorization();
      } catch (err) {
        resolve({
          status: 0,
          retryAfterMs: -1,
          message: `cannot read credentials: ${(err as Error).message}`,
        });
        return;
      }
      if (auth !== null) headers['Authorization'] = auth;
      let done = false;
      const finish = (r: SendResult): void => {
        if (!done) {
          done = true;
          resolve(r);
        }
      };
      const req = this.transport.request({ ...this.target, headers }, (res) => {
        const chunks: Buffer[] = [];
        let got = 0;
        res.on('data', (c: Buffer) => {
          if (got < 1024) chunks.push(c);
          got += c.length;
        });
        res.on('end', () =>
          finish({
            status: res.statusCode ?? 0,
            retryAfterMs: parseRetryAfter(res.headers['retry-after']),
            message: Buffer.concat(chunks).subarray(0, 1024).toString('utf8'),
          }),
        );
        res.on('error', (err) => finish({ status: 0, retryAfterMs: -1, message: err.message }));
      });
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.timeoutMs}ms`)));
      req.on('error', (err) => finish({ status: 0, retryAfterMs: -1, message: err.message }));
      req.end(body);
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** Retry-After as seconds or an HTTP date, in ms from now; -1 when absent or unreadable. */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number {
  if (v === undefined || v === '') return -1;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const d = Date.parse(v);
  return Number.isNaN(d) ? -1 : Math.max(0, d - now);
}

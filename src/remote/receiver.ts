/**
 * The remote-write receiver (`POST /api/v1/write`, Prometheus `storage/remote/write_handler.go`):
 * snappy block decode with a size limit, protobuf decode into columns, validation, one
 * appender per request, commit. 204 on success; 400 for malformed data or samples the
 * store rejects (out of order, out of bounds, duplicate: the whole request is rolled
 * back, as Prometheus does, so the sender does not retry); 503 when too many requests are
 * already in progress.
 * @module
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import snappy from 'snappy';
import { PromError } from '../model/errors.js';
import { Labels, isValidLabelName, isValidMetricName } from '../model/labels.js';
import type { Appendable } from '../storage/interface.js';
import { DecodedWriteRequest, decodeWriteRequest } from './protobuf.js';

/** Options of a {@link RemoteWriteReceiver}. */
export interface ReceiverOptions {
  /** Largest decoded (uncompressed) request, bytes. Default 32 MiB. */
  maxDecodedBytes?: number;
  /** Largest compressed body, bytes. Default 32 MiB. */
  maxBodyBytes?: number;
  /** Requests handled at once; more get 503. Default 16. */
  maxConcurrent?: number;
}

/** A request the receiver refuses, with the HTTP status to answer. */
export class RemoteWriteRejection extends PromError {
  readonly status: number;
  constructor(status: number, message: string) {
    super('ERR_REMOTE_WRITE_REJECTED', message);
    this.name = 'RemoteWriteRejection';
    this.status = status;
  }
}

/** Length announced by a snappy block's varint preamble, or -1 when malformed. */
export function snappyDecodedLength(buf: Uint8Array): number {
  let n = 0;
  let mul = 1;
  for (let i = 0; i < 5 && i < buf.length; i++) {
    n += (buf[i] & 0x7f) * mul;
    if (buf[i] < 0x80) return n;
    mul *= 128;
  }
  return -1;
}

function describeSeries(pairs: readonly string[]): string {
  let name = '';
  const parts: string[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i] === '__name__') name = pairs[i + 1];
    else parts.push(`${pairs[i]}=${JSON.stringify(pairs[i + 1])}`);
  }
  return `${name}{${parts.join(', ')}}`;
}

/** Checks one series' label pairs; returns the problem or null. */
export function checkSeriesLabels(pairs: readonly string[]): string | null {
  if (pairs.length === 0) return 'series without labels';
  for (let i = 0; i < pairs.length; i += 2) {
    const n = pairs[i];
    const v = pairs[i + 1];
    if (n === '') return 'empty label name';
    if (v === '') return `empty value for label ${JSON.stringify(n)}`;
    if (n === '__name__') {
      if (!isValidMetricName(v)) return `invalid metric name ${JSON.stringify(v)}`;
    } else if (!isValidLabelName(n)) return `invalid label name ${JSON.stringify(n)}`;
    if (i > 0) {
      const p = pairs[i - 2];
      if (p === n) return `duplicate label name ${JSON.stringify(n)}`;
      if (p > n) return `labels not sorted: ${JSON.stringify(p)} before ${JSON.stringify(n)}`;
    }
  }
  return null;
}

/** Accepts remote-write requests into an {@link Appendable}. */
export class RemoteWriteReceiver {
  private readonly appendable: Appendable;
  private readonly maxDecoded: number;
  private readonly maxBody: number;
  private readonly maxConcurrent: number;
  private inFlight = 0;
  /** Samples and series appended so far. */
  samplesReceived = 0;
  requestsRejected = 0;

  constructor(appendable: Appendable, opts: ReceiverOptions = {}) {
    this.appendable = appendable;
    this.maxDecoded = opts.maxDecodedBytes ?? 32 << 20;
    this.maxBody = opts.maxBodyBytes ?? 32 << 20;
    this.maxConcurrent = opts.maxConcurrent ?? 16;
  }

  /** Handles one HTTP request (any method other than POST gets 405). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'POST') {
      reply(res, 405, 'method not allowed\n');
      req.resume();
      return;
    }
    if (this.inFlight >= this.maxConcurrent) {
      reply(res, 503, `too many concurrent remote write requests (limit ${this.maxConcurrent})\n`);
      req.resume();
      return;
    }
    this.inFlight++;
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > this.maxBody) tooBig = true;
      else chunks.push(c);
    });
    req.on('error', () => {
      this.inFlight--;
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const work = tooBig
        ? Promise.reject(new RemoteWriteRejection(413, `request body over ${this.maxBody} bytes`))
        : this.accept(body);
      work
        .then(
          () => reply(res, 204, ''),
          (err: Error) => {
            this.requestsRejected++;
            const status = err instanceof RemoteWriteRejection ? err.status : 500;
            reply(res, status, err.message + '\n');
          },
        )
        .finally(() => this.inFlight--);
    });
  }

  /** Decodes, validates and appends one compressed request body. */
  async accept(body: Buffer): Promise<number> {
    const want = snappyDecodedLength(body);
    if (want < 0)
      throw new RemoteWriteRejection(400, 'snappy: corrupt input (bad length preamble)');
    if (want > this.maxDecoded) {
      throw new RemoteWriteRejection(
        400,
        `decoded request of ${want} bytes is over the limit of ${this.maxDecoded}`,
      );
    }
    let raw: Buffer;
    try {
      raw = snappy.uncompressSync(body) as Buffer;
    } catch (err) {
      throw new RemoteWriteRejection(400, `snappy: ${(err as Error).message}`);
    }
    const req = new DecodedWriteRequest();
    try {
      decodeWriteRequest(raw, req);
    } catch (err) {
      throw new RemoteWriteRejection(400, (err as Error).message);
    }
    for (let s = 0; s < req.series; s++) {
      const pairs = req.pairsOf(s);
      const problem = checkSeriesLabels(pairs);
      if (problem !== null) {
        throw new RemoteWriteRejection(
          400,
          `invalid series ${s} ${describeSeries(pairs)}: ${problem}`,
        );
      }
    }
    const app = this.appendable.appender();
    let n = 0;
    try {
      for (let s = 0; s < req.series; s++) {
        const pairs = req.pairsOf(s);
        const ls = Labels.fromSortedPairs(pairs);
        let ref = 0;
        for (let i = req.sampleStart[s]; i < req.sampleStart[s + 1]; i++) {
          try {
            ref = app.append(ref, ls, req.ts[i], req.vs[i]);
          } catch (err) {
            const m = (err as Error).message;
            throw new RemoteWriteRejection(
              400,
              `${m}: series ${describeSeries(pairs)}, sample t=${req.ts[i]} v=${req.vs[i]}`,
            );
          }
          n++;
        }
      }
    } catch (err) {
      app.rollback();
      throw err;
    }
    await app.commit();
    this.samplesReceived += n;
    return n;
  }
}

function reply(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, body === '' ? {} : { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

const receivers = new WeakMap<Appendable, RemoteWriteReceiver>();

/**
 * The handler the web server routes `POST /api/v1/write` to (behind
 * `--web.enable-remote-write-receiver`). One receiver (and concurrency limit) per store.
 */
export function handleRemoteWrite(
  req: IncomingMessage,
  res: ServerResponse,
  appendable: Appendable,
): void {
  let r = receivers.get(appendable);
  if (r === undefined) {
    r = new RemoteWriteReceiver(appendable);
    receivers.set(appendable, r);
  }
  r.handle(req, res);
}

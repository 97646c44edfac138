/**
 * The proxy's metric families and the calls the forwarding code makes to record into them.
 * Every family, label name, label order and value follows Linkerd's legacy families
 * (reference/linkerd-metrics.md §1.2, §1.5, §1.7, §1.9).
 * @module
 */

import {
  CallbackFamily,
  HistogramFamily,
  HistogramSeries,
  ScalarSeries,
  LATENCY_BOUNDS_MS,
  Registry,
  ScalarFamily,
  type Clock,
} from './metrics.js';
import { labelSetKeyOf, type Direction, type LabelSet, type LabelSets } from './labels.js';
import { writeBuildInfo, writeProcessMetrics, type BuildInfo } from './process-metrics.js';

/** Values of the `error` label of `*_errors_total` (reference §1.7). */
export type ProxyErrorKind = 'i/o' | 'unexpected' | 'response timeout' | 'failfast' | 'loadshed';

/** Whether a response is a success: not a 5xx and, for gRPC, grpc-status 0. */
export function classify(status: number, grpcStatus: string): 'success' | 'failure' {
  return status >= 500 || (grpcStatus !== '' && grpcStatus !== '0') ? 'failure' : 'success';
}

/** Maps a socket or stream error to the `error` label of the `*_errors_total` families. */
export function errorKind(err: unknown): ProxyErrorKind {
  // System errors (ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT…) are I/O; the rest is a bug.
  return errnoOf(err) !== '' ? 'i/o' : 'unexpected';
}

/** The `errno` label of `tcp_close_total`: the error code, or "" for a clean close. */
export function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : '';
}

const STATUS_TEXT: string[] = Array.from({ length: 600 }, (_, i) => String(i));

/** The decimal text of an HTTP status, without allocating for the usual ones. */
function statusText(status: number): string {
  return status >= 0 && status < 600 ? STATUS_TEXT[status] : String(status);
}

/**
 * The series one (endpoint, status) pair records into, held by reference so a response
 * costs one short-key lookup: its latency series, its response_total series for plain HTTP
 * (no grpc-status, no error), and the others by `grpc\0error`.
 */
class StatusSlot {
  latency: HistogramSeries | null = null;
  plain: ScalarSeries | null = null;
  other: Map<string, ScalarSeries> | null = null;
}

/** Where a connection's byte counts are read from (a net.Socket). */
export interface ByteCounters {
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** Per-connection accounting kept by {@link ProxyMetrics.tcpOpen} until close. */
export class TcpHandle {
  readonly labels: LabelSet;
  readonly counters: ByteCounters | null;
  /** Bytes already added to the read/write families. */
  syncedRead = 0;
  syncedWritten = 0;
  closed = false;
  constructor(labels: LabelSet, counters: ByteCounters | null) {
    this.labels = labels;
    this.counters = counters;
  }
}

/** All of one proxy's families, registered in the order /metrics writes them. */
export class ProxyMetrics {
  readonly registry: Registry;
  readonly requestTotal: ScalarFamily;
  readonly responseLatencyMs: HistogramFamily;
  readonly responseTotal: ScalarFamily;
  readonly tcpOpenTotal: ScalarFamily;
  readonly tcpOpenConnections: ScalarFamily;
  readonly tcpReadBytesTotal: ScalarFamily;
  readonly tcpWriteBytesTotal: ScalarFamily;
  readonly tcpCloseTotal: ScalarFamily;
  readonly errors: Record<`${Direction}_${'http' | 'tcp'}`, ScalarFamily>;
  private readonly clock: Clock;
  /** (endpoint, status) → its series; dropped whenever eviction removed anything. */
  private readonly slots = new Map<string, StatusSlot>();
  /** Connections whose bytes are synced into the byte families at each render. */
  private readonly openConnections = new Set<TcpHandle>();
  /** The label sets recorded under; their ids are dropped when their series are evicted. */
  private readonly labelSets: LabelSets | null;
  /** The families whose series keys start with a label-set key. */
  private readonly labelledFamilies: (ScalarFamily | HistogramFamily)[];

  constructor(opts: {
    clock?: Clock;
    retainIdleMs?: number;
    buildInfo: BuildInfo;
    processMetrics?: boolean;
    /** The label sets the proxy records under; without it their ids are never dropped. */
    labelSets?: LabelSets;
  }) {
    this.clock = opts.clock ?? Date.now;
    this.labelSets = opts.labelSets ?? null;
    const r = (this.registry = new Registry(this.clock, opts.retainIdleMs));
    r.onEvicted = () => this.afterEviction();
    this.requestTotal = r.register(
      new ScalarFamily('request_total', 'counter', 'Total count of HTTP requests.'),
    );
    this.responseLatencyMs = r.register(
      new HistogramFamily(
        'response_latency_ms',
        "Elapsed times between a request's headers being received and its response stream completing",
        LATENCY_BOUNDS_MS,
      ),
    );
    this.responseTotal = r.register(
      new ScalarFamily('response_total', 'counter', 'Total count of HTTP responses.'),
    );
    this.tcpOpenTotal = r.register(
      new ScalarFamily('tcp_open_total', 'counter', 'Total count of opened connections'),
    );
    this.tcpOpenConnections = r.register(
      new ScalarFamily(
        'tcp_open_connections',
        'gauge',
        'Number of currently-open connections',
        true,
      ),
    );
    this.tcpReadBytesTotal = r.register(
      new ScalarFamily('tcp_read_bytes_total', 'counter', 'Total count of bytes read from peers'),
    );
    this.tcpWriteBytesTotal = r.register(
      new ScalarFamily('tcp_write_bytes_total', 'counter', 'Total count of bytes written to peers'),
    );
    this.tcpCloseTotal = r.register(
      new ScalarFamily('tcp_close_total', 'counter', 'Total count of closed connections'),
    );
    this.errors = {
      inbound_http: r.register(
        new ScalarFamily(
          'inbound_http_errors_total',
          'counter',
          'The total number of inbound HTTP requests that could not be processed due to a proxy error.',
        ),
      ),
      inbound_tcp: r.register(
        new ScalarFamily(
          'inbound_tcp_errors_total',
          'counter',
          'The total number of inbound TCP connections that could not be processed due to a proxy error.',
        ),
      ),
      outbound_http: r.register(
        new ScalarFamily(
          'outbound_http_errors_total',
          'counter',
          'The total number of outbound HTTP requests that could not be processed due to a proxy error.',
        ),
      ),
      outbound_tcp: r.register(
        new ScalarFamily(
          'outbound_tcp_errors_total',
          'counter',
          'The total number of outbound TCP connections that could not be processed due to a proxy error.',
        ),
      ),
    };
    this.labelledFamilies = [
      this.requestTotal,
      this.responseLatencyMs,
      this.responseTotal,
      this.tcpOpenTotal,
      this.tcpOpenConnections,
      this.tcpReadBytesTotal,
      this.tcpWriteBytesTotal,
      this.tcpCloseTotal,
    ];
    if (opts.processMetrics !== false)
      r.register(new CallbackFamily('process', writeProcessMetrics));
    const info = opts.buildInfo;
    r.register(new CallbackFamily('proxy_build_info', (w) => writeBuildInfo(w, info)));
  }

  /**
   * Drops the (endpoint, status) slots, which hold evicted series, and the ids of label
   * sets no series uses any more, so the id table shrinks with the series.
   */
  private afterEviction(): void {
    this.slots.clear();
    if (this.labelSets === null) return;
    const live = new Set<string>();
    for (const f of this.labelledFamilies) for (const k of f.keys()) live.add(labelSetKeyOf(k));
    this.labelSets.retain(live);
  }

  /**
   * The set to record under: `ls` itself, or, when eviction retired it while a request or
   * connection held it, the current set of the same labels (so no series is duplicated).
   */
  private current(ls: LabelSet): LabelSet {
    return ls.retired && this.labelSets !== null ? this.labelSets.make(ls.pairs) : ls;
  }

  /** Counts a request on endpoint `ep`. */
  request(ep: LabelSet): void {
    if (ep.retired) ep = this.current(ep);
    const now = this.clock();
    const s = this.requestTotal.get(ep.key) ?? this.requestTotal.create(ep.key, ep.pairs, now);
    s.value++;
    s.touchedMs = now;
  }

  /** Records time to first response byte (headers) for `status` on `ep`. */
  responseStart(ep: LabelSet, status: number, latencyMs: number): void {
    if (ep.retired) ep = this.current(ep);
    const now = this.clock();
    const key = ep.key + statusText(status);
    const slot = this.slot(key);
    let s = slot.latency;
    if (s === null || s.evicted) {
      const h = this.responseLatencyMs;
      s = slot.latency =
        h.get(key) ?? h.create(key, [...ep.pairs, 'status_code', statusText(status)], now);
    }
    this.responseLatencyMs.observeInto(s, latencyMs, now);
  }

  /** Counts a finished response; `error` is "" unless the stream failed. */
  responseEnd(ep: LabelSet, status: number, grpcStatus: string, error: string): void {
    if (ep.retired) ep = this.current(ep);
    const now = this.clock();
    const key = ep.key + statusText(status);
    const slot = this.slot(key);
    let s: ScalarSeries | null | undefined;
    if (grpcStatus === '' && error === '') {
      s = slot.plain;
      if (s === null || s.evicted)
        s = slot.plain = this.responseSeries(ep, key, status, '', '', now);
    } else {
      const sub = grpcStatus + '\u0000' + error;
      slot.other ??= new Map();
      s = slot.other.get(sub);
      if (s === undefined || s.evicted) {
        s = this.responseSeries(ep, key, status, grpcStatus, error, now);
        slot.other.set(sub, s);
      }
    }
    s.value++;
    s.touchedMs = now;
  }

  private slot(key: string): StatusSlot {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = new StatusSlot();
      this.slots.set(key, slot);
    }
    return slot;
  }

  private responseSeries(
    ep: LabelSet,
    key: string,
    status: number,
    grpc: string,
    error: string,
    now: number,
  ): ScalarSeries {
    const cls = error !== '' ? 'failure' : classify(status, grpc);
    const full = key + '\u0000' + grpc + '\u0000' + error;
    const f = this.responseTotal;
    const code = statusText(status);
    return (
      f.get(full) ??
      f.create(
        full,
        [
          ...ep.pairs,
          'status_code',
          code,
          'classification',
          cls,
          'grpc_status',
          grpc,
          'error',
          error,
        ],
        now,
      )
    );
  }

  /** Counts a proxy error on the `<direction>_<protocol>_errors_total` family. */
  error(direction: Direction, protocol: 'http' | 'tcp', kind: ProxyErrorKind): void {
    this.errors[`${direction}_${protocol}`].add(kind, ['error', kind], 1, this.clock());
  }

  /**
   * Records a connection opening; pass the handle to {@link tcpClose} exactly once. With
   * `counters`, the byte families also include what open connections moved so far (synced
   * at each render), so long-lived connections show their traffic before they close.
   */
  tcpOpen(labels: LabelSet, counters: ByteCounters | null = null): TcpHandle {
    // An open connection keeps its tcp_open_connections series, so its set stays live.
    if (labels.retired) labels = this.current(labels);
    const now = this.clock();
    this.tcpOpenTotal.add(labels.key, labels.pairs, 1, now);
    this.tcpOpenConnections.add(labels.key, labels.pairs, 1, now);
    const h = new TcpHandle(labels, counters);
    if (counters !== null) this.openConnections.add(h);
    return h;
  }

  /** Records a connection closing with its total byte counts and errno ("" when clean). */
  tcpClose(h: TcpHandle, errno: string, readBytes: number, writeBytes: number): void {
    if (h.closed) return;
    h.closed = true;
    this.openConnections.delete(h);
    const now = this.clock();
    const { key, pairs } = h.labels;
    this.tcpOpenConnections.add(key, pairs, -1, now);
    this.syncBytes(h, readBytes, writeBytes, now, true);
    const ck = key + '\u0002' + errno;
    const s =
      this.tcpCloseTotal.get(ck) ?? this.tcpCloseTotal.create(ck, [...pairs, 'errno', errno], now);
    s.value++;
    s.touchedMs = now;
  }

  private syncBytes(
    h: TcpHandle,
    read: number,
    written: number,
    now: number,
    always: boolean,
  ): void {
    const { key, pairs } = h.labels;
    const dr = read - h.syncedRead;
    const dw = written - h.syncedWritten;
    if (always || dr > 0) this.tcpReadBytesTotal.add(key, pairs, dr, now);
    if (always || dw > 0) this.tcpWriteBytesTotal.add(key, pairs, dw, now);
    h.syncedRead = read;
    h.syncedWritten = written;
  }

  /** The /metrics body (text 0.0.4). */
  render(): Buffer {
    const now = this.clock();
    for (const h of this.openConnections) {
      const c = h.counters!;
      this.syncBytes(h, c.bytesRead, c.bytesWritten, now, false);
    }
    return this.registry.render();
  }
}

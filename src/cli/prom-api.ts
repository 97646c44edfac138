/**
 * A client for the Prometheus HTTP API (`/api/v1/query`, `query_range`, `targets`,
 * `status/config`) and `/federate`, as used by the commands. It speaks to any
 * Prometheus-compatible server. Credentials in the URL (`http://user:pass@host:9090`) are
 * sent as basic auth, since `fetch` refuses URLs that carry them.
 * @module
 */
import { PromError } from '../model/errors.js';
import type { FlagSpec } from './flags.js';

/** Where the commands look for the API when `--prometheus-url` is not given. */
export const DEFAULT_PROMETHEUS_URL = 'http://127.0.0.1:9090';

/** The URL from the flag, else `MESHMETRICS_PROMETHEUS_URL`, else the default. */
export function prometheusUrl(flag: string | undefined): string {
  return flag || process.env.MESHMETRICS_PROMETHEUS_URL || DEFAULT_PROMETHEUS_URL;
}

/**
 * The `--prometheus-url` flag every client command takes; `purpose` says what the server is
 * used for, when that is more than answering the command's queries.
 */
export function prometheusUrlFlag(purpose = 'Prometheus-compatible API'): FlagSpec {
  return {
    name: 'prometheus-url',
    kind: 'string',
    help: `${purpose} (env MESHMETRICS_PROMETHEUS_URL; default ${DEFAULT_PROMETHEUS_URL})`,
  };
}

/**
 * The server answered with an error envelope, or could not be reached. `errorType` is the
 * API's category (`bad_data`, `execution`, `timeout`, …), or `unavailable` for a network
 * failure; `status` is the HTTP status (0 when there was no answer).
 */
export class ApiError extends PromError {
  readonly errorType: string;
  readonly status: number;
  constructor(errorType: string, message: string, status: number, options?: { cause?: unknown }) {
    super('ERR_API', `${errorType}: ${message}`, options);
    this.name = 'ApiError';
    this.errorType = errorType;
    this.status = status;
  }
}

/** A label set as the API returns it. */
export type Metric = Record<string, string>;
/** `[unix seconds, "value"]`. */
export type SamplePair = [number, string];

/** One element of an instant vector. */
export interface VectorSample {
  metric: Metric;
  value: SamplePair;
}
/** One series of a range result. */
export interface MatrixSeries {
  metric: Metric;
  values: SamplePair[];
}

/** The `data` of a query answer. */
export type QueryResult =
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'scalar'; result: SamplePair }
  | { resultType: 'string'; result: SamplePair };

/** A query answer with its warnings. */
export interface QueryAnswer {
  data: QueryResult;
  warnings: string[];
}

/** One active target of `/api/v1/targets`. */
export interface ActiveTarget {
  discoveredLabels: Metric;
  labels: Metric;
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  lastError: string;
}

/** Options of {@link PromApiClient}. */
export interface PromApiClientOptions {
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  /** Aborts every request (e.g. an overall deadline). */
  signal?: AbortSignal;
}

/** A client for one server. Methods throw {@link ApiError}. */
export class PromApiClient {
  /** The server's base URL without credentials or trailing slash. */
  readonly baseUrl: string;
  private readonly authorization: string | null;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;

  constructor(url: string, opts: PromApiClientOptions = {}) {
    let u: URL;
    try {
      u = new URL(url);
    } catch (err) {
      throw new ApiError('bad_data', `invalid Prometheus URL "${url}"`, 0, { cause: err });
    }
    this.authorization =
      u.username || u.password
        ? 'Basic ' +
          Buffer.from(
            `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`,
          ).toString('base64')
        : null;
    u.username = '';
    u.password = '';
    this.baseUrl = u.toString().replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.signal = opts.signal;
  }

  /** An instant query; `time` is unix seconds or RFC 3339 (server's "now" when omitted). */
  async query(expr: string, time?: string): Promise<QueryAnswer> {
    const form = new URLSearchParams({ query: expr });
    if (time !== undefined) form.set('time', time);
    return this.queryCall('/api/v1/query', form);
  }

  /** A range query; times are unix seconds or RFC 3339, `step` a duration or seconds. */
  async queryRange(expr: string, start: string, end: string, step: string): Promise<QueryAnswer> {
    return this.queryCall(
      '/api/v1/query_range',
      new URLSearchParams({ query: expr, start, end, step }),
    );
  }

  /** The active targets of `/api/v1/targets?state=active`. */
  async targets(): Promise<ActiveTarget[]> {
    const body = await this.call('/api/v1/targets?state=active', null);
    const data = body.data as { activeTargets?: ActiveTarget[] } | undefined;
    return data?.activeTargets ?? [];
  }

  /** The global scrape interval from `/api/v1/status/config`, in ms, or null if unknown. */
  async scrapeIntervalMs(): Promise<number | null> {
    const body = await this.call('/api/v1/status/config', null);
    const yaml = (body.data as { yaml?: string } | undefined)?.yaml ?? '';
    const m = /^global:\s*\n(?:[ \t]+.*\n)*?[ \t]+scrape_interval:\s*(\d+)(ms|s|m|h)\b/m.exec(yaml);
    if (!m) return null;
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    return Number(m[1]) * unit;
  }

  /** The text of `/federate` for the given `match[]` selectors. */
  async federate(matchers: readonly string[]): Promise<string> {
    const qs = new URLSearchParams();
    for (const m of matchers) qs.append('match[]', m);
    const res = await this.fetch(`/federate?${qs}`, null);
    const text = await res.text();
    if (res.status !== 200)
      throw new ApiError(
        res.status === 400 ? 'bad_data' : 'internal',
        text.trim() || res.statusText,
        res.status,
      );
    return text;
  }

  private async queryCall(path: string, form: URLSearchParams): Promise<QueryAnswer> {
    const body = await this.call(path, form);
    return {
      data: body.data as QueryResult,
      warnings: (body.warnings as string[] | undefined) ?? [],
    };
  }

  /** Calls an API endpoint (POST form when `form` is given) and unwraps the envelope. */
  private async call(path: string, form: URLSearchParams | null): Promise<Record<string, unknown>> {
    const res = await this.fetch(path, form);
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ApiError(
        'bad_response',
        `${path}: HTTP ${res.status}: ${text.slice(0, 200).trim()}`,
        res.status,
      );
    }
    if (body.status !== 'success') {
      throw new ApiError(
        String(body.errorType ?? 'unknown'),
        String(body.error ?? `HTTP ${res.status}`),
        res.status,
      );
    }
    return body;
  }

  private async fetch(path: string, form: URLSearchParams | null): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.authorization) headers.authorization = this.authorization;
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    try {
      return await fetch(this.baseUrl + path, {
        method: form ? 'POST' : 'GET',
        headers,
        body: form ? form.toString() : undefined,
        signal,
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = timeout.aborted
        ? `timed out after ${this.timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (err as Error).message);
      throw new ApiError(
        timeout.aborted ? 'timeout' : 'unavailable',
        `cannot reach ${this.baseUrl}${path}: ${why}`,
        0,
        { cause: err },
      );
    }
  }
}

/** A sample value as a number (`"NaN"`, `"+Inf"` included). */
export function sampleValue(p: SamplePair): number {
  return Number(p[1] === '+Inf' ? Infinity : p[1] === '-Inf' ? -Infinity : p[1]);
}

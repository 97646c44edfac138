/**
 * The dashboard's only way to the collector: the Prometheus HTTP API, by GET requests that a
 * user could repeat with curl (`curlOf` gives the command). Errors carry the API's own
 * `errorType` and `error` text so a page can say what went wrong.
 */

/** One series of an instant vector. */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}
/** One series of a range matrix. */
export interface MatrixSeries {
  metric: Record<string, string>;
  values: [number, string][];
}
export type QueryResult =
  | { resultType: 'vector'; result: VectorSample[] }
  | { resultType: 'matrix'; result: MatrixSeries[] }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'string'; result: [number, string] };

/** One scrape target as /api/v1/targets lists it. */
export interface ActiveTarget {
  discoveredLabels: Record<string, string>;
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: 'up' | 'down' | 'unknown';
  scrapeInterval: string;
  scrapeTimeout: string;
}
export interface DroppedTarget {
  discoveredLabels: Record<string, string>;
}
export interface TargetsResult {
  activeTargets: ActiveTarget[];
  droppedTargets: DroppedTarget[];
}
export interface MetricMetadata {
  type: string;
  help: string;
  unit: string;
}
export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  goVersion: string;
}

/** An answer of the API with status "error", or a network failure. */
export class ApiError extends Error {
  constructor(
    /** The API's `errorType` (`bad_data`, `execution`, ...), or `network` / `http`. */
    readonly errorType: string,
    message: string,
    /** The request path with its query string, as sent. */
    readonly request: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Where the API lives: the page's own origin and path prefix unless told otherwise. */
function apiBase(): string {
  const path = window.location.pathname.replace(/[^/]*$/, '');
  return window.location.origin + path;
}

/** The curl command line for a request the dashboard makes. */
export function curlOf(path: string, params: Record<string, string | string[]> = {}): string {
  return `curl -sG '${apiBase()}${path.replace(/^\//, '')}'${Object.entries(params)
    .flatMap(([k, v]) =>
      (Array.isArray(v) ? v : [v]).map(
        (x) => ` --data-urlencode '${k}=${x.replace(/'/g, `'\\''`)}'`,
      ),
    )
    .join('')}`;
}

async function get<T>(
  path: string,
  params: Record<string, string | string[]> = {},
  signal?: AbortSignal,
): Promise<T> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    for (const x of Array.isArray(v) ? v : [v]) qs.append(k, x);
  const request = `${path}${qs.size > 0 ? `?${qs}` : ''}`;
  let res: Response;
  try {
    res = await fetch(apiBase() + request.replace(/^\//, ''), {
      signal,
      headers: { Accept: 'application/json' },
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError('network', `cannot reach the collector: ${(e as Error).message}`, request);
  }
  let body: { status?: string; data?: T; errorType?: string; error?: string };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new ApiError(
      'http',
      `HTTP ${res.status} ${res.statusText}: the answer is not JSON`,
      request,
    );
  }
  if (body.status !== 'success') {
    throw new ApiError(body.errorType ?? 'http', body.error ?? `HTTP ${res.status}`, request);
  }
  return body.data as T;
}

/** Seconds since the epoch, as the API takes them. */
export function toApiTime(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export const api = {
  /** `GET /api/v1/query` */
  query(query: string, timeMs?: number, signal?: AbortSignal): Promise<QueryResult> {
    const p: Record<string, string> = { query };
    if (timeMs !== undefined) p.time = toApiTime(timeMs);
    return get('/api/v1/query', p, signal);
  },
  /** `GET /api/v1/query_range` */
  queryRange(
    query: string,
    startMs: number,
    endMs: number,
    stepSeconds: number,
    signal?: AbortSignal,
  ): Promise<QueryResult> {
    return get(
      '/api/v1/query_range',
      { query, start: toApiTime(startMs), end: toApiTime(endMs), step: String(stepSeconds) },
      signal,
    );
  },
  /** `GET /api/v1/targets` */
  targets(signal?: AbortSignal): Promise<TargetsResult> {
    return get('/api/v1/targets', {}, signal);
  },
  /** `GET /api/v1/labels` */
  labelNames(match: string[] = [], signal?: AbortSignal): Promise<string[]> {
    return get('/api/v1/labels', match.length > 0 ? { 'match[]': match } : {}, signal);
  },
  /** `GET /api/v1/label/<name>/values` */
  labelValues(name: string, match: string[] = [], signal?: AbortSignal): Promise<string[]> {
    return get(
      `/api/v1/label/${encodeURIComponent(name)}/values`,
      match.length > 0 ? { 'match[]': match } : {},
      signal,
    );
  },
  /** `GET /api/v1/series` */
  series(match: string[], signal?: AbortSignal): Promise<Record<string, string>[]> {
    return get('/api/v1/series', { 'match[]': match }, signal);
  },
  /** `GET /api/v1/metadata` */
  metadata(signal?: AbortSignal): Promise<Record<string, MetricMetadata[]>> {
    return get('/api/v1/metadata', {}, signal);
  },
  /** `GET /api/v1/status/buildinfo` */
  buildInfo(signal?: AbortSignal): Promise<BuildInfo> {
    return get('/api/v1/status/buildinfo', {}, signal);
  },
  /** `GET /api/v1/status/config`: the loaded configuration as YAML. */
  config(signal?: AbortSignal): Promise<{ yaml: string }> {
    return get('/api/v1/status/config', {}, signal);
  },
};

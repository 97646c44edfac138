/**
 * The engine of `meshmetrics diagnostics proxy-metrics`, after linkerd's
 * `cli/cmd/metrics.go` and `metrics_diagnostics_util.go`: find the proxies of a workload,
 * GET every `/metrics` concurrently under one overall deadline, and print each body under a
 * `#` / `# POD name (i of n)` / `#` header, or `# ERROR: …` for a proxy that did not answer.
 *
 * Without Kubernetes, proxies are found through the collector's `/api/v1/targets`: a
 * target belongs to `deploy/web` in namespace `demo` when its labels carry
 * `namespace="demo"` and `deployment="web"`, the labels the viz relabeling adds.
 * @module
 */
import { createHash } from 'node:crypto';
import { ParseError } from '../model/errors.js';
import { UsageError } from './flags.js';
import type { ActiveTarget, PromApiClient } from './prom-api.js';
import { resourceKind } from './stat.js';

/** One proxy to read. */
export interface ProxyEndpoint {
  /** What the header names it by: the pod, or the address. */
  pod: string;
  /** The full `/metrics` URL. */
  url: string;
}

/** What one proxy gave. */
export interface ProxyResult {
  pod: string;
  body: string | null;
  error: string | null;
}

/** True when TARGET is an address (`host:port` or a URL) rather than `TYPE/NAME`. */
export function isAddress(target: string): boolean {
  return /^https?:\/\//.test(target) || /^(\[[0-9a-fA-F:.]+\]|[^/\s]+):\d+$/.test(target);
}

/** The `/metrics` endpoint of an address target. */
export function endpointOfAddress(target: string): ProxyEndpoint {
  if (/^https?:\/\//.test(target)) {
    const u = new URL(target);
    if (u.pathname === '/' || u.pathname === '') u.pathname = '/metrics';
    return { pod: u.host, url: u.toString() };
  }
  return { pod: target, url: `http://${target}/metrics` };
}

/**
 * The proxies of `kind/name` among the collector's active targets: same namespace (unless
 * `namespace` is empty), the kind's label equal to `name`, and, when `job` is given, that
 * job. Deduplicated by scrape URL, sorted by pod name.
 */
export function endpointsOfWorkload(
  targets: readonly ActiveTarget[],
  typeName: string,
  namespace: string,
  job: string,
): ProxyEndpoint[] {
  const slash = typeName.indexOf('/');
  if (slash <= 0 || slash === typeName.length - 1) {
    throw new UsageError(
      `TARGET must be TYPE/NAME (e.g. deploy/web, po/web-1) or HOST:PORT, got "${typeName}"`,
    );
  }
  const kind = resourceKind(typeName.slice(0, slash));
  if (kind.kind === 'authority' || kind.kind === 'service' || kind.kind === 'namespace') {
    throw new UsageError(`proxy-metrics works on workloads and pods, not on ${kind.kind}s`);
  }
  const name = typeName.slice(slash + 1);
  const seen = new Map<string, ProxyEndpoint>();
  for (const t of targets) {
    const l = t.labels;
    if (job && l.job !== job) continue;
    if (namespace && l.namespace !== namespace) continue;
    if (l[kind.label] !== name) continue;
    if (!seen.has(t.scrapeUrl))
      seen.set(t.scrapeUrl, { pod: l.pod || l.instance || t.scrapeUrl, url: t.scrapeUrl });
  }
  return [...seen.values()].sort((a, b) =>
    a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : a.url < b.url ? -1 : 1,
  );
}

/** Finds the proxies of TARGET: an address directly, a workload through the API's targets. */
export async function resolveProxies(
  target: string,
  client: PromApiClient | null,
  namespace: string,
  job: string,
): Promise<ProxyEndpoint[]> {
  if (isAddress(target)) return [endpointOfAddress(target)];
  if (!client) throw new UsageError('finding a workload needs --prometheus-url');
  return endpointsOfWorkload(await client.targets(), target, namespace, job);
}

/**
 * GETs every endpoint concurrently; all of them share one deadline, `timeoutMs` from now or
 * `deadline` when given (so finding the proxies and reading them fit in one cap). Never throws.
 */
export async function fetchProxyMetrics(
  endpoints: readonly ProxyEndpoint[],
  timeoutMs: number,
  deadline = AbortSignal.timeout(timeoutMs),
): Promise<ProxyResult[]> {
  return Promise.all(
    endpoints.map(async (e): Promise<ProxyResult> => {
      try {
        const res = await fetch(e.url, {
          signal: deadline,
          headers: { 'accept-encoding': 'gzip' },
        });
        const body = await res.text();
        if (res.status !== 200)
          return {
            pod: e.pod,
            body: null,
            error: `GET ${e.url}: HTTP ${res.status}: ${body.trim().slice(0, 200)}`,
          };
        return { pod: e.pod, body, error: null };
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const why = deadline.aborted
          ? `timed out after ${timeoutMs} ms`
          : (cause?.code ?? cause?.message ?? (err as Error).message);
        return { pod: e.pod, body: null, error: `GET ${e.url}: ${why}` };
      }
    }),
  );
}

/** Prints results with linkerd's framing. */
export function formatProxyResults(results: readonly ProxyResult[]): string {
  let out = '';
  results.forEach((r, i) => {
    out += `#\n# POD ${r.pod} (${i + 1} of ${results.length})\n#\n`;
    if (r.error !== null) out += `# ERROR: ${r.error}\n`;
    else out += r.body!.endsWith('\n') || r.body === '' ? r.body : r.body + '\n';
  });
  return out;
}

/** Labels whose values `--obfuscate` hides, as linkerd does. */
export const OBFUSCATED_LABELS: ReadonlySet<string> = new Set([
  'authority',
  'client_id',
  'server_id',
  'target_addr',
  'dst_service',
  'dst_namespace',
]);

/** The first 4 bytes of the SHA-256 of `value`, as hex. */
export function obfuscateValue(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 8);
}

/** True when the sample `name` belongs to one of the `families` (its own name or a suffix form). */
export function inFamilies(name: string, families: ReadonlySet<string>): boolean {
  if (families.has(name)) return true;
  for (const suffix of ['_total', '_bucket', '_sum', '_count', '_created', '_info']) {
    if (name.endsWith(suffix) && families.has(name.slice(0, -suffix.length))) return true;
  }
  return false;
}

/**
 * Keeps only the listed families of a body, line by line, so the bytes that stay are the
 * proxy's own. HELP/TYPE/UNIT lines go with their family.
 */
export function filterFamilies(body: string, families: ReadonlySet<string>): string {
  const out: string[] = [];
  for (const line of body.split('\n')) {
    if (line === '') continue;
    const meta = /^#\s+(HELP|TYPE|UNIT)\s+(\S+)/.exec(line);
    if (meta) {
      if (inFamilies(meta[2], families)) out.push(line);
      continue;
    }
    if (line.startsWith('#')) continue;
    const end = line.search(/[{\s]/);
    if (inFamilies(end < 0 ? line : line.slice(0, end), families)) out.push(line);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

/**
 * Replaces the values of {@link OBFUSCATED_LABELS} with their hash, as `linkerd diagnostics
 * proxy-metrics --obfuscate` does, and leaves every other byte as the proxy wrote it: label
 * order, empty values, comments and number formatting. (Linkerd parses and re-serialises,
 * which keeps each series' label order and empty values too, but changes float formatting
 * and emits families in map order; hashing in place gives the same label values and keeps
 * the body diffable against the raw one.) The hash is of the unescaped value, so `""` becomes
 * `e3b0c442`. When `families` is given, only those families are kept.
 * @throws ParseError naming the line and column of a malformed label set.
 */
export function obfuscateBody(body: string, families: ReadonlySet<string> | null): string {
  let out = '';
  let lineNo = 0;
  for (let start = 0; start < body.length;) {
    let end = body.indexOf('\n', start);
    if (end < 0) end = body.length;
    lineNo++;
    const line = body.slice(start, end);
    out += line.charCodeAt(0) === 0x23 /* # */ ? line : obfuscateSample(line, lineNo);
    if (end < body.length) out += '\n';
    start = end + 1;
  }
  // Filtered after hashing, so an error names the line of the body as fetched.
  return families ? filterFamilies(out, families) : out;
}

/** One sample line with the values of the obfuscated labels replaced. */
function obfuscateSample(line: string, lineNo: number): string {
  const fail = (why: string, at: number): never => {
    throw new ParseError(`cannot obfuscate sample: ${why}`, lineNo, at + 1);
  };
  const brace = line.indexOf('{');
  const space = line.search(/[ \t]/);
  if (brace < 0 || (space >= 0 && space < brace)) return line; // no label set
  let out = '';
  let copied = 0;
  let i = brace + 1;
  const skipBlanks = (): void => {
    while (line.charCodeAt(i) === 0x20 || line.charCodeAt(i) === 0x09) i++;
  };
  for (;;) {
    skipBlanks();
    if (line.charCodeAt(i) === 0x7d /* } */) return out + line.slice(copied);
    const nameStart = i;
    while (i < line.length && /[A-Za-z0-9_]/.test(line[i])) i++;
    if (i === nameStart) fail('expected a label name', i);
    const name = line.slice(nameStart, i);
    skipBlanks();
    if (line[i] !== '=') fail(`expected "=" after label ${name}`, i);
    i++;
    skipBlanks();
    if (line[i] !== '"') fail(`expected a quoted value for label ${name}`, i);
    const valueStart = ++i;
    let value = '';
    for (;;) {
      if (i >= line.length) fail(`unterminated value of label ${name}`, valueStart - 1);
      const c = line[i];
      if (c === '"') break;
      if (c === '\\') {
        const e = line[i + 1];
        value += e === 'n' ? '\n' : e === '\\' || e === '"' ? e : '\\' + (e ?? '');
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
    if (OBFUSCATED_LABELS.has(name)) {
      out += line.slice(copied, valueStart) + obfuscateValue(value);
      copied = i;
    }
    i++; // closing quote
    skipBlanks();
    if (line[i] === ',') i++;
    else if (line[i] !== '}') fail('expected "," or "}" after a label value', i);
  }
}

/**
 * Content negotiation, both ways: which format to answer a request in (from its
 * `Accept`, as Go's `expfmt.NegotiateIncludingOpenMetrics` decides), and which parser to
 * read a scrape response with (from its `Content-Type`, as Prometheus 2.42 decides).
 * @module
 */

import { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, type WriterFormat } from './writer.js';

/** The format chosen for a response. */
export interface NegotiatedFormat {
  format: WriterFormat;
  /** `0.0.4` for text; `1.0.0` or `0.0.1` for OpenMetrics. */
  version: string;
  /** The Content-Type header to send. */
  contentType: string;
}

/** Content-Type of OpenMetrics 0.0.1, the version Prometheus 2.x also accepts. */
export const OPENMETRICS_0_0_1_CONTENT_TYPE =
  'application/openmetrics-text; version=0.0.1; charset=utf-8';

/**
 * The `Accept` header Prometheus 2.42 sends with every scrape: OpenMetrics 1.0.0 first,
 * then 0.0.1, then text 0.0.4, then anything.
 */
export const PROMETHEUS_SCRAPE_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const TEXT: NegotiatedFormat = Object.freeze({
  format: 'text',
  version: '0.0.4',
  contentType: TEXT_CONTENT_TYPE,
});
const OPENMETRICS_1: NegotiatedFormat = Object.freeze({
  format: 'openmetrics',
  version: '1.0.0',
  contentType: OPENMETRICS_CONTENT_TYPE,
});
const OPENMETRICS_0: NegotiatedFormat = Object.freeze({
  format: 'openmetrics',
  version: '0.0.1',
  contentType: OPENMETRICS_0_0_1_CONTENT_TYPE,
});

/** One media range of an Accept header, as goautoneg parses it. */
interface AcceptRange {
  type: string;
  subType: string;
  q: number;
  params: Map<string, string>;
}

/**
 * Parses an `Accept` header the way goautoneg's `ParseAccept` (used by expfmt) does:
 * case-sensitive types, `*` alone as `*∕*`, unparseable `q` as 0, ranges without a `/`
 * dropped, then sorted by goautoneg's order (higher q first, concrete types before
 * wildcards) with the same insertion sort, so ties keep header order.
 */
export function parseAccept(header: string): AcceptRange[] {
  const out: AcceptRange[] = [];
  for (const rawPart of header.split(',')) {
    const part = trimSpaces(rawPart);
    const mrp = part.split(';');
    const sp = mrp[0].split('/');
    const type = trimSpaces(sp[0]);
    let subType: string;
    if (sp.length === 1 && type === '*') subType = '*';
    else if (sp.length === 2) subType = trimSpaces(sp[1]);
    else continue;
    const a: AcceptRange = { type, subType, q: 1, params: new Map() };
    for (let i = 1; i < mrp.length; i++) {
      const eq = mrp[i].indexOf('=');
      if (eq < 0) continue;
      const token = trimSpaces(mrp[i].slice(0, eq));
      const value = mrp[i].slice(eq + 1);
      if (token === 'q') a.q = parseQ(value);
      else a.params.set(token, trimSpaces(value));
    }
    out.push(a);
  }
  // Go's sort.Sort runs insertion sort on short slices; goautoneg's Less is not a strict
  // order, so only the same algorithm gives the same result.
  for (let i = 1; i < out.length; i++) {
    for (let j = i; j > 0 && acceptLess(out[j], out[j - 1]); j--) {
      const t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  }
  return out;
}

function acceptLess(a: AcceptRange, b: AcceptRange): boolean {
  if (a.q > b.q) return true;
  if (a.type !== '*' && b.type === '*') return true;
  if (a.subType !== '*' && b.subType === '*') return true;
  return false;
}

/** Go's `strconv.ParseFloat(s, 32)` for a q-value; anything unparseable is 0, as goautoneg ignores the error. */
function parseQ(s: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return 0;
  return Math.fround(Number(s));
}

function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) === 0x20) a++;
  while (b > a && s.charCodeAt(b - 1) === 0x20) b--;
  return s.slice(a, b);
}

/** Options for {@link negotiate}. */
export interface NegotiateOptions {
  /**
   * Whether OpenMetrics may be chosen. Default true (client_golang's `/metrics` with
   * OpenMetrics enabled); false gives `expfmt.Negotiate`, which Prometheus 2.42's
   * `/federate` uses and which never answers with OpenMetrics.
   */
  openMetrics?: boolean;
}

/**
 * Picks the response format for an `Accept` header as `expfmt.NegotiateIncludingOpenMetrics`
 * does: the first range, in goautoneg's order, that is `text/plain` with version 0.0.4 or
 * none, or `application/openmetrics-text` with version 1.0.0, 0.0.1 or none (none means
 * 1.0.0); text 0.0.4 when nothing matches or the header is missing. Protocol-buffer ranges,
 * which we do not produce, are passed over.
 */
export function negotiate(
  accept: string | null | undefined,
  opts: NegotiateOptions = {},
): NegotiatedFormat {
  if (!accept) return TEXT;
  const allowOpenMetrics = opts.openMetrics ?? true;
  for (const ac of parseAccept(accept)) {
    const ver = ac.params.get('version') ?? '';
    if (ac.type === 'text' && ac.subType === 'plain' && (ver === '0.0.4' || ver === ''))
      return TEXT;
    if (allowOpenMetrics && ac.type === 'application' && ac.subType === 'openmetrics-text') {
      if (ver === '1.0.0' || ver === '') return OPENMETRICS_1;
      if (ver === '0.0.1') return OPENMETRICS_0;
    }
  }
  return TEXT;
}

/**
 * The parser format for a scrape response's `Content-Type`, as Prometheus 2.42 chooses
 * it: `application/openmetrics-text` (any case, any parameters) gives 'openmetrics';
 * anything else, a malformed header, or none gives 'text'.
 */
export function parserFormatFor(contentType: string | null | undefined): 'text' | 'openmetrics' {
  if (!contentType) return 'text';
  const semi = contentType.indexOf(';');
  const mediaType = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  // Go's mime.ParseMediaType fails on a parameter without '=', and the scrape then uses text.
  if (semi >= 0) {
    for (const param of contentType.slice(semi + 1).split(';')) {
      if (param.trim() !== '' && param.indexOf('=') < 0) return 'text';
    }
  }
  return mediaType === 'application/openmetrics-text' ? 'openmetrics' : 'text';
}

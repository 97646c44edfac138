/**
 * Parameter parsing of the HTTP API, with Prometheus 2.42's messages (`web/api/v1/api.go`:
 * `parseTime`, `parseDuration`): timestamps as float seconds or RFC 3339, durations as
 * float seconds or Prometheus durations.
 * @module
 */

import { QueryError } from '../model/errors.js';
import { parseDuration as parseModelDuration } from '../model/duration.js';

/** The smallest and largest times the API knows (ms); what omitted start/end mean. */
export const MIN_TIME_MS = -9223309901257974 * 1000;
export const MAX_TIME_MS = 9223309901257974 * 1000 + 999;

/** Go's formatting of the min and max times, which client_golang sends for "unbounded". */
const MIN_TIME_FORMATTED = '-292273086-05-16T16:47:06Z';
const MAX_TIME_FORMATTED = '292277025-08-18T07:12:54.999999999Z';

const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const RFC3339_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** A parameter problem; becomes `invalid parameter "<name>": <message>` (bad_data). */
export class ParamError extends QueryError {
  readonly param: string;
  constructor(param: string, message: string) {
    super('bad_data', `invalid parameter ${JSON.stringify(param)}: ${message}`);
    this.name = 'ParamError';
    this.param = param;
  }
}

/**
 * Parses an API timestamp into ms: float seconds (rounded to ms), RFC 3339 with optional
 * fraction, or the min/max sentinels. Throws a plain Error with Prometheus's message.
 */
export function parseTime(s: string): number {
  if (FLOAT_RE.test(s)) {
    const f = Number(s);
    const sec = Math.trunc(f);
    const frac = Math.round((f - sec) * 1000) / 1000;
    return sec * 1000 + Math.round(frac * 1000);
  }
  const m = RFC3339_RE.exec(s);
  if (m !== null) {
    const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8].toUpperCase()}`);
    if (!Number.isNaN(ms)) {
      // Sub-millisecond digits are cut, as timestamp.FromTime does.
      const frac = m[7] === undefined ? 0 : Math.floor(Number('0' + m[7]) * 1000 + 1e-9);
      return ms + frac;
    }
  }
  if (s === MIN_TIME_FORMATTED) return MIN_TIME_MS;
  if (s === MAX_TIME_FORMATTED) return MAX_TIME_MS;
  throw new Error(`cannot parse ${JSON.stringify(s)} to a valid timestamp`);
}

/**
 * Parses an API duration into ms: float seconds or a Prometheus duration (`1m30s`).
 * Throws a plain Error with Prometheus's message.
 */
export function parseDuration(s: string): number {
  if (FLOAT_RE.test(s)) {
    const ms = Number(s) * 1000;
    if (Math.abs(ms) * 1e6 > 9.223372036854776e18)
      throw new Error(`cannot parse ${JSON.stringify(s)} to a valid duration. It overflows int64`);
    // time.Duration keeps nanoseconds; the engine works in ms.
    return ms;
  }
  const d = parseModelDuration(s);
  if (d !== null) return d;
  throw new Error(`cannot parse ${JSON.stringify(s)} to a valid duration`);
}

/** Parameters of one request: the query string merged with a form body, as Go's `r.Form`. */
export class Params {
  private readonly map: Map<string, string[]>;
  constructor(map: Map<string, string[]>) {
    this.map = map;
  }

  /** Builds the parameters from a URL query string and an optional urlencoded body (body first, as Go). */
  static from(query: URLSearchParams, body: URLSearchParams | null): Params {
    const map = new Map<string, string[]>();
    const add = (src: URLSearchParams): void => {
      for (const [k, v] of src) {
        const l = map.get(k);
        if (l === undefined) map.set(k, [v]);
        else l.push(v);
      }
    };
    if (body !== null) add(body);
    add(query);
    return new Params(map);
  }

  /** The first value, or '' (Go's `FormValue`). */
  get(name: string): string {
    return this.map.get(name)?.[0] ?? '';
  }

  /** All values. */
  all(name: string): string[] {
    return this.map.get(name) ?? [];
  }

  /** A timestamp parameter, `dflt` when empty; errors name the parameter. */
  time(name: string, dflt: number): number {
    const v = this.get(name);
    if (v === '') return dflt;
    try {
      return parseTime(v);
    } catch (e) {
      throw new ParamError(name, `Invalid time value for '${name}': ${(e as Error).message}`);
    }
  }
}

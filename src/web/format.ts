/**
 * Number formatting of the HTTP API's JSON, as Prometheus's `util/jsonutil`: sample values
 * are strings in Go's `strconv.FormatFloat(v, 'f', -1, 64)` layout (exponent form below
 * 1e-6 and from 1e21 up, as jsoniter switches), timestamps are JSON numbers of seconds
 * written from integer milliseconds.
 * @module
 */

/**
 * Formats a sample value as Prometheus's JSON: `"1.5"`, `"123456789.5"`, `"1e-07"`,
 * `"1e+21"`, `"NaN"`, `"+Inf"`, `"-Inf"`, `"-0"`.
 */
export function formatJsonValue(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return 1 / v < 0 ? '-0' : '0';
  // JavaScript switches to exponent form at the same bounds (|v| < 1e-6, |v| >= 1e21) and
  // picks the same shortest digits; only the exponent needs Go's two-digit minimum.
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  return s.length - e === 3 ? s.slice(0, e + 2) + '0' + s.slice(e + 2) : s;
}

/**
 * Formats a timestamp in ms as Prometheus's JSON: seconds, with a three-digit fraction
 * only when it is not zero (`1700000000`, `1700000000.120`, `-1.500`).
 */
export function formatJsonTimestamp(ms: number): string {
  let s = '';
  let t = ms;
  if (t < 0) {
    s = '-';
    t = -t;
  }
  const sec = Math.floor(t / 1000);
  const frac = t - sec * 1000;
  s += sec;
  if (frac !== 0) s += frac < 10 ? '.00' + frac : frac < 100 ? '.0' + frac : '.' + frac;
  return s;
}

/** Formats ms since the epoch as Go's RFC 3339 with nanoseconds, trailing zeros trimmed. */
export function formatRFC3339Nano(ms: number): string {
  if (ms <= 0) return '0001-01-01T00:00:00Z';
  const iso = new Date(ms).toISOString(); // 2023-11-14T22:13:20.120Z
  const dot = iso.indexOf('.');
  let frac = iso.slice(dot + 1, iso.length - 1).replace(/0+$/, '');
  if (frac !== '') frac = '.' + frac;
  return iso.slice(0, dot) + frac + 'Z';
}

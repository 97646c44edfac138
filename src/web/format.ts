/**
 * Number formatting of the HTTP API's JSON as a live Prometheus 2.42 writes it: sample
 * values are strings, timestamps are JSON numbers of seconds.
 * @module
 */

// Prometheus 2.42 writes points two ways, both checked against a live 2.42
// (test/federate-prometheus.test.ts): vector and matrix points go through jsoniter encoders
// (`marshalPointJSON`: exponent form for tiny and huge values, a padded millisecond
// fraction), while scalar and string results go through `Point.MarshalJSON` (positional
// 'f' values, timestamps as shortest floats).

/**
 * Formats a vector or matrix sample value: Go's `strconv.FormatFloat(v, 'f', -1, 64)`, but
 * in exponent form when |v| < 1e-6 or |v| >= 1e21 (`"1e-07"`, `"1e+21"`); `"NaN"`, `"+Inf"`,
 * `"-Inf"`, `"-0"`.
 */
export function formatJsonValue(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return 1 / v < 0 ? '-0' : '0';
  // JavaScript switches to exponent form at the same bounds and picks the same shortest
  // digits; only the exponent needs Go's two-digit minimum.
  const s = String(v);
  const e = s.indexOf('e');
  if (e < 0) return s;
  return s.length - e === 3 ? s.slice(0, e + 2) + '0' + s.slice(e + 2) : s;
}

/**
 * Formats a vector or matrix timestamp (ms) as seconds with a three-digit fraction kept
 * when it is not zero (`1700000000`, `1700000000.120`, `-1.500`).
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

/**
 * Formats a scalar result's value: `strconv.FormatFloat(v, 'f', -1, 64)`, always positional
 * (`"0.0000001"`, `"1000000000000000000000"`).
 */
export function formatScalarValue(v: number): string {
  if (v !== v || v === Infinity || v === -Infinity || v === 0) return formatJsonValue(v);
  const s = String(v);
  return s.indexOf('e') < 0 ? s : positional(s);
}

/** Formats a scalar or string result's timestamp: seconds as a shortest float (`1700000000.12`). */
export function formatScalarTimestamp(ms: number): string {
  const s = String(ms / 1000);
  return s.indexOf('e') < 0 ? s : positional(s);
}

/**
 * Rewrites JavaScript's shortest exponent form (`1.5e-7`, `1e+21`) positionally with the
 * same digits (`0.00000015`, `1000000000000000000000`).
 */
function positional(s: string): string {
  const neg = s.charCodeAt(0) === 45;
  const body = neg ? s.slice(1) : s;
  const e = body.indexOf('e');
  const exp = Number(body.slice(e + 1));
  const mant = body.slice(0, e);
  const dot = mant.indexOf('.');
  const digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  // Position of the decimal point relative to the start of `digits`.
  const point = (dot < 0 ? mant.length : dot) + exp;
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return neg ? '-' + out : out;
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

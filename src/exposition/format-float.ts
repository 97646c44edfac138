/**
 * Float formatting exactly as Go prints it, so our expositions match Prometheus byte for byte.
 *
 * Go's `strconv.FormatFloat(f, 'g', -1, 64)` takes the shortest decimal digits that
 * round-trip (the same digits JavaScript's `Number#toString` picks) and then chooses the
 * layout: with `exp` the decimal exponent of the first digit, it uses `%e` when
 * `exp < -4 || exp >= 6` (for the shortest mode the precision used in that test is fixed at
 * 6), and `%f` otherwise. `%e` writes at least two exponent digits (`1e+06`, `8.7005e-05`).
 * JavaScript switches to exponent form only at 1e21 and 1e-7, so the two differ between
 * those bounds.
 * @module
 */

/**
 * Formats `v` as Go's `strconv.FormatFloat(v, 'g', -1, 64)`: `1.5515488e+07`, `8.7005e-05`,
 * `0.26`, `100000`, `1e+06`, `-0`, `NaN`, `+Inf`, `-Inf`.
 */
export function formatGoFloat(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return 1 / v < 0 ? '-0' : '0';
  const a = v < 0 ? -v : v;
  // exp in [-4, 5]: Go's %f with the shortest digits, which is exactly JS's fixed notation.
  if (a >= 1e-4 && a < 1e6) return String(v);
  return goExponent(v.toExponential());
}

/**
 * Rewrites JavaScript's shortest exponent form (`1.5e-7`, `1e+21`) into Go's, whose
 * exponent has at least two digits (`1.5e-07`, `1e+21`).
 */
function goExponent(js: string): string {
  const e = js.indexOf('e');
  // js[e + 1] is the sign; one exponent digit means the string ends two characters later.
  return js.length - e === 3 ? js.slice(0, e + 2) + '0' + js.slice(e + 2) : js;
}

/**
 * Formats a sample value as Prometheus's text format writer (expfmt `writeFloat`) does:
 * Go's shortest `%g`, except that both zeros are written `0`.
 */
export function formatTextValue(v: number): string {
  return v === 0 ? '0' : formatGoFloat(v);
}

/**
 * Formats a value as expfmt's OpenMetrics writer does: Go's shortest `%g`, with `.0`
 * appended when the result is an integer (`1.0`, `0.0`, `-1.0`, `100000.0`, but `1e+06`),
 * so an OpenMetrics reader sees a float wherever one is expected.
 */
export function formatOpenMetricsValue(v: number): string {
  if (v === 0) return '0.0';
  const s = formatGoFloat(v);
  // Only finite integers in fixed notation lack both '.' and 'e' (NaN and ±Inf have 'N'/'I').
  const c = s.charCodeAt(s.length - 1);
  if (c >= 48 && c <= 57 && s.indexOf('.') < 0 && s.indexOf('e') < 0) return s + '.0';
  return s;
}

/**
 * Formats a millisecond timestamp as OpenMetrics seconds, exactly and without float
 * rounding: `1520879607789` → `1520879607.789`, `1520879607000` → `1520879607`,
 * `-1` → `-0.001`. Integer arithmetic keeps every millisecond value up to 2^53 exact.
 */
export function formatOpenMetricsTimestamp(ms: number): string {
  if (!Number.isSafeInteger(ms)) return formatGoFloat(ms / 1000);
  const neg = ms < 0;
  const a = neg ? -ms : ms;
  const sec = Math.floor(a / 1000);
  const frac = a - sec * 1000;
  let s = (neg ? '-' : '') + sec;
  if (frac !== 0) {
    let f = frac < 10 ? '00' + frac : frac < 100 ? '0' + frac : String(frac);
    // Trailing zeros carry no information: 1.500 → 1.5.
    while (f.charCodeAt(f.length - 1) === 48) f = f.slice(0, -1);
    s += '.' + f;
  }
  return s;
}

/**
 * Numeric helpers shared by functions and aggregations: Kahan–Neumaier summation,
 * quantiles, Go-compatible pow and float formatting.
 * @module
 */

/** Scratch pair returned by {@link kahanSumInc}: the new sum and compensation. */
export const KAHAN = { sum: 0, c: 0 };

/** One Kahan–Neumaier step: adds `inc` to (sum, c) and leaves the result in {@link KAHAN}. */
export function kahanSumInc(inc: number, sum: number, c: number): void {
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) c = 0;
  else if (Math.abs(sum) >= Math.abs(inc)) c += sum - t + inc;
  else c += inc - t + sum;
  KAHAN.sum = t;
  KAHAN.c = c;
}

/** Orders floats ascending with NaN first, as Prometheus's `vectorByValueHeap`. */
export function nanFirstAsc(a: number, b: number): number {
  if (a !== a) return b !== b ? 0 : -1;
  if (b !== b) return 1;
  return a - b;
}

/** The q-quantile of `values` (sorted in place) with linear interpolation, as Prometheus. */
export function quantile(q: number, values: number[] | Float64Array): number {
  const n = values.length;
  if (n === 0 || q !== q) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const arr = Array.isArray(values) ? values : Array.from(values);
  arr.sort(nanFirstAsc);
  const rank = q * (n - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(n - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return arr[lower] * (1 - weight) + arr[upper] * weight;
}

/** Go's `math.Pow`, which differs from JS for a base of ±1 with an infinite or NaN exponent. */
export function goPow(x: number, y: number): number {
  if (x === 1 || y === 0) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

/** Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent. */
export function formatFloatF(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!/e/.test(s)) return s;
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s)!;
  const digits = m[2] + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp > 0) return m[1] + digits + '0'.repeat(Math.max(0, exp - (digits.length - 1)));
  return m[1] + '0.' + '0'.repeat(-exp - 1) + digits;
}

/** Prometheus's float formatting for messages and `le` values (`strconv.FormatFloat(v, 'g', -1, 64)` style). */
export function formatFloatG(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) {
    return s.replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return s;
}

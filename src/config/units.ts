/**
 * Byte sizes as Prometheus reads `body_size_limit` (alecthomas/units `ParseBase2Bytes`):
 * `512B`, `10KB` or `10KiB` (both 1024-based), `1.5MB`, `1GB512MB`, a bare `0`.
 * @module
 */

const POWERS = ['K', 'M', 'G', 'T', 'P', 'E'];

function unitMap(suffix: string): Map<string, number> {
  const m = new Map<string, number>([['B', 1]]);
  POWERS.forEach((p, i) => m.set(p + suffix, 1024 ** (i + 1)));
  return m;
}

const IEC_UNITS = unitMap('iB');
const OLD_UNITS = unitMap('B');

/**
 * Parses a base-2 byte size; throws an Error with the text alecthomas/units uses
 * (`units: unknown unit XB in 10XB`) so callers can add the position.
 */
export function parseBase2Bytes(s: string): number {
  try {
    return parseUnit(s, IEC_UNITS);
  } catch {
    return parseUnit(s, OLD_UNITS);
  }
}

function parseUnit(orig: string, units: Map<string, number>): number {
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`units: invalid ${orig}`);
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, intPart, fracPart] = m;
    if (intPart === '' && (fracPart === undefined || fracPart === ''))
      throw new Error(`units: invalid ${orig}`);
    const value = Number(`${intPart || '0'}.${fracPart ?? ''}0`);
    s = s.slice(whole.length);
    let i = 0;
    while (i < s.length && !(s[i] === '.' || (s[i] >= '0' && s[i] <= '9'))) i++;
    const unit = s.slice(0, i);
    s = s.slice(i);
    const size = units.get(unit);
    if (size === undefined) throw new Error(`units: unknown unit ${unit} in ${orig}`);
    total += value * size;
  }
  if (neg) total = -total;
  if (!Number.isFinite(total) || Math.abs(total) > 2 ** 63 - 1)
    throw new Error('units: overflow parsing unit');
  return Math.trunc(total);
}

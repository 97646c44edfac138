/**
 * Number parsing for the exposition formats, over bytes, with Go `strconv.ParseFloat(s, 64)`
 * semantics as Prometheus applies them (`textparse.parseFloat`): decimal mantissa with an
 * optional exponent, `NaN`, `Inf`/`Infinity` with an optional sign, all case-insensitive.
 * Hex floats, `_` separators, `0b`/`0o` prefixes, surrounding blanks and overflow to ±Inf
 * are rejected. Plain decimals take a fast path that builds no string (Clinger's exact
 * case: at most 15 significant digits and a power of ten up to 1e22); the rest is
 * validated here and converted by `Number`, which rounds correctly like Go.
 * @module
 */

import { NORMAL_NAN } from '../model/stale.js';

/** Exact powers of ten representable as doubles: 1e0 … 1e22. */
const POW10 = new Float64Array(23);
for (let i = 0, p = 1; i < 23; i++, p *= 10) POW10[i] = p;

/** The bytes as a one-char-per-byte string (Buffer's native slice when available). */
function latin1(buf: Uint8Array, start: number, end: number): string {
  const b = buf as Uint8Array & { latin1Slice?: (s: number, e: number) => string };
  if (typeof b.latin1Slice === 'function') return b.latin1Slice(start, end);
  return String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
}

/** Lower-case ASCII letter code, or the code itself when it is not a letter. */
function lower(c: number): number {
  return c >= 65 && c <= 90 ? c | 32 : c;
}

/** Reports whether buf[start, start+word.length) equals `word` (lower-case ASCII) ignoring case. */
function matchesIgnoreCase(buf: Uint8Array, start: number, end: number, word: string): boolean {
  if (end - start !== word.length) return false;
  for (let i = 0; i < word.length; i++)
    if (lower(buf[start + i]) !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * Parses buf[start, end) as a float. Returns the value, or `undefined` when the bytes are
 * not a valid Go float or the value overflows. Every NaN comes back as the ordinary NaN
 * (`NORMAL_NAN`), so input can never produce a staleness marker.
 */
export function parseFloatBytes(buf: Uint8Array, start: number, end: number): number | undefined {
  if (start >= end) return undefined;
  let i = start;
  let c = buf[i];
  let neg = false;
  if (c === 45 /* - */ || c === 43 /* + */) {
    neg = c === 45;
    if (++i === end) return undefined;
    c = buf[i];
  }
  // Fast path: digits [. digits] [e [sign] digits].
  let mant = 0;
  let sig = 0; // significant digits accumulated into mant (leading zeros excluded)
  let digits = 0;
  let dropped = 0; // integer digits beyond the 15 we keep, so the exponent stays right
  let frac = 0;
  while (i < end) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) break;
    if (sig < 15) {
      if (mant !== 0 || d !== 0) sig++;
      mant = mant * 10 + d;
    } else {
      dropped++;
      sig++;
    }
    digits++;
    i++;
  }
  if (i < end && buf[i] === 46 /* . */) {
    i++;
    while (i < end) {
      const d = buf[i] - 48;
      if (d < 0 || d > 9) break;
      if (sig < 15) {
        if (mant !== 0 || d !== 0) sig++;
        mant = mant * 10 + d;
        frac++;
      } else {
        sig++;
      }
      digits++;
      i++;
    }
  }
  if (digits === 0) return parseSpecial(buf, start, end);
  let exp = 0;
  if (i < end && (buf[i] | 32) === 101 /* e */) {
    i++;
    let eneg = false;
    if (i < end && (buf[i] === 45 || buf[i] === 43)) eneg = buf[i++] === 45;
    const e0 = i;
    while (i < end) {
      const d = buf[i] - 48;
      if (d < 0 || d > 9) break;
      if (exp < 100000) exp = exp * 10 + d;
      i++;
    }
    if (i === e0) return undefined;
    if (eneg) exp = -exp;
  }
  if (i !== end) return undefined;
  if (sig <= 15) {
    const e10 = exp + dropped - frac;
    let v: number;
    if (e10 === 0) v = mant;
    else if (e10 < 0 && e10 >= -22) v = mant / POW10[-e10];
    else if (e10 > 0 && e10 <= 22) v = mant * POW10[e10];
    else return slowNumber(buf, start, end);
    return neg ? -v : v;
  }
  return slowNumber(buf, start, end);
}

/** Converts bytes already known to be a valid decimal; rejects overflow as Go does. */
function slowNumber(buf: Uint8Array, start: number, end: number): number | undefined {
  const v = Number(latin1(buf, start, end));
  if (v === Infinity || v === -Infinity || v !== v) return undefined;
  return v;
}

/** `[+-]inf`, `[+-]infinity` and `nan` (no sign), any case, as Go's `special`. */
function parseSpecial(buf: Uint8Array, start: number, end: number): number | undefined {
  let i = start;
  const c = buf[i];
  let sign = 1;
  if (c === 43 || c === 45) {
    if (c === 45) sign = -1;
    i++;
  } else if (matchesIgnoreCase(buf, i, end, 'nan')) {
    return NORMAL_NAN;
  }
  if (matchesIgnoreCase(buf, i, end, 'inf') || matchesIgnoreCase(buf, i, end, 'infinity')) {
    return sign * Infinity;
  }
  return undefined;
}

/**
 * Parses buf[start, end) as a Prometheus 0.0.4 timestamp: decimal digits only (no sign),
 * fitting in an int64, in milliseconds. Returns `undefined` when invalid. Values beyond
 * 2^53 lose precision, as every JavaScript number does.
 */
export function parseIntTimestampBytes(
  buf: Uint8Array,
  start: number,
  end: number,
): number | undefined {
  const n = end - start;
  if (n <= 0 || n > 19) return undefined;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  if (n > 15) {
    // Beyond 2^53 the digit loop would round more than once; let Number round once.
    v = Number(latin1(buf, start, end));
  }
  if (n === 19) {
    // Compare against int64 max digit by digit, since v may already be rounded.
    const max = '9223372036854775807';
    for (let i = 0; i < 19; i++) {
      const a = buf[start + i];
      const b = max.charCodeAt(i);
      if (a !== b) {
        if (a > b) return undefined;
        break;
      }
    }
  }
  return v;
}

/**
 * Literal decoding shared by the parser and the test runner: durations, numbers and
 * Go-style quoted strings, with Prometheus's rules.
 * @module
 */

const DURATION_UNITS: Record<string, number> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const UNIT_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/**
 * Parses a Prometheus duration (`1h30m`, `5m`, `0`) into milliseconds, or returns null
 * when `s` is not one. Units must appear at most once and from largest to smallest.
 */
export function parseDurationMs(s: string): number | null {
  if (s === '0') return 0;
  if (s.length === 0) return null;
  let i = 0;
  let total = 0;
  let lastUnit = -1;
  while (i < s.length) {
    const start = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === start) return null;
    const n = Number(s.slice(start, i));
    let unit: string;
    if (s.startsWith('ms', i)) unit = 'ms';
    else unit = s[i] ?? '';
    const u = UNIT_ORDER.indexOf(unit);
    if (u < 0 || u <= lastUnit) return null;
    lastUnit = u;
    i += unit.length;
    total += n * DURATION_UNITS[unit];
  }
  return total;
}

/** Formats milliseconds as a Prometheus duration (`1h30m`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let s = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  for (const u of UNIT_ORDER) {
    const f = DURATION_UNITS[u];
    if (rest >= f) {
      s += Math.floor(rest / f) + u;
      rest %= f;
    }
  }
  return s;
}

/**
 * Parses a PromQL number literal as Go's `strconv.ParseInt(s, 0, 64)` then
 * `ParseFloat`: hex, octal (`0o17`, `017`), binary, decimals, exponents, Inf and NaN.
 * Returns null when it is not a number.
 */
export function parseNumber(s: string): number | null {
  const t = s.replace(/_/g, '');
  if (/^[+-]?0[xX][0-9a-fA-F]+$/.test(t))
    return signOf(t) * parseInt(t.replace(/^[+-]?0[xX]/, ''), 16);
  if (/^[+-]?0[oO][0-7]+$/.test(t)) return signOf(t) * parseInt(t.replace(/^[+-]?0[oO]/, ''), 8);
  if (/^[+-]?0[bB][01]+$/.test(t)) return signOf(t) * parseInt(t.replace(/^[+-]?0[bB]/, ''), 2);
  if (/^[+-]?0[0-7]+$/.test(t)) return signOf(t) * parseInt(t.replace(/^[+-]?0/, ''), 8);
  const lower = t.toLowerCase();
  const body = lower.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return lower.startsWith('-') ? -Infinity : Infinity;
  if (body === 'nan') return NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower)) return Number(lower);
  if (/^[+-]?0x[0-9a-f]*\.?[0-9a-f]*p[+-]?\d+$/.test(lower)) return parseHexFloat(lower);
  return null;
}

function signOf(s: string): number {
  return s.startsWith('-') ? -1 : 1;
}

function parseHexFloat(s: string): number {
  const neg = s.startsWith('-');
  const m = /0x([0-9a-f]*)\.?([0-9a-f]*)p([+-]?\d+)/.exec(s)!;
  const mant = parseInt((m[1] || '0') + m[2], 16) / Math.pow(16, m[2].length);
  const v = mant * Math.pow(2, Number(m[3]));
  return neg ? -v : v;
}

/** Go's `unknown escape sequence %#U` for the character at `i`: `U+007A 'z'`. */
function unknownEscape(body: string, i: number): string {
  const cp = body.codePointAt(i) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return `unknown escape sequence U+${hex} '${String.fromCodePoint(cp)}'`;
}

/**
 * Unquotes a PromQL string literal (double, single or back quotes) with Go's escapes.
 * Throws an Error with a short reason when the literal is malformed.
 */
export function unquoteString(lit: string): string {
  const q = lit[0];
  if (lit.length < 2 || lit[lit.length - 1] !== q) throw new Error('unterminated quoted string');
  const body = lit.slice(1, -1);
  if (q === '`') return body;
  if (body.indexOf('\\') < 0) return body;
  let out = '';
  // Bytes from consecutive \x and octal escapes, decoded together as UTF-8.
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length > 0) out += decodeBytes(bytes);
    bytes = [];
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    const isByteEscape =
      c === '\\' && (body[i + 1] === 'x' || (body[i + 1] >= '0' && body[i + 1] <= '7'));
    if (!isByteEscape) flush();
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
      case "'":
        if (e !== q) throw new Error(unknownEscape(body, i));
        out += e;
        break;
      case 'x': {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new Error('illegal character in escape sequence');
        bytes.push(parseInt(h, 16));
        i += 2;
        break;
      }
      case 'u':
      case 'U': {
        const n = e === 'u' ? 4 : 8;
        const h = body.slice(i + 1, i + 1 + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h))
          throw new Error('illegal character in escape sequence');
        out += String.fromCodePoint(parseInt(h, 16));
        i += n;
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          const o = body.slice(i, i + 3);
          if (!/^[0-7]{3}$/.test(o)) throw new Error('illegal character in escape sequence');
          bytes.push(parseInt(o, 8) & 0xff);
          i += 2;
          break;
        }
        throw new Error(unknownEscape(body, i));
    }
  }
  flush();
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes escaped bytes as UTF-8. Bytes that are not valid UTF-8 become lone surrogates
 * U+DC80–U+DCFF (Python's "surrogateescape"), so the string stays distinct and
 * {@link isValidUtf8} can report it as Go's `utf8.ValidString` would.
 */
function decodeBytes(bytes: number[]): string {
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return bytes
      .map((b) => (b < 0x80 ? String.fromCharCode(b) : String.fromCharCode(0xdc00 + b)))
      .join('');
  }
}

/** Reports whether a string decoded by {@link unquoteString} stands for valid UTF-8. */
export function isValidUtf8(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** Go's `%q` of a string: JSON quoting, with escaped invalid bytes shown as `\xNN`. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\udc([89a-f][0-9a-f])/g, '\\x$1');
}

/**
 * The exposition pull parser: Prometheus text 0.0.4 and OpenMetrics 1.0, over a Buffer,
 * in the manner of Prometheus's `model/textparse`.
 *
 * `next()` moves to the next entry and returns its {@link EntryType}; accessors read the
 * current entry and are valid until the following `next()` or `reset()`. The scan path of a
 * warm scrape is `next()`, `seriesKey()`, `value()`, `timestamp()`: it keeps byte offsets and
 * numbers only, builds no label objects and decodes no escapes. `labels()` does that work,
 * and is meant to be called only when the scrape cache misses.
 *
 * A text parser that is `reset()` to a new body keeps a copy of the previous one and the
 * byte range of every series key in it, and first compares each line with the key expected
 * at its place: on a repeat scrape a line costs one native compare of bytes, with no label
 * scan and no string. {@link ExpositionParser.rememberedLine} tells a cache which
 * line of the previous body matched, so it can find its entry by index, not by key.
 *
 * A line read forward (a new body, or a line that changed) is first compared, four bytes at
 * a time, with the previous line read forward: lines of one family repeat the name and the
 * leading labels, so tokenising starts at the last label that begins before the first
 * differing byte, and `labels()` keeps the strings it made for the shared labels. Text mode
 * stays stateless from line to line in what it accepts: parser-template.test.ts checks every
 * line of generated and mutated bodies against a parse of that line alone.
 *
 * Two formats:
 * - `'text'` behaves like the scraper of Prometheus 2.42 (`promparse`): lenient, stateless
 *   from line to line (see docs/format/exposition.md for every deliberate quirk).
 * - `'openmetrics'` is a strict OpenMetrics 1.0 parser: besides the stricter line syntax it
 *   tracks the current family and metric point (parser-openmetrics.ts) and rejects what the
 *   OpenMetrics test suite rejects. This is a mode of the same parser rather than a separate
 *   validator so that a strict scrape or `check metrics` needs only one pass over the bytes.
 *   With `strict: false` it checks the line syntax only, about as Prometheus's scraper does.
 *
 * The input Buffer is not copied and must not change while the parser uses it. Apart from
 * reusable offset arrays (bounded by the label limit) and a fixed-size string table shared
 * by all parsers, the parser allocates nothing per line beyond what its accessors return.
 * @module
 */

import { isAscii, isUtf8 } from 'node:buffer';
import { ParseError } from '../model/errors.js';
import { Labels, LabelsBuilder, METRIC_NAME } from '../model/labels.js';
import { parseFloatBytes, parseIntTimestampBytes } from './float.js';
import { OpenMetricsValidator } from './parser-openmetrics.js';

/** What `next()` found. An erasable enum: the values are plain numbers. */
export const EntryType = { EOF: 0, Series: 1, Type: 2, Help: 3, Unit: 4, Comment: 5 } as const;
/** What `next()` found. */
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** The exposition format: Prometheus text 0.0.4 or OpenMetrics 1.0. */
export type ExpositionFormat = 'text' | 'openmetrics';

/** Metric types of both formats (`untyped` is 0.0.4's word, `unknown` OpenMetrics's). */
export type MetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'stateset'
  | 'info'
  | 'untyped'
  | 'unknown';

/**
 * Series keys already validated, for the text warm path: a map from key strings (a Map
 * qualifies), or a lookup by the key's bytes, which spares a string per line.
 */
export type KnownKeys<K> = KnownKeyStrings<K> | KnownKeyBytes<K>;

/** Known keys looked up by {@link ExpositionParser.seriesKey} strings. */
export interface KnownKeyStrings<K> {
  /** The value stored for `key`, or undefined. */
  get(key: string): K | undefined;
}

/** Known keys looked up by their bytes, or by their line in the remembered body. */
export interface KnownKeyBytes<K> {
  /** The value stored for the series key whose bytes are buf[start, end), or undefined. */
  getRange(buf: Buffer, start: number, end: number): K | undefined;
  /**
   * The value stored for the key of series line `line` of the parser's remembered body
   * ({@link ExpositionParser.rememberBody}), when the implementation recorded it by line;
   * undefined sends the parser to {@link getRange}.
   */
  getRemembered(line: number): K | undefined;
}

/** An OpenMetrics exemplar attached to a sample. */
export interface Exemplar {
  /** The exemplar's own labels (no `__name__`). */
  readonly labels: Labels;
  readonly value: number;
  /** Milliseconds, or null when the exemplar has no timestamp. */
  readonly timestamp: number | null;
}

/** Limits enforced while parsing; each breach throws a ParseError naming value and limit. */
export interface ParserLimits {
  /** Longest line in bytes, newline excluded. Default 16 MiB. */
  maxLineBytes?: number;
  /** Most labels on one series, `__name__` excluded. Default 10,000. */
  maxLabelsPerSeries?: number;
  /** Longest label value in bytes, as written (escapes not yet decoded). Default 1 MiB. */
  maxLabelValueBytes?: number;
}

/** Options of {@link ExpositionParser}. */
export interface ParserOptions extends ParserLimits {
  format: ExpositionFormat;
  /**
   * OpenMetrics only: check the semantic rules of OpenMetrics 1.0 (families, types,
   * histogram points, exemplar placement…) besides the line syntax. Default true. With
   * false the parser checks the syntax only, about as lenient as Prometheus's own
   * OpenMetrics scrape parser, which accepts e.g. a histogram `_sum` beside negative buckets.
   */
  strict?: boolean;
}

/** The default limits: generous, but finite. */
export const DEFAULT_PARSER_LIMITS: Readonly<Required<ParserLimits>> = Object.freeze({
  maxLineBytes: 16 * 1024 * 1024,
  maxLabelsPerSeries: 10_000,
  maxLabelValueBytes: 1024 * 1024,
});

// Byte codes.
const NL = 10;
const SP = 32;
const TAB = 9;
const HASH = 35;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const EQ = 61;
const LBRACE = 123;
const RBRACE = 125;

/** Character classes: bit 1 = metric-name start, 2 = metric-name char, 4 = label-name start, 8 = label-name char. */
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
  const digit = c >= 48 && c <= 57;
  let k = 0;
  if (letter || c === 58) k |= 1 | 2;
  if (digit) k |= 2 | 8;
  if (letter) k |= 4 | 8;
  CLASS[c] = k;
}
/** Bytes that stop the label-value fast loop: quote, backslash, newline (and, when the body is not valid UTF-8, every non-ASCII byte). */
const STOP_UTF8 = new Uint8Array(256);
STOP_UTF8[34] = STOP_UTF8[92] = STOP_UTF8[10] = 1;
const STOP_ANY = STOP_UTF8.slice();
STOP_ANY.fill(1, 0x80);
const M_START = 1;
const M_CHAR = 2;
const L_START = 4;
const L_CHAR = 8;

/** Slices bytes to a string with one char per byte: the cheapest decoding, for ASCII and keys. */
type Latin1Buffer = Buffer & {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
};

const METRIC_TYPES: readonly MetricType[] = [
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'stateset',
  'info',
  'untyped',
  'unknown',
];

/** Shows a token for an error message: short, quoted, with invisible bytes escaped. */
function showToken(buf: Buffer, start: number, end: number): string {
  if (start >= end) return start >= buf.length ? 'end of input' : '""';
  let e = end;
  if (e - start > 40) e = start + 40;
  const s = JSON.stringify(buf.toString('utf8', start, e));
  return e < end ? s.slice(0, -1) + '…"' : s;
}

/**
 * A pull parser over one exposition body. See the module comment for the contract.
 *
 * ```ts
 * const p = new ExpositionParser(body, { format: 'text' });
 * for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
 *   if (t === EntryType.Series) cache.get(p.seriesKey()) ?? p.labels();
 * }
 * ```
 */
export class ExpositionParser<K = unknown> {
  private buf: Latin1Buffer;
  private len: number;
  private readonly om: boolean;
  private readonly maxLineBytes: number;
  private readonly maxLabels: number;
  private readonly maxValueBytes: number;

  /** Offset where the next line starts. */
  private pos: number;
  /** 1-based number of the line at `pos`. */
  private lineNo: number;
  /** Offset and line of the current entry. */
  private lineStart: number;
  private curLine: number;
  private eof: boolean;

  // Current series.
  private nameStart: number;
  private nameEnd: number;
  private keyEnd: number;
  /** Label offsets, four per label: name start, name end, value start, value end (inside quotes). */
  private lbl: Int32Array;
  private nLabels: number;
  private escapes: boolean;
  private val: number;
  private ts: number;
  private hasTs: boolean;
  /** OpenMetrics: the current sample's timestamp as written, in seconds (exact order checks). */
  private tsSeconds: number;
  private lastSeconds: number;

  // Current exemplar (OpenMetrics).
  private exStart: number;
  private nExLabels: number;
  private exVal: number;
  private exTs: number;
  private exHasTs: boolean;
  private hasExemplar: boolean;

  // Current metadata entry.
  private textStart: number;
  private textEnd: number;
  private mtype: MetricType;

  /** Whether the whole body is valid UTF-8 (checked once, natively), so values need no check. */
  private bodyIsUtf8: boolean;
  /** Whether the whole body is ASCII (checked once, natively), so every value decodes as latin1. */
  private bodyIsAscii: boolean;
  /** The body, for comparing four bytes at a time (common prefixes, interned strings). */
  private view: DataView;
  /** Bytes that end the fast scan of a label value: STOP_UTF8 or STOP_ANY. */
  private stopTable: Uint8Array;

  private readonly validator: OpenMetricsValidator | null;
  private scratchNames: string[];
  private scratchValues: string[];
  /** Labels collected by the last {@link labels} call, for {@link exposedEmpty}. */
  private scratchCount = 0;
  /** The series (by `seriesSeq`) whose strings the scratch arrays hold, or -1. */
  private scratchSeq = -1;
  /** How many leading scratch names are known to be in strictly ascending order. */
  private scratchSorted = 0;

  /**
   * Text mode: the last series line parsed forward, whose label offsets `lbl` holds, as a
   * template for the next one. Lines of a family repeat the name and the leading labels, so
   * the forward parse first measures the bytes the line shares with this one (four at a
   * time) and tokenises only from where they differ. `prevKeyLen` 0 means no template.
   */
  private prevStart = 0;
  private prevNameLen = 0;
  private prevKeyLen = 0;
  private prevNLabels = 0;
  private prevEscapes = false;
  /** Numbers the series lines parsed forward; the current one is `seriesSeq`. */
  private seriesSeq = 0;
  /**
   * The current series shares its name and its first `sharedLabels` labels, byte for byte,
   * with the series numbered `sharedSeq` (-1: nothing shared), so labels() can take their
   * strings from the scratch arrays when they still hold that series.
   */
  private sharedSeq = -1;
  private sharedLabels = 0;
  /** The number of the current series when it was parsed forward, else -1. */
  private curSeq = -1;

  /** Text mode: series keys already validated, for the warm path (see {@link setKnownKeys}). */
  private knownKeys: KnownKeys<K> | null;
  /** `knownKeys` when it looks keys up by bytes, else null. */
  private knownBytes: KnownKeyBytes<K> | null;
  /** The value `knownKeys` gave for the current series, or undefined after a forward parse. */
  private knownValue: K | undefined;
  /** The current series came through the warm path: label offsets are not recorded yet. */
  private labelsPending: boolean;

  /**
   * The remembered body (see {@link rememberBody}): a copy of its bytes in `kept[0, keptLen)`
   * and, for each of its `keptN` series lines in order, the key's byte range.
   */
  private kept: Buffer;
  private keptLen: number;
  private keptStart: Int32Array;
  private keptEnd: Int32Array;
  private keptN: number;
  /** Index of the remembered line the next series line is expected to repeat. */
  private prevCursor: number;
  /** The remembered line the current series repeats, or -1. */
  private remembered: number;
  /** Key byte ranges of the series lines of this body so far, `curN` of them. */
  private curStart: Int32Array;
  private curEnd: Int32Array;
  private curN: number;
  /** Whether reset() remembers the body it leaves (see {@link setAutoRemember}). */
  private autoRemember: boolean;
  /**
   * Lines of this body read without a label scan, and how many of them needed one after
   * all (labels()). A reader that wants every line's labels gains nothing from skipping
   * the scan, so remembered keys are no longer tried once it is clearly such a reader.
   */
  private skippedScans: number;
  private rescans: number;
  /** The current series key once made by seriesKey(), else null. */
  private curKey: string | null;

  constructor(buf: Buffer, opts: ParserOptions) {
    this.buf = buf as Latin1Buffer;
    this.len = buf.length;
    this.om = opts.format === 'openmetrics';
    if (opts.format !== 'text' && opts.format !== 'openmetrics') {
      throw new ParseError(`unknown exposition format ${JSON.stringify(opts.format)}`);
    }
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_PARSER_LIMITS.maxLineBytes;
    this.maxLabels = opts.maxLabelsPerSeries ?? DEFAULT_PARSER_LIMITS.maxLabelsPerSeries;
    this.maxValueBytes = opts.maxLabelValueBytes ?? DEFAULT_PARSER_LIMITS.maxLabelValueBytes;
    this.pos = 0;
    this.lineNo = 1;
    this.lineStart = 0;
    this.curLine = 0;
    this.eof = false;
    this.nameStart = 0;
    this.nameEnd = 0;
    this.keyEnd = 0;
    this.lbl = new Int32Array(64);
    this.nLabels = 0;
    this.escapes = false;
    this.val = 0;
    this.ts = 0;
    this.hasTs = false;
    this.tsSeconds = 0;
    this.lastSeconds = 0;
    this.exStart = 0;
    this.nExLabels = 0;
    this.exVal = 0;
    this.exTs = 0;
    this.exHasTs = false;
    this.hasExemplar = false;
    this.textStart = 0;
    this.textEnd = 0;
    this.mtype = 'untyped';
    this.bodyIsAscii = isAscii(buf);
    this.bodyIsUtf8 = this.bodyIsAscii || isUtf8(buf);
    this.stopTable = this.bodyIsUtf8 ? STOP_UTF8 : STOP_ANY;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.validator = this.om && opts.strict !== false ? new OpenMetricsValidator() : null;
    this.scratchNames = [];
    this.scratchValues = [];
    this.knownKeys = null;
    this.knownBytes = null;
    this.knownValue = undefined;
    this.labelsPending = false;
    this.kept = EMPTY;
    this.keptLen = 0;
    this.keptStart = new Int32Array(16);
    this.keptEnd = new Int32Array(16);
    this.keptN = 0;
    this.prevCursor = 0;
    this.remembered = -1;
    this.curStart = new Int32Array(16);
    this.curEnd = new Int32Array(16);
    this.curN = 0;
    this.autoRemember = true;
    this.skippedScans = 0;
    this.rescans = 0;
    this.curKey = null;
  }

  /**
   * Text mode only: series keys (as {@link seriesKey} returns them) that an earlier parse
   * with the same options accepted, typically a scrape cache. A series line whose key is in
   * `keys` is then read from its end: the value and timestamp tokens are parsed and the key
   * before them looked up, skipping the label scan; {@link known} returns what the map holds
   * for it. Every accessor still works (`labels()` re-scans the line on demand). A line whose
   * key is not found is parsed forward as usual. Null turns the warm path off.
   */
  setKnownKeys(keys: KnownKeys<K> | null): void {
    this.knownKeys = keys;
    this.knownBytes = keys !== null && 'getRange' in keys ? keys : null;
  }

  /** The known-keys value of the current series when the warm path found it, else undefined. */
  known(): K | undefined {
    return this.knownValue;
  }

  /**
   * Text mode: whether {@link reset} makes the body it leaves the remembered one (when it
   * had series lines). Default true. A caller that must decide after reading a body
   * whether to keep it (a scrape that can fail) turns this off and calls
   * {@link rememberBody} itself.
   */
  setAutoRemember(auto: boolean): void {
    this.autoRemember = auto;
  }

  /**
   * Makes the current body, as far as it was read, the remembered one: its bytes are
   * copied (the caller may reuse the Buffer) with the key range of every series line read,
   * and lines of the next bodies are first compared with these, in order. A body over
   * 16 MiB is not kept (nothing is remembered then).
   */
  rememberBody(): void {
    const n = this.curN;
    const len = this.len;
    if (len > MAX_REMEMBERED_BODY_BYTES) {
      this.forgetBody();
      return;
    }
    if (this.kept.length < len || this.kept.length > len + (len >> 3) + 4096) {
      // A copy per target, so sized close to the body (~370 B per series on Linkerd
      // bodies), with a little room: a target's body size varies a little.
      this.kept = Buffer.allocUnsafeSlow(len + (len >> 6) + 1024);
    }
    this.buf.copy(this.kept, 0, 0, len);
    this.keptLen = len;
    const s = this.keptStart;
    const e = this.keptEnd;
    this.keptStart = this.curStart;
    this.keptEnd = this.curEnd;
    this.curStart = s;
    this.curEnd = e;
    this.keptN = n;
    this.curN = 0;
  }

  /** Drops the remembered body. */
  forgetBody(): void {
    this.kept = EMPTY;
    this.keptLen = 0;
    this.keptN = 0;
  }

  /** The copy of the remembered body (bytes past its length are unspecified). */
  rememberedBody(): Buffer {
    return this.kept;
  }

  /** Where the remembered body's series line `m` has its key: [start, end) in {@link rememberedBody}. */
  rememberedKeyStart(m: number): number {
    return this.keptStart[m];
  }

  /** End (exclusive) of remembered line `m`'s key in {@link rememberedBody}. */
  rememberedKeyEnd(m: number): number {
    return this.keptEnd[m];
  }

  /**
   * Text mode: the index among the remembered body's series lines of the line the current
   * series repeats byte for byte (key only: the value may differ), or -1 when it was read
   * otherwise.
   */
  rememberedLine(): number {
    return this.remembered;
  }

  /** Offset in the body where the current series key (`name{labels}`) starts. */
  seriesKeyStart(): number {
    return this.nameStart;
  }

  /** Offset in the body where the current series key ends (exclusive). */
  seriesKeyEnd(): number {
    return this.keyEnd;
  }

  /** Starts over on a new body with the same options, keeping the scratch arrays. */
  reset(buf: Buffer): void {
    if (this.autoRemember && this.curN > 0) this.rememberBody();
    this.curN = 0;
    this.buf = buf as Latin1Buffer;
    this.len = buf.length;
    this.pos = 0;
    this.lineNo = 1;
    this.lineStart = 0;
    this.curLine = 0;
    this.eof = false;
    this.nLabels = 0;
    this.hasExemplar = false;
    this.bodyIsAscii = isAscii(buf);
    this.bodyIsUtf8 = this.bodyIsAscii || isUtf8(buf);
    this.stopTable = this.bodyIsUtf8 ? STOP_UTF8 : STOP_ANY;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.length);
    this.prevKeyLen = 0;
    this.sharedSeq = -1;
    this.scratchSeq = -1;
    this.validator?.reset();
    this.prevCursor = 0;
    this.skippedScans = 0;
    this.rescans = 0;
    this.curKey = null;
  }

  /** 1-based line of the current entry. */
  line(): number {
    return this.curLine;
  }

  /**
   * Moves to the next entry. Returns EntryType.EOF at the end (and on every later call).
   * Throws a ParseError with line, column and what was expected when the input is invalid.
   */
  next(): EntryType {
    this.knownValue = undefined;
    this.labelsPending = false;
    this.curKey = null;
    this.remembered = -1;
    this.curSeq = -1;
    this.sharedSeq = -1;
    if (this.eof) return EntryType.EOF;
    const t = this.om ? this.nextOpenMetrics() : this.nextText();
    if (t === EntryType.Series) this.noteSeries();
    else if (t === EntryType.EOF) this.eof = true;
    return t;
  }

  /** Records the key range of the series line just read, for {@link rememberBody}. */
  private noteSeries(): void {
    const n = this.curN;
    if (n === this.curStart.length) {
      const s = new Int32Array(n * 2);
      const e = new Int32Array(n * 2);
      s.set(this.curStart);
      e.set(this.curEnd);
      this.curStart = s;
      this.curEnd = e;
    }
    this.curStart[n] = this.nameStart;
    this.curEnd[n] = this.keyEnd;
    this.curN = n + 1;
  }

  // ---------------------------------------------------------------------------------------
  // Accessors.

  /**
   * The raw bytes of `name{labels}` exactly as written, as a string with one char per byte
   * (latin1), so equal bytes give equal keys and building it is a plain copy. This is the
   * scrape cache key: the same line text always means the same series.
   */
  seriesKey(): string {
    let key = this.curKey;
    if (key === null) {
      key = this.buf.latin1Slice(this.nameStart, this.keyEnd);
      this.curKey = key;
    }
    return key;
  }

  /** The metric name of the current series. */
  metricName(): string {
    if (this.nameEnd < 0) this.findNameEnd();
    return STRINGS.get(this.buf, this.view, this.nameStart, this.nameEnd);
  }

  /**
   * The full label set of the current series: `__name__` plus every label, escapes decoded,
   * sorted. Labels with an empty value are left out (an empty value means absent).
   * Throws a ParseError when a label name repeats (`__name__` included). When `b` is given
   * it is reset, filled, and its `labels()` returned, so the caller can keep editing.
   */
  labels(b?: LabelsBuilder): Labels {
    if (this.labelsPending) this.rescanSeries();
    const names = this.scratchNames;
    const values = this.scratchValues;
    // The strings of labels shared with the series the scratch arrays hold stay where they are.
    const keep = this.sharedSeq >= 0 && this.sharedSeq === this.scratchSeq ? this.sharedLabels : -1;
    const n = this.collectLabels(names, values, 0, this.nLabels, true, keep);
    this.scratchCount = n;
    this.scratchSeq = this.curSeq;
    return this.finishLabels(names, values, n, b, keep);
  }

  /**
   * Reports whether the series of the last {@link labels} call wrote label `name` with an
   * empty value, which {@link labels} leaves out. A scrape with `honor_labels` needs it:
   * Prometheus then keeps the target's label off the series (the exposed empty value wins,
   * and an empty value means absent).
   */
  exposedEmpty(name: string): boolean {
    const names = this.scratchNames;
    const values = this.scratchValues;
    for (let k = 0; k < this.scratchCount; k++)
      if (values[k] === '' && names[k] === name) return true;
    return false;
  }

  /** The sample value. NaN is always the ordinary NaN, never the staleness marker. */
  value(): number {
    return this.val;
  }

  /** The sample timestamp in milliseconds, or null when the line has none. */
  timestamp(): number | null {
    return this.hasTs ? this.ts : null;
  }

  /** The exemplar of the current sample (OpenMetrics only), or null. */
  exemplar(): Exemplar | null {
    if (!this.hasExemplar) return null;
    const names = this.scratchNames;
    const values = this.scratchValues;
    const n = this.collectLabels(
      names,
      values,
      this.exStart,
      this.exStart + this.nExLabels,
      false,
      -1,
    );
    this.scratchSeq = -1;
    return {
      labels: this.finishLabels(names, values, n, undefined, -1),
      value: this.exVal,
      timestamp: this.exHasTs ? this.exTs : null,
    };
  }

  /** The metric family named by the current HELP, TYPE or UNIT entry. */
  family(): string {
    return this.buf.latin1Slice(this.nameStart, this.nameEnd);
  }

  /** The HELP text, escapes `\\` and `\n` decoded (other backslashes kept). */
  help(): string {
    const raw = this.buf.utf8Slice(this.textStart, this.textEnd);
    return raw.indexOf('\\') < 0 ? raw : decodeHelp(raw, this.om);
  }

  /** The type of the current TYPE entry. */
  type(): MetricType {
    return this.mtype;
  }

  /** The unit of the current UNIT entry (may be empty). */
  unit(): string {
    return this.buf.latin1Slice(this.textStart, this.textEnd);
  }

  /** The text of the current comment line, after `#` (raw). */
  comment(): string {
    return this.buf.utf8Slice(this.textStart, this.textEnd);
  }

  // ---------------------------------------------------------------------------------------
  // Errors.

  /** A ParseError at byte offset `at` of the current line. */
  private fail(what: string, at: number): ParseError {
    return new ParseError(what, this.curLine, at - this.lineStart + 1);
  }

  /** "expected X, got Y" at offset `at`, Y being the token starting there. */
  private expected(what: string, at: number): ParseError {
    let e = at;
    const buf = this.buf;
    while (e < this.len && buf[e] !== NL && buf[e] !== SP && (this.om || buf[e] !== TAB)) e++;
    if (e === at && at < this.len) e = at + 1;
    const got =
      at >= this.len ? 'end of input' : buf[at] === NL ? 'end of line' : showToken(buf, at, e);
    return this.fail(`expected ${what}, got ${got}`, at);
  }

  /** Starts a new entry at `pos`; checks the line-length limit once the line end is known. */
  private beginLine(): void {
    this.lineStart = this.pos;
    this.curLine = this.lineNo;
  }

  /** Ends the current line at `nl` (offset of '\n' or len) and advances. */
  private endLine(nl: number): void {
    if (nl - this.lineStart > this.maxLineBytes) {
      throw this.fail(
        `line is ${nl - this.lineStart} bytes long, over the limit of ${this.maxLineBytes}`,
        this.lineStart,
      );
    }
    if (nl < this.len) {
      this.pos = nl + 1;
      this.lineNo++;
    } else {
      this.pos = this.len;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Prometheus text 0.0.4 (promparse behaviour).

  private nextText(): EntryType {
    const buf = this.buf;
    const len = this.len;
    for (;;) {
      if (this.pos >= len) return EntryType.EOF;
      this.beginLine();
      let i = this.pos;
      // promparse skips blanks between tokens, line starts included.
      let c = buf[i];
      while (c === SP || c === TAB) c = buf[++i];
      if (i >= len) return EntryType.EOF;
      if (c === NL) {
        this.endLine(i);
        continue; // blank line
      }
      if (CLASS[c] & M_START) return this.textSeries(i);
      if (c === HASH) {
        const t = this.textComment(i);
        if (t !== EntryType.EOF) return t;
        continue;
      }
      // The 2.42 lexer reads a NUL where a line's first token starts as the end of input.
      if (c === 0) return EntryType.EOF;
      throw this.expected('a metric name, a comment or a blank line', i);
    }
  }

  /** A `#` line in text mode: HELP, TYPE, or a comment. Never returns EOF. */
  private textComment(hash: number): EntryType {
    const buf = this.buf;
    const len = this.len;
    let i = hash + 1;
    const nl = indexOfNewline(buf, i, len);
    if (i < nl && (buf[i] === SP || buf[i] === TAB)) {
      while (i < nl && (buf[i] === SP || buf[i] === TAB)) i++;
      // promparse knows HELP and TYPE only: `# UNIT` and `# EOF` are plain comments here.
      const kw = keyword(buf, i, nl);
      if (
        (kw === KW_HELP || kw === KW_TYPE) &&
        i + 4 < nl &&
        (buf[i + 4] === SP || buf[i + 4] === TAB)
      ) {
        i += 4;
        while (i < nl && (buf[i] === SP || buf[i] === TAB)) i++;
        const ns = i;
        if (i < nl && CLASS[buf[i]] & M_START) {
          i++;
          while (i < nl && CLASS[buf[i]] & M_CHAR) i++;
        }
        if (i === ns)
          throw this.expected(`metric name after ${kw === KW_HELP ? 'HELP' : 'TYPE'}`, ns);
        this.nameStart = ns;
        this.nameEnd = i;
        // promparse keeps the rest of the line after the name as the text minus its first
        // byte, whatever that byte is (normally the one separating blank).
        this.textStart = i < nl ? i + 1 : nl;
        this.textEnd = nl;
        if (kw === KW_TYPE) {
          const t = matchType(buf, this.textStart, nl, false);
          if (t === null)
            throw this.fail(
              `invalid metric type ${showToken(buf, this.textStart, nl)}`,
              this.textStart,
            );
          this.mtype = t;
        }
        this.endLine(nl);
        return kw === KW_HELP ? EntryType.Help : EntryType.Type;
      }
    }
    this.textStart = hash + 1;
    this.textEnd = nl;
    this.endLine(nl);
    return EntryType.Comment;
  }

  /** A sample line in text mode, starting with a metric name at `i`. */
  private textSeries(i: number): EntryType {
    if (
      this.prevCursor < this.keptN &&
      (this.rescans < 16 || this.rescans * 4 < this.skippedScans) &&
      this.textSeriesRemembered(i)
    )
      return EntryType.Series;
    if (this.knownKeys !== null && this.textSeriesKnown(i)) return EntryType.Series;
    return this.textSeriesForward(i);
  }

  /**
   * The repeat-body path: a target writes the same series in the same order on every
   * scrape, so the line is first compared with the key the remembered body had at this
   * place (or the one after, when a series went away). Those bytes passed the forward
   * parse then, with the same options, so an equal key needs no label scan: one native
   * compare of bytes, and no string. The value and timestamp are parsed forward as
   * usual. Returns false (having consumed nothing) when neither key matches.
   */
  private textSeriesRemembered(i: number): boolean {
    let m = this.prevCursor;
    let n = this.startsWithLine(m, i);
    if (n < 0) {
      if (m + 1 >= this.keptN) return false;
      n = this.startsWithLine(++m, i);
      if (n < 0) return false;
    }
    // A line that is not the expected one counts as a new series: the cursor stays, so
    // the line after it is compared with the same expected key.
    this.prevCursor = m + 1;
    this.remembered = m;
    this.nameStart = i;
    this.nameEnd = -1; // found on demand (metricName, labels)
    this.keyEnd = i + n;
    this.nLabels = 0;
    this.hasExemplar = false;
    this.labelsPending = true;
    this.skippedScans++;
    this.textValueAndTimestamp(this.keyEnd);
    const known = this.knownKeys;
    if (known !== null) {
      const bytes = this.knownBytes;
      if (bytes !== null) {
        this.knownValue = bytes.getRemembered(m) ?? bytes.getRange(this.buf, i, this.keyEnd);
      } else {
        this.knownValue = (known as KnownKeyStrings<K>).get(this.buf.latin1Slice(i, this.keyEnd));
      }
    }
    return true;
  }

  /**
   * The length of remembered line `m`'s key when the line at `i` begins with it as the
   * forward parse would read it (the same bytes, then a blank, and, for a key without
   * labels, no `{` after the blanks, which would make the labels part of the key), else -1.
   */
  private startsWithLine(m: number, i: number): number {
    const buf = this.buf;
    const ks = this.keptStart[m];
    const n = this.keptEnd[m] - ks;
    const e = i + n;
    if (e >= this.len) return -1;
    let c = buf[e];
    if (c !== SP && c !== TAB) return -1;
    if (this.kept[ks + n - 1] !== RBRACE) {
      let j = e;
      while (c === SP || c === TAB) c = buf[++j];
      if (c === LBRACE) return -1;
    }
    // Native: a JavaScript loop, even four or eight bytes at a time, costs more.
    return buf.compare(this.kept, ks, ks + n, i, e) === 0 ? n : -1;
  }

  /** Sets `nameEnd` for a series read without a label scan. */
  private findNameEnd(): void {
    const buf = this.buf;
    const k = this.keyEnd;
    let n = this.nameStart + 1;
    while (n < k && CLASS[buf[n]] & M_CHAR) n++;
    this.nameEnd = n;
  }

  /**
   * The warm path: reads the line from its end. Valid series text never ends in a blank and
   * a token outside braces, so `key value` and `key value timestamp` cannot be confused:
   * the key before the last token is tried first, then the key before the last two. A hit
   * means the key bytes were validated when first seen; the value and timestamp tokens are
   * checked as the forward parse would. Returns false (having consumed nothing) otherwise.
   */
  private textSeriesKnown(i: number): boolean {
    const buf = this.buf;
    const known = this.knownKeys!;
    const nl = indexOfNewline(buf, i, this.len);
    let e = nl;
    let c = buf[e - 1];
    while (c === SP || c === TAB) c = buf[--e - 1];
    let j = e;
    while (j > i && (c = buf[j - 1]) !== SP && c !== TAB) j--;
    if (j === i) return false;
    let k = j - 1;
    while ((c = buf[k - 1]) === SP || c === TAB) k--;
    // No timestamp: key, blanks, value.
    const bytes = this.knownBytes;
    let hit = couldBeKey(buf, i, k)
      ? bytes !== null
        ? bytes.getRange(buf, i, k)
        : (known as KnownKeyStrings<K>).get(buf.latin1Slice(i, k))
      : undefined;
    if (hit !== undefined) {
      const v = parseFloatBytes(buf, j, e);
      if (v === undefined) return false;
      this.val = v;
      this.hasTs = false;
    } else {
      // Key, blanks, value, blanks, timestamp (digits only).
      for (let d = j; d < e; d++) if ((c = buf[d]) < 48 || c > 57) return false;
      const ve = k;
      let vs = ve;
      while (vs > i && (c = buf[vs - 1]) !== SP && c !== TAB) vs--;
      if (vs === i) return false;
      k = vs - 1;
      while ((c = buf[k - 1]) === SP || c === TAB) k--;
      hit =
        bytes !== null
          ? bytes.getRange(buf, i, k)
          : (known as KnownKeyStrings<K>).get(buf.latin1Slice(i, k));
      if (hit === undefined) return false;
      const v = parseFloatBytes(buf, vs, ve);
      const t = parseIntTimestampBytes(buf, j, e);
      if (v === undefined || t === undefined) return false;
      this.val = v;
      this.ts = t;
      this.hasTs = true;
    }
    this.knownValue = hit;
    this.labelsPending = true;
    this.skippedScans++;
    this.nameStart = i;
    this.keyEnd = k;
    this.nameEnd = -1; // found on demand (metricName, labels)
    this.nLabels = 0;
    this.hasExemplar = false;
    this.endLine(nl);
    return true;
  }

  /** Parses the current warm-path line forward, for the label offsets; position is kept. */
  private rescanSeries(): void {
    const pos = this.pos;
    const lineNo = this.lineNo;
    this.lineNo = this.curLine;
    this.rescans++;
    this.textSeriesForward(this.nameStart);
    this.pos = pos;
    this.lineNo = lineNo;
    this.labelsPending = false;
  }

  /**
   * The forward parse of a text sample line: validates everything, records label offsets.
   * The bytes the line shares with the template line (see `prevKeyLen`) were validated
   * there and tokenise the same way, so the name and every label that lies wholly inside
   * them are taken over (offsets shifted), and tokenising resumes at the last label name
   * that starts before the first differing byte, in the state the template's parse had there.
   */
  private textSeriesForward(start: number): EntryType {
    const buf = this.buf;
    const len = this.len;
    this.nameStart = start;
    this.escapes = false;
    this.hasExemplar = false;
    const seq = ++this.seriesSeq;
    this.curSeq = seq;
    const pk = this.prevKeyLen;
    const ps = this.prevStart;
    const same = pk === 0 ? 0 : commonPrefix(this.view, ps, start, Math.min(pk, len - start));
    this.prevKeyLen = 0; // `lbl` is rewritten now: a line that fails leaves no template
    this.sharedSeq = -1;
    let i: number;
    let n = 0;
    if (same > this.prevNameLen) {
      // The name and the byte after it are the template's: the name ends where it did.
      const a = this.lbl;
      const pn = this.prevNLabels;
      const delta = start - ps;
      this.nameEnd = start + this.prevNameLen;
      this.sharedSeq = seq - 1;
      if (same === pk && buf[ps + pk - 1] === RBRACE) {
        // The whole key repeats.
        n = pn;
        for (let k = 0; k < pn << 2; k++) a[k] += delta;
        this.sharedLabels = n;
        this.nLabels = n;
        this.escapes = this.prevEscapes;
        i = start + pk;
        this.keyEnd = i;
        this.textValueAndTimestamp(i);
        this.keepTemplate(start);
        return EntryType.Series;
      }
      // Template labels whose first name byte is shared: the parse reached it in the same
      // state (it looked at that byte, not past it, to skip blanks and the comma before it).
      let named = 0;
      while (named < pn && a[named << 2] - ps < same) named++;
      if (named > 0) {
        n = named - 1;
        const resume = a[n << 2] + delta;
        for (let k = 0; k < n << 2; k++) a[k] += delta;
        this.sharedLabels = n;
        this.escapes = n > 0 && this.prevEscapes; // may over-report: only costs a search
        i = this.textLabels(resume, n);
        this.keyEnd = i;
        this.textValueAndTimestamp(i);
        this.keepTemplate(start);
        return EntryType.Series;
      }
      this.sharedLabels = 0;
      i = this.nameEnd;
    } else {
      // Bytes before `same` are a prefix of the template's name: name characters.
      i = start + (same > 1 ? same : 1);
      while (i < len && CLASS[buf[i]] & M_CHAR) i++;
      this.nameEnd = i;
    }
    this.keyEnd = i;
    this.nLabels = 0;
    let c = buf[i];
    while (c === SP || c === TAB) c = buf[++i];
    if (c === LBRACE) {
      i = this.textLabels(i + 1, 0);
      this.keyEnd = i;
    }
    this.textValueAndTimestamp(i);
    this.keepTemplate(start);
    return EntryType.Series;
  }

  /** Makes the series line just parsed forward, starting at `start`, the next template. */
  private keepTemplate(start: number): void {
    this.prevStart = start;
    this.prevNameLen = this.nameEnd - start;
    this.prevKeyLen = this.keyEnd - start;
    this.prevNLabels = this.nLabels;
    this.prevEscapes = this.escapes;
  }

  /**
   * The rest of a text sample line from `i` (after the key, blanks allowed): value, optional
   * timestamp, end of line. Ends the line.
   */
  private textValueAndTimestamp(i: number): void {
    const buf = this.buf;
    const len = this.len;
    let c = buf[i];
    while (c === SP || c === TAB) c = buf[++i];
    // As in promparse, the value may follow the name with no blank: `m-1` is m = -1.
    // Value: everything up to a blank or the end of line.
    const vs = i;
    // Fast path: a plain integer of up to 15 digits (counters, counts) is exact as a double.
    let n = 0;
    let d = 0;
    while (i < len && (d = buf[i] - 48) >= 0 && d <= 9) {
      n = n * 10 + d;
      i++;
    }
    if (i > vs && i - vs <= 15 && (i >= len || (c = buf[i]) === SP || c === TAB || c === NL)) {
      this.val = n;
    } else {
      i = vs;
      while (i < len && (c = buf[i]) !== SP && c !== TAB && c !== NL) {
        if (c === LBRACE) throw this.expected('value after metric', vs);
        i++;
      }
      if (i === vs) throw this.expected('value after metric', vs);
      const v = parseFloatBytes(buf, vs, i);
      if (v === undefined)
        throw this.fail(`invalid value ${showToken(buf, vs, i)}: expected a float`, vs);
      this.val = v;
    }
    this.hasTs = false;
    while (i < len && ((c = buf[i]) === SP || c === TAB)) i++;
    if (i < len && c !== NL) {
      const ts = i;
      while (i < len && (c = buf[i]) >= 48 && c <= 57) i++;
      if (i === ts) throw this.expected('timestamp or new record', ts);
      const t = parseIntTimestampBytes(buf, ts, i);
      if (t === undefined)
        throw this.fail(`invalid timestamp ${showToken(buf, ts, i)}: out of int64 range`, ts);
      this.ts = t;
      this.hasTs = true;
      while (i < len && ((c = buf[i]) === SP || c === TAB)) i++;
      if (i < len && c !== NL) throw this.expected('next entry after timestamp', i);
    }
    this.endLine(i);
  }

  /**
   * Label pairs after `{` in text mode. Blanks may surround every token, commas are
   * optional between pairs (as in promparse) and one may trail. Labels are stored from slot
   * `n` on (slots before it are already filled). Returns the offset after `}`.
   */
  private textLabels(i: number, n: number): number {
    const buf = this.buf;
    const len = this.len;
    const stop = this.stopTable;
    for (;;) {
      let c = buf[i];
      while (c === SP || c === TAB) c = buf[++i];
      if (c === RBRACE) break;
      if (i >= len || !(CLASS[c] & L_START)) throw this.expected('label name or "}"', i);
      const ns = i;
      i++;
      while (i < len && CLASS[buf[i]] & L_CHAR) i++;
      const ne = i;
      c = buf[i];
      while (c === SP || c === TAB) c = buf[++i];
      if (c !== EQ) throw this.expected('"=" after label name', i);
      c = buf[++i];
      while (c === SP || c === TAB) c = buf[++i];
      if (c !== QUOTE) throw this.expected('label value in quotes', i);
      const vs = i + 1;
      // Fast path: no escape, newline or suspect byte before the closing quote.
      i = vs;
      while (i < len && stop[buf[i]] === 0) i++;
      if (i >= len || buf[i] !== QUOTE || i - vs > this.maxValueBytes) i = this.scanQuoted(vs);
      if (n >= this.maxLabels || (n << 2) + 4 > this.lbl.length) this.growLabels(n, ns);
      const a = this.lbl;
      const o = n << 2;
      a[o] = ns;
      a[o + 1] = ne;
      a[o + 2] = vs;
      a[o + 3] = i;
      n++;
      i++; // closing quote
      c = buf[i];
      while (c === SP || c === TAB) c = buf[++i];
      if (c === COMMA) i++;
    }
    this.nLabels = n;
    return i + 1;
  }

  /**
   * Scans a quoted label value from `vs` (after the opening quote) to its closing quote,
   * returning the offset of the closing quote. Notes escapes, checks UTF-8 when a byte is
   * not ASCII, and rejects a raw newline or the end of input.
   */
  private scanQuoted(vs: number): number {
    const buf = this.buf;
    const len = this.len;
    const stop = this.stopTable;
    let i = vs;
    let high = false;
    for (;;) {
      // Fast inner loop: plain bytes need one table lookup each.
      while (i < len && stop[buf[i]] === 0) i++;
      if (i >= len)
        throw this.fail(
          'unterminated label value: expected closing quote, got end of input',
          vs - 1,
        );
      const c = buf[i];
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        this.escapes = true;
        i++;
        if (i >= len || buf[i] === NL)
          throw this.fail('invalid escape at end of line in label value', i - 1);
        if (buf[i] >= 0x80) high = true;
      } else if (c === NL) {
        throw this.fail(
          'unterminated label value: expected closing quote, got end of line',
          vs - 1,
        );
      } else {
        high = true; // only reached when the body is not known to be valid UTF-8
      }
      i++;
    }
    if (i - vs > this.maxValueBytes) {
      throw this.fail(
        `label value is ${i - vs} bytes long, over the limit of ${this.maxValueBytes}`,
        vs,
      );
    }
    if (high && !this.bodyIsUtf8 && !isUtf8(buf.subarray(vs, i)))
      throw this.fail('invalid UTF-8 in label value', vs);
    return i;
  }

  /** Makes room for label `n` (label name at `ns`), enforcing the label limit. */
  private growLabels(n: number, ns: number): void {
    if (n >= this.maxLabels) {
      throw this.fail(`series has more than ${this.maxLabels} labels, the limit`, ns);
    }
    const a = this.lbl;
    if ((n << 2) + 4 > a.length) {
      const grown = new Int32Array(a.length * 2);
      grown.set(a);
      this.lbl = grown;
    }
  }

  /** Records label `n`'s offsets, growing the offset array and enforcing the label limit. */
  private pushLabel(n: number, ns: number, ne: number, vs: number, ve: number): void {
    if (n >= this.maxLabels || (n << 2) + 4 > this.lbl.length) this.growLabels(n, ns);
    const a = this.lbl;
    const o = n << 2;
    a[o] = ns;
    a[o + 1] = ne;
    a[o + 2] = vs;
    a[o + 3] = ve;
  }

  // ---------------------------------------------------------------------------------------
  // Label materialisation (the cache-miss path).

  /**
   * Decodes labels [from, to) into names/values; with `withName`, `__name__` comes first.
   * With `keep` >= 0 the name and the first `keep` labels are already in place (`from` is 0).
   */
  private collectLabels(
    names: string[],
    values: string[],
    from: number,
    to: number,
    withName: boolean,
    keep: number,
  ): number {
    const buf = this.buf;
    const a = this.lbl;
    const view = this.view;
    let n = 0;
    let k = from;
    if (withName) {
      if (keep < 0) {
        names[0] = METRIC_NAME;
        const ns = this.nameStart;
        const ne = this.nameEnd;
        values[0] =
          ne - ns <= MAX_INTERNED_BYTES ? STRINGS.get(buf, view, ns, ne) : buf.latin1Slice(ns, ne);
      }
      n = 1;
    }
    if (keep > 0) {
      k += keep;
      n += keep;
    }
    // Without a backslash or a non-ASCII byte a value is its bytes, one char each.
    const plain = this.bodyIsAscii && !this.escapes;
    for (; k < to; k++) {
      const o = k << 2;
      names[n] = STRINGS.get(buf, view, a[o], a[o + 1]);
      const vs = a[o + 2];
      const ve = a[o + 3];
      // Short values repeat across series (le, status codes, directions): intern those.
      let v = ve - vs <= MAX_INTERNED_BYTES ? STRINGS.getValue(buf, view, vs, ve, plain) : null;
      if (v === null) {
        if (plain) {
          v = buf.latin1Slice(vs, ve);
        } else {
          const raw = buf.utf8Slice(vs, ve);
          v = this.escapes && raw.indexOf('\\') >= 0 ? decodeLabelValue(raw) : raw;
        }
      }
      values[n] = v;
      n++;
    }
    return n;
  }

  /**
   * Sorts, rejects duplicate names, drops empty values and builds the Labels. Names come
   * mostly in order already, which one compare per label confirms (strictly ascending also
   * means no duplicates); `keep` >= 0 says the first keep + 1 names are those of the last call.
   */
  private finishLabels(
    names: string[],
    values: string[],
    n: number,
    b: LabelsBuilder | undefined,
    keep: number,
  ): Labels {
    let sorted = keep >= 0 ? Math.min(this.scratchSorted, keep + 1) : 1;
    while (sorted < n && names[sorted - 1] < names[sorted]) sorted++;
    this.scratchSorted = sorted;
    if (sorted < n) {
      const idx = sortedIndex(names, n);
      for (let k = 1; k < n; k++) {
        if (names[idx[k]] === names[idx[k - 1]]) {
          throw new ParseError(
            `label name ${JSON.stringify(names[idx[k]])} is not unique`,
            this.curLine,
            1,
          );
        }
      }
      if (b) return builtLabels(b, names, values, n);
      return Labels.fromSortedPairs(pairsByIndex(names, values, idx, n));
    }
    if (b) return builtLabels(b, names, values, n);
    return Labels.fromSortedPairs(sortedPairs(names, values, n));
  }

  // ---------------------------------------------------------------------------------------
  // OpenMetrics 1.0 (strict).

  private nextOpenMetrics(): EntryType {
    const buf = this.buf;
    const len = this.len;
    const v = this.validator;
    if (this.pos >= len) {
      throw new ParseError('expected "# EOF" as the last line, got end of input', this.lineNo, 1);
    }
    this.beginLine();
    const i = this.pos;
    const c = buf[i];
    if (c === NL) throw this.fail('blank lines are not allowed in OpenMetrics', i);
    if (c === HASH) {
      const t = this.omMeta(i);
      if (v !== null) {
        if (t === EntryType.EOF) v.end(this);
        else v.metadata(this, t);
      }
      return t;
    }
    if (!(CLASS[c] & M_START)) throw this.expected('a metric name or "#"', i);
    this.omSeries(i);
    if (v !== null) v.sample(this);
    return EntryType.Series;
  }

  /** A `#` line in OpenMetrics: HELP, TYPE, UNIT or EOF; anything else is an error. */
  private omMeta(hash: number): EntryType {
    const buf = this.buf;
    const len = this.len;
    const nl = indexOfNewline(buf, hash, len);
    if (buf[hash + 1] !== SP) throw this.expected('"# " starting HELP, TYPE, UNIT or EOF', hash);
    let i = hash + 2;
    if (nl - i === 3 && buf[i] === 69 && buf[i + 1] === 79 && buf[i + 2] === 70) {
      // "# EOF": must be the last line, optionally followed by one newline.
      if (nl < len && nl + 1 !== len) throw this.fail('unexpected data after "# EOF"', nl + 1);
      this.endLine(nl);
      return EntryType.EOF;
    }
    const kw = keyword(buf, i, nl);
    if (kw === 0 || buf[i + 4] !== SP) throw this.expected('HELP, TYPE, UNIT or EOF after "# "', i);
    i += 5;
    const ns = i;
    if (i < nl && CLASS[buf[i]] & M_START) {
      i++;
      while (i < nl && CLASS[buf[i]] & M_CHAR) i++;
    }
    if (i === ns) throw this.expected('metric name', ns);
    if (i >= nl || buf[i] !== SP) throw this.expected('a space after the metric name', i);
    this.nameStart = ns;
    this.nameEnd = i;
    this.textStart = i + 1;
    this.textEnd = nl;
    let t: EntryType;
    if (kw === KW_HELP) {
      t = EntryType.Help;
      if (!this.bodyIsUtf8 && !isUtf8(buf.subarray(this.textStart, nl)))
        throw this.fail('invalid UTF-8 in HELP', this.textStart);
    } else if (kw === KW_TYPE) {
      const mt = matchType(buf, this.textStart, nl, true);
      if (mt === null)
        throw this.fail(
          `invalid metric type ${showToken(buf, this.textStart, nl)}`,
          this.textStart,
        );
      this.mtype = mt;
      t = EntryType.Type;
    } else {
      for (let k = this.textStart; k < nl; k++) {
        if (!(CLASS[buf[k]] & M_CHAR))
          throw this.expected('a unit made of metric-name characters', k);
      }
      t = EntryType.Unit;
    }
    if (nl >= len)
      throw this.fail('expected a newline at the end of the line, got end of input', nl);
    this.endLine(nl);
    return t;
  }

  /** A sample line in OpenMetrics: `name[{labels}] value [timestamp] [# {labels} value [ts]]`. */
  private omSeries(i: number): void {
    const buf = this.buf;
    const len = this.len;
    this.nameStart = i;
    i++;
    while (i < len && CLASS[buf[i]] & M_CHAR) i++;
    this.nameEnd = i;
    this.nLabels = 0;
    this.escapes = false;
    this.hasExemplar = false;
    if (buf[i] === LBRACE) i = this.omLabels(i + 1, 0);
    this.keyEnd = i;
    if (buf[i] !== SP) throw this.expected('a space before the value', i);
    i++;
    let e = i;
    while (e < len && buf[e] !== SP && buf[e] !== NL) e++;
    const v = parseFloatBytes(buf, i, e);
    if (v === undefined) throw this.expected('a float value', i);
    this.val = v;
    this.hasTs = false;
    i = e;
    if (buf[i] === SP && buf[i + 1] !== HASH) {
      i++;
      e = i;
      while (e < len && buf[e] !== SP && buf[e] !== NL) e++;
      this.ts = this.omTimestamp(i, e);
      this.tsSeconds = this.lastSeconds;
      this.hasTs = true;
      i = e;
    }
    if (buf[i] === SP && buf[i + 1] === HASH) i = this.omExemplar(i + 2);
    if (i >= len) throw this.fail('expected a newline at the end of the line, got end of input', i);
    if (buf[i] !== NL) throw this.expected('end of line', i);
    this.endLine(i);
  }

  /** An OpenMetrics timestamp: float seconds, finite; returned in milliseconds. */
  private omTimestamp(s: number, e: number): number {
    const t = parseFloatBytes(this.buf, s, e);
    if (t === undefined || t !== t || t === Infinity || t === -Infinity)
      throw this.expected('a finite float timestamp in seconds', s);
    this.lastSeconds = t;
    return Math.round(t * 1000);
  }

  /** The exemplar after `" #"`, from `i`. Returns the offset after it. */
  private omExemplar(i: number): number {
    const buf = this.buf;
    const len = this.len;
    if (buf[i] !== SP || buf[i + 1] !== LBRACE) throw this.expected('" {" starting an exemplar', i);
    const first = this.nLabels;
    i = this.omLabels(i + 2, first);
    this.exStart = first;
    this.nExLabels = this.nLabels - first;
    this.nLabels = first;
    // Exemplar label sets are limited to 128 UTF-8 code points, names and values together.
    let chars = 0;
    const a = this.lbl;
    for (let k = first; k < first + this.nExLabels; k++) {
      const o = k << 2;
      chars += a[o + 1] - a[o] + countCodePoints(buf, a[o + 2], a[o + 3]);
    }
    if (chars > 128)
      throw this.fail(`exemplar labels are ${chars} characters long, over the limit of 128`, i);
    if (buf[i] !== SP) throw this.expected('a space before the exemplar value', i);
    i++;
    let e = i;
    while (e < len && buf[e] !== SP && buf[e] !== NL) e++;
    const v = parseFloatBytes(buf, i, e);
    if (v === undefined) throw this.expected('a float exemplar value', i);
    this.exVal = v;
    this.exHasTs = false;
    i = e;
    if (buf[i] === SP) {
      i++;
      e = i;
      while (e < len && buf[e] !== SP && buf[e] !== NL) e++;
      this.exTs = this.omTimestamp(i, e);
      this.exHasTs = true;
      i = e;
    }
    this.hasExemplar = true;
    return i;
  }

  /**
   * OpenMetrics label pairs after `{`: `name="value"` joined by single commas, no blanks,
   * no trailing comma. Labels are stored from slot `first`; returns the offset after `}`.
   */
  private omLabels(i: number, first: number): number {
    const buf = this.buf;
    const len = this.len;
    let n = first;
    if (buf[i] === RBRACE) {
      this.nLabels = n;
      return i + 1;
    }
    for (;;) {
      if (i >= len || !(CLASS[buf[i]] & L_START)) throw this.expected('label name', i);
      const ns = i;
      i++;
      while (i < len && CLASS[buf[i]] & L_CHAR) i++;
      const ne = i;
      if (buf[i] !== EQ) throw this.expected('"=" after label name', i);
      i++;
      if (buf[i] !== QUOTE) throw this.expected('label value in quotes', i);
      const vs = i + 1;
      i = this.scanQuoted(vs);
      this.pushLabel(n++, ns, ne, vs, i);
      i++;
      const c = buf[i];
      if (c === RBRACE) break;
      if (c !== COMMA) throw this.expected('"," or "}" after label value', i);
      i++;
    }
    this.nLabels = n;
    return i + 1;
  }

  // ---------------------------------------------------------------------------------------
  // Views for the OpenMetrics validator (same module family; not part of the public API).

  /** @internal OpenMetrics: the sample timestamp in seconds as written, or null. */
  timestampSeconds(): number | null {
    return this.hasTs ? this.tsSeconds : null;
  }

  /** @internal Whether the current sample carries an exemplar. */
  hasExemplarNow(): boolean {
    return this.hasExemplar;
  }

  /** @internal Whether the current series was read without its label scan (so far). */
  labelScanSkipped(): boolean {
    return this.labelsPending;
  }

  /** @internal Throws a ParseError at the start of the current line. */
  failLine(what: string): never {
    throw new ParseError(what, this.curLine, 1);
  }
}

/** Largest body (bytes) a parser keeps a copy of to compare the next one with. */
const MAX_REMEMBERED_BODY_BYTES = 16 * 1024 * 1024;

const EMPTY = Buffer.alloc(0);

/** Longest name or value (bytes) looked up in the string table instead of decoded afresh. */
const MAX_INTERNED_BYTES = 128;

/**
 * A direct-mapped cache from ASCII byte ranges to strings: label names and short values
 * recur on every line (and across targets), and a hit costs a hash and a compare instead of
 * a native slice call and a new string (Labels keep these strings, so sharing them saves
 * memory). Each slot keeps its string's bytes too, so a compare is bytes against bytes,
 * four at a time through DataViews (a JavaScript loop over single bytes, or a native
 * compare of strings, cost more than the slice it saved). Fixed size, so memory stays
 * bounded; one table serves every parser (a cache only: any parser may replace a slot).
 */
class StringTable {
  private readonly keys: string[] = new Array<string>(STRING_TABLE_SIZE).fill('');
  private readonly hashes = new Int32Array(STRING_TABLE_SIZE);
  /** The bytes of slot k's string at k * MAX_INTERNED_BYTES. */
  private readonly bytes = new Uint8Array(STRING_TABLE_SIZE * MAX_INTERNED_BYTES);
  private readonly bytesView = new DataView(this.bytes.buffer);

  /** The string for ASCII bytes buf[s, e) (names are always ASCII), `view` being buf's. */
  get(buf: Latin1Buffer, view: DataView, s: number, e: number): string {
    const n = e - s;
    if (n > MAX_INTERNED_BYTES) return buf.latin1Slice(s, e);
    const h = hashRange(view, s, e);
    const slot = h & (STRING_TABLE_SIZE - 1);
    const k = this.keys[slot];
    const at = slot * MAX_INTERNED_BYTES;
    if (this.hashes[slot] === h && k.length === n && equalBytes(view, s, this.bytesView, at, n))
      return k;
    const str = buf.latin1Slice(s, e);
    this.keys[slot] = str;
    this.hashes[slot] = h;
    this.bytes.set(buf.subarray(s, e), at);
    return str;
  }

  /**
   * Like get() for a raw label value; null when it holds a backslash or a non-ASCII byte.
   * `plain` says the caller knows it holds neither.
   */
  getValue(buf: Latin1Buffer, view: DataView, s: number, e: number, plain: boolean): string | null {
    if (s === e) return '';
    if (!plain) {
      for (let i = s; i < e; i++) {
        const c = buf[i];
        if (c === BACKSLASH || c >= 0x80) return null;
      }
    }
    return this.get(buf, view, s, e);
  }
}

const STRING_TABLE_SIZE = 4096;

/** The string table all parsers share (512 KiB of key bytes). */
const STRINGS = new StringTable();

/**
 * A 32-bit hash of the bytes [s, e), read four at a time: all of them up to 16 bytes;
 * beyond, both ends (where metric names differ most: `_bucket`, `_sum`) and the middle,
 * equal hashes being compared in full anyway. Mixed at the end, as the low bits pick the slot.
 */
function hashRange(view: DataView, s: number, e: number): number {
  const n = e - s;
  let h = 0x811c9dc5 ^ n;
  if (n < 4) {
    for (let i = s; i < e; i++) h = Math.imul(h ^ view.getUint8(i), 0x01000193);
  } else if (n <= 16) {
    for (let i = s; i + 4 < e; i += 4) h = Math.imul(h ^ view.getInt32(i, true), 0x01000193);
    h = Math.imul(h ^ view.getInt32(e - 4, true), 0x01000193);
  } else {
    h = Math.imul(h ^ view.getInt32(s, true), 0x01000193);
    h = Math.imul(h ^ view.getInt32(s + 4, true), 0x01000193);
    h = Math.imul(h ^ view.getInt32(s + (n >> 1) - 2, true), 0x01000193);
    h = Math.imul(h ^ view.getInt32(e - 8, true), 0x01000193);
    h = Math.imul(h ^ view.getInt32(e - 4, true), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}

/** Whether the n bytes at `a` in `va` equal the n bytes at `b` in `vb`, four at a time. */
function equalBytes(va: DataView, a: number, vb: DataView, b: number, n: number): boolean {
  if (n < 4) {
    for (let i = 0; i < n; i++) if (va.getUint8(a + i) !== vb.getUint8(b + i)) return false;
    return true;
  }
  for (let i = 0; i + 4 < n; i += 4)
    if (va.getInt32(a + i, true) !== vb.getInt32(b + i, true)) return false;
  return va.getInt32(a + n - 4, true) === vb.getInt32(b + n - 4, true);
}

/** How many of the n bytes at `a` and at `b` are equal before the first that differs. */
function commonPrefix(view: DataView, a: number, b: number, n: number): number {
  let i = 0;
  while (i + 4 <= n && view.getInt32(a + i, true) === view.getInt32(b + i, true)) i += 4;
  while (i < n && view.getUint8(a + i) === view.getUint8(b + i)) i++;
  return i;
}

const KW_HELP = 1;
const KW_TYPE = 2;
const KW_UNIT = 3;

/** HELP, TYPE or (OpenMetrics) UNIT at buf[i..i+4) before `end`; 0 when none. */
function keyword(buf: Uint8Array, i: number, end: number): number {
  if (end - i < 4) return 0;
  const a = buf[i];
  const b = buf[i + 1];
  const c = buf[i + 2];
  const d = buf[i + 3];
  if (a === 72 && b === 69 && c === 76 && d === 80) return KW_HELP;
  if (a === 84 && b === 89 && c === 80 && d === 69) return KW_TYPE;
  if (a === 85 && b === 78 && c === 73 && d === 84) return KW_UNIT;
  return 0;
}

/**
 * Whether buf[i, k) could be a series key at all: `name{...}` ends with the brace, and a
 * bare name has no blank. Spares a key lookup (which hashes the whole text) for the
 * `key value` prefix of a line that has a timestamp.
 */
function couldBeKey(buf: Uint8Array, i: number, k: number): boolean {
  if (buf[k - 1] === RBRACE) return true;
  for (let x = k - 1; x >= i; x--) {
    const c = buf[x];
    if (c === SP || c === TAB) return false;
  }
  return true;
}

/** Offset of the next '\n' at or after `i`, or `len`. */
function indexOfNewline(buf: Buffer, i: number, len: number): number {
  const k = buf.indexOf(NL, i);
  return k < 0 ? len : k;
}

/** The metric type spelled exactly by buf[s, e), or null. 0.0.4 and OpenMetrics allow different sets. */
function matchType(buf: Buffer, s: number, e: number, om: boolean): MetricType | null {
  for (const t of METRIC_TYPES) {
    if (t.length !== e - s) continue;
    let ok = true;
    for (let k = 0; k < t.length; k++) {
      if (buf[s + k] !== t.charCodeAt(k)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (om) return t === 'untyped' ? null : t;
    return t === 'counter' ||
      t === 'gauge' ||
      t === 'histogram' ||
      t === 'summary' ||
      t === 'untyped'
      ? t
      : null;
  }
  return null;
}

/** Number of UTF-8 code points in buf[s, e) (bytes that do not continue a sequence). */
function countCodePoints(buf: Uint8Array, s: number, e: number): number {
  let n = 0;
  for (let k = s; k < e; k++) if ((buf[k] & 0xc0) !== 0x80) n++;
  return n;
}

/** Decodes `\\`, `\"` and `\n` in a label value; any other escape stays as written. */
export function decodeLabelValue(raw: string): string {
  let out = '';
  let from = 0;
  for (let k = raw.indexOf('\\'); k >= 0 && k + 1 < raw.length; k = raw.indexOf('\\', from)) {
    const c = raw.charCodeAt(k + 1);
    const rep = c === BACKSLASH ? '\\' : c === QUOTE ? '"' : c === 110 /* n */ ? '\n' : null;
    if (rep === null) {
      out += raw.slice(from, k + 2);
    } else {
      out += raw.slice(from, k) + rep;
    }
    from = k + 2;
  }
  return out + raw.slice(from);
}

/** Decodes HELP text: `\\` and `\n` (and in OpenMetrics `\"`); other backslashes stay. */
function decodeHelp(raw: string, om: boolean): string {
  let out = '';
  let from = 0;
  for (let k = raw.indexOf('\\'); k >= 0 && k + 1 < raw.length; k = raw.indexOf('\\', from)) {
    const c = raw.charCodeAt(k + 1);
    const rep = c === BACKSLASH ? '\\' : c === 110 ? '\n' : om && c === QUOTE ? '"' : null;
    out += rep === null ? raw.slice(from, k + 2) : raw.slice(from, k) + rep;
    from = k + 2;
  }
  return out + raw.slice(from);
}

/** Indices 0..n-1 ordered by names[i] (insertion sort: label sets are short). */
function sortedIndex(names: string[], n: number): number[] {
  const idx = new Array<number>(n);
  for (let k = 0; k < n; k++) idx[k] = k;
  if (n > 32) {
    idx.sort((x, y) => (names[x] < names[y] ? -1 : names[x] > names[y] ? 1 : 0));
    return idx;
  }
  for (let k = 1; k < n; k++) {
    const x = idx[k];
    const nx = names[x];
    let j = k - 1;
    while (j >= 0 && names[idx[j]] > nx) {
      idx[j + 1] = idx[j];
      j--;
    }
    idx[j + 1] = x;
  }
  return idx;
}

/** Fills `b` with the labels and returns its label set (the caller keeps editing `b`). */
function builtLabels(b: LabelsBuilder, names: string[], values: string[], n: number): Labels {
  b.reset();
  for (let k = 0; k < n; k++) b.set(names[k], values[k]);
  return b.labels();
}

/**
 * Flat pairs of labels already in order, empty values left out, in an array of exactly
 * the right size (label sets live long; common sizes are literals, packed arrays).
 */
function sortedPairs(names: string[], values: string[], n: number): string[] {
  let empty = 0;
  for (let k = 0; k < n; k++) if (values[k] === '') empty++;
  if (empty === 0) {
    switch (n) {
      case 1:
        return [names[0], values[0]];
      case 2:
        return [names[0], values[0], names[1], values[1]];
      case 3:
        return [names[0], values[0], names[1], values[1], names[2], values[2]];
      case 4:
        return [names[0], values[0], names[1], values[1], names[2], values[2], names[3], values[3]];
    }
  }
  const out = new Array<string>(2 * (n - empty));
  let j = 0;
  for (let k = 0; k < n; k++) {
    const v = values[k];
    if (v === '') continue;
    out[j++] = names[k];
    out[j++] = v;
  }
  return out;
}

/** Flat pairs in the order of `idx`, empty values left out. */
function pairsByIndex(names: string[], values: string[], idx: number[], n: number): string[] {
  let empty = 0;
  for (let k = 0; k < n; k++) if (values[k] === '') empty++;
  const out = new Array<string>(2 * (n - empty));
  let j = 0;
  for (let k = 0; k < n; k++) {
    const v = values[idx[k]];
    if (v === '') continue;
    out[j++] = names[idx[k]];
    out[j++] = v;
  }
  return out;
}

/**
 * Runs a strict OpenMetrics parse over the whole body and returns null when it is valid,
 * or the first ParseError.
 */
export function validateOpenMetrics(buf: Buffer): ParseError | null {
  const p = new ExpositionParser(buf, { format: 'openmetrics' });
  try {
    while (p.next() !== EntryType.EOF) {
      // The parser's strict mode does the checking.
    }
    return null;
  } catch (err) {
    if (err instanceof ParseError) return err;
    throw err;
  }
}

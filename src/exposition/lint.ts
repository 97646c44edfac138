/**
 * The exposition linter behind `meshmetrics check metrics`: the rules of promlint as
 * `promtool check metrics` (Prometheus 2.42, client_golang's `testutil/promlint`) applies
 * them, over metric families grouped the way Go's strict `expfmt.TextParser` groups them.
 *
 * promtool parses with expfmt, which is stricter than the scrape-time parser our 'text'
 * mode follows. {@link collectFamilies} adds expfmt's extra rejections on top of the
 * parser, with expfmt's own messages: a second HELP or TYPE for a family, TYPE after the
 * family's samples, escapes other than `\\`, `\"`, `\n` in label values (and other than
 * `\\`, `\n` in HELP), duplicate label names, `quantile`/`le` values that are not floats,
 * and a body that does not end in a newline. It also accepts TYPE words in any case, as
 * expfmt does (`Counter`). Errors that only the parser finds keep the parser's wording,
 * which differs from expfmt's.
 * @module
 */

import { ParseError } from '../model/errors.js';
import { parseFloatBytes } from './float.js';
import { EntryType, ExpositionParser, type ExpositionFormat, type MetricType } from './parser.js';

/** One finding: the family it concerns and promlint's text for the problem. */
export interface LintProblem {
  metric: string;
  text: string;
}

/** A family's type in promlint's (client_model's) vocabulary. */
export type LintFamilyType =
  'counter' | 'gauge' | 'summary' | 'untyped' | 'histogram' | 'gauge_histogram';

/** What promlint sees of one metric family. */
export interface LintFamily {
  name: string;
  type: LintFamilyType;
  /** HELP text; null when there was no HELP line. */
  help: string | null;
  /**
   * The label names of each metric of the family, in input order. expfmt makes one metric
   * per sample line, except for summaries and histograms, where the lines of one label set
   * (ignoring `quantile`, resp. `le`) form one metric whose labels exclude that label.
   */
  metrics: string[][];
  /** Buckets (histogram) or quantiles (summary) of each metric; 0 for other types. */
  parts: number[];
}

// promlint's unit tables (client_golang v1.14, used by promtool 2.42).
const UNITS: ReadonlyMap<string, string> = new Map([
  ['amperes', 'amperes'],
  ['bytes', 'bytes'],
  ['celsius', 'celsius'],
  ['grams', 'grams'],
  ['joules', 'joules'],
  ['kelvin', 'kelvin'],
  ['meters', 'meters'],
  ['metres', 'metres'],
  ['seconds', 'seconds'],
  ['volts', 'volts'],
  ['minutes', 'seconds'],
  ['hours', 'seconds'],
  ['days', 'seconds'],
  ['weeks', 'seconds'],
  ['kelvins', 'kelvin'],
  ['fahrenheit', 'celsius'],
  ['rankine', 'celsius'],
  ['inches', 'meters'],
  ['yards', 'meters'],
  ['miles', 'meters'],
  ['bits', 'bytes'],
  ['calories', 'joules'],
  ['pounds', 'grams'],
  ['ounces', 'grams'],
]);
const UNIT_PREFIXES = [
  'pico',
  'nano',
  'micro',
  'milli',
  'centi',
  'deci',
  'deca',
  'hecto',
  'kilo',
  'kibi',
  'mega',
  'mibi',
  'giga',
  'gibi',
  'tera',
  'tebi',
  'peta',
  'pebi',
];
const UNIT_ABBREVIATIONS = [
  's',
  'ms',
  'us',
  'ns',
  'sec',
  'b',
  'kb',
  'mb',
  'gb',
  'tb',
  'pb',
  'm',
  'h',
  'd',
];
const CAMEL_CASE = /[a-z][A-Z]/;
/** client_model's type names other than untyped, lower-cased. */
const TYPE_NAMES = ['counter', 'gauge', 'summary', 'histogram', 'gauge_histogram'];

/**
 * A unit word of `name` that is not a base unit, with its base unit, as promlint's
 * `metricUnits` finds it: a `_`-separated word equal to a known unit, optionally with a
 * known prefix (`kilometers` matches, `thermometers` does not). promlint walks a Go map, so
 * with two unit words in one name (`celsius_milliseconds`) promtool reports at random; we
 * report the first non-base one every time.
 */
function metricUnits(name: string): [unit: string, base: string] | null {
  for (const s of name.split('_')) {
    let base = UNITS.get(s);
    if (base === undefined) {
      for (const p of UNIT_PREFIXES) {
        if (s.startsWith(p)) {
          base = UNITS.get(s.slice(p.length));
          if (base !== undefined) break;
        }
      }
    }
    if (base !== undefined && base !== s) return [s, base];
  }
  return null;
}

/** The problems promlint reports for one family, in promlint's order (sorted later). */
export function lintFamily(f: LintFamily): LintProblem[] {
  const out: LintProblem[] = [];
  const add = (text: string) => out.push({ metric: f.name, text });
  const n = f.name;
  const t = f.type;
  // lintHelp
  if (f.help === null || f.help === '') add('no help text');
  // lintMetricUnits
  const u = metricUnits(n);
  if (u) add(`use base unit "${u[1]}" instead of "${u[0]}"`);
  // lintCounter
  const hasTotal = n.endsWith('_total');
  if (t === 'counter' && !hasTotal) add('counter metrics should have "_total" suffix');
  else if (t !== 'untyped' && t !== 'counter' && hasTotal)
    add('non-counter metrics should not have "_total" suffix');
  // lintHistogramSummaryReserved
  if (t !== 'untyped') {
    const isHistogram = t === 'histogram';
    const isSummary = t === 'summary';
    if (!isHistogram && n.endsWith('_bucket'))
      add('non-histogram metrics should not have "_bucket" suffix');
    if (!isHistogram && !isSummary && n.endsWith('_count')) {
      add('non-histogram and non-summary metrics should not have "_count" suffix');
    }
    if (!isHistogram && !isSummary && n.endsWith('_sum')) {
      add('non-histogram and non-summary metrics should not have "_sum" suffix');
    }
    for (const labels of f.metrics) {
      for (const ln of labels) {
        if (!isHistogram && ln === 'le') add('non-histogram metrics should not have "le" label');
        if (!isSummary && ln === 'quantile')
          add('non-summary metrics should not have "quantile" label');
      }
    }
  }
  // lintMetricTypeInName: every type name but "untyped" is checked, whatever the family's type.
  const lower = n.toLowerCase();
  for (const tn of TYPE_NAMES) {
    if (lower.includes(`_${tn}_`) || lower.endsWith(`_${tn}`))
      add(`metric name should not include type '${tn}'`);
  }
  // lintReservedChars
  if (n.includes(':')) add("metric names should not contain ':'");
  // lintCamelCase
  if (CAMEL_CASE.test(n)) add("metric names should be written in 'snake_case' not 'camelCase'");
  for (const labels of f.metrics) {
    for (const ln of labels)
      if (CAMEL_CASE.test(ln)) add("label names should be written in 'snake_case' not 'camelCase'");
  }
  // lintUnitAbbreviations
  for (const s of UNIT_ABBREVIATIONS) {
    if (lower.includes(`_${s}_`) || lower.endsWith(`_${s}`))
      add('metric names should not contain abbreviated units');
  }
  return out;
}

/** Lints every family and sorts the problems as promlint does: by metric, then text. */
export function lintFamilies(families: readonly LintFamily[]): LintProblem[] {
  const out: LintProblem[] = [];
  for (const f of families) for (const p of lintFamily(f)) out.push(p);
  out.sort((a, b) =>
    a.metric === b.metric
      ? a.text < b.text
        ? -1
        : a.text > b.text
          ? 1
          : 0
      : a.metric < b.metric
        ? -1
        : 1,
  );
  return out;
}

/** A family while it is being collected. */
interface FamilyState {
  name: string;
  type: LintFamilyType | null;
  help: string | null;
  metrics: string[][];
  parts: number[];
  /** Summary/histogram metrics by label signature. */
  bySignature: Map<string, number>;
}

const OM_TO_LINT_TYPE: Record<MetricType, LintFamilyType> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  gaugehistogram: 'histogram',
  summary: 'summary',
  stateset: 'gauge',
  info: 'gauge',
  untyped: 'untyped',
  unknown: 'untyped',
};

/** Lower-cases the word after `# TYPE name` on every TYPE line, in a copy (expfmt accepts any case). */
function lowerCaseTypeWords(buf: Buffer): Buffer {
  const re = /^([ \t]*#[ \t]+TYPE[ \t]+[^ \t\n]+[ \t]+)([A-Za-z]+)/gm;
  const text = buf.toString('latin1');
  let changed = false;
  const out = text.replace(re, (all: string, head: string, word: string) => {
    if (word === word.toLowerCase()) return all;
    changed = true;
    return head + word.toLowerCase();
  });
  return changed ? Buffer.from(out, 'latin1') : buf;
}

/** Raw label names and values (still escaped, one char per byte) of a series key `name{…}`. */
function rawLabels(key: string): [names: string[], values: string[]] {
  const names: string[] = [];
  const values: string[] = [];
  let i = key.indexOf('{');
  if (i < 0) return [names, values];
  i++;
  for (;;) {
    while (i < key.length && (key[i] === ' ' || key[i] === '\t' || key[i] === ',')) i++;
    if (i >= key.length || key[i] === '}') break;
    const ns = i;
    while (i < key.length && key[i] !== '=' && key[i] !== ' ' && key[i] !== '\t') i++;
    names.push(key.slice(ns, i));
    i = key.indexOf('"', i) + 1;
    const vs = i;
    while (i < key.length && key[i] !== '"') i += key[i] === '\\' ? 2 : 1;
    values.push(key.slice(vs, i));
    i++;
  }
  return [names, values];
}

/** The first invalid escape in `raw`, as expfmt names it (`\t`), or null. */
function invalidEscape(raw: string, allowed: string): string | null {
  for (let i = raw.indexOf('\\'); i >= 0; i = raw.indexOf('\\', i + 2)) {
    const c = raw[i + 1] ?? '';
    if (!allowed.includes(c) || c === '') return '\\' + c;
  }
  return null;
}

/**
 * Parses `buf` and groups its samples into families as expfmt's TextParser does (see
 * {@link LintFamily}); families without samples are left out, as expfmt drops them.
 * Throws a ParseError where either our parser or expfmt's stricter rules reject the input.
 */
export function collectFamilies(input: Buffer, format: ExpositionFormat = 'text'): LintFamily[] {
  const buf = format === 'text' ? lowerCaseTypeWords(input) : input;
  const p = new ExpositionParser(buf, { format });
  const byName = new Map<string, FamilyState>();
  const order: FamilyState[] = [];
  let lineStarts: number[] | null = null;
  // The family of the last OpenMetrics TYPE line: later samples with its name as prefix belong to it.
  let omFamily: FamilyState | null = null;

  const fail = (msg: string, line: number): never => {
    throw new ParseError(msg, line, 0);
  };
  const create = (name: string): FamilyState => {
    const f: FamilyState = {
      name,
      type: null,
      help: null,
      metrics: [],
      parts: [],
      bySignature: new Map(),
    };
    byName.set(name, f);
    order.push(f);
    return f;
  };
  // expfmt's setOrCreateCurrentMF: the name itself, else the summary or histogram it is a part of.
  const resolve = (name: string): FamilyState => {
    const direct = byName.get(name);
    if (direct) return direct;
    const summaryName = name.replace(/_(sum|count)$/, '');
    const s = byName.get(summaryName);
    if (s && s.type === 'summary') return s;
    const histogramName = name.replace(/_(sum|count|bucket)$/, '');
    const h = byName.get(histogramName);
    if (h && h.type === 'histogram') return h;
    return create(name);
  };
  /** The raw bytes of line `n` (1-based), as latin1. */
  const rawLine = (n: number): string => {
    if (!lineStarts) {
      lineStarts = [0];
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lineStarts.push(i + 1);
    }
    const start = lineStarts[n - 1];
    const end = n < lineStarts.length ? lineStarts[n] - 1 : buf.length;
    return buf.toString('latin1', start, end);
  };

  for (let t = p.next(); t !== EntryType.EOF; t = p.next()) {
    const line = p.line();
    if (t === EntryType.Help || t === EntryType.Type) {
      const name = p.family();
      let f: FamilyState;
      if (format === 'openmetrics') {
        f = byName.get(name) ?? create(name);
        omFamily = f;
      } else {
        f = resolve(name);
      }
      if (t === EntryType.Help) {
        if (f.help !== null) fail(`second HELP line for metric name "${f.name}"`, line);
        const help = p.help();
        if (help.includes('\\')) {
          const raw = rawLine(line).replace(/^[ \t]*#[ \t]+HELP[ \t]+[^ \t]+[ \t]?/, '');
          const bad = invalidEscape(raw, '\\n');
          if (bad) fail(`invalid escape sequence '${bad}'`, line);
        }
        f.help = help;
      } else {
        if (f.type !== null)
          fail(
            `second TYPE line for metric name "${f.name}", or TYPE reported after samples`,
            line,
          );
        f.type = OM_TO_LINT_TYPE[p.type()];
      }
      continue;
    }
    if (t !== EntryType.Series) continue;
    const name = p.metricName();
    let f: FamilyState;
    if (
      format === 'openmetrics' &&
      omFamily &&
      (name === omFamily.name || name.startsWith(omFamily.name + '_'))
    ) {
      f = omFamily;
    } else {
      f = resolve(name);
    }
    if (f.type === null) f.type = 'untyped';
    const [names, values] = rawLabels(p.seriesKey());
    const seen = new Set<string>();
    const metricLabels: string[] = [];
    let part = 0;
    for (let i = 0; i < names.length; i++) {
      const ln = names[i];
      if (ln === '__name__') fail('label name "__name__" is reserved', line);
      if (seen.has(ln)) fail(`duplicate label names for metric "${name}"`, line);
      seen.add(ln);
      const bad = invalidEscape(values[i], '\\"n');
      if (bad) fail(`invalid escape sequence '${bad}'`, line);
      const special =
        (f.type === 'summary' && ln === 'quantile') || (f.type === 'histogram' && ln === 'le');
      if (special) {
        const v = Buffer.from(values[i], 'latin1');
        if (parseFloatBytes(v, 0, v.length) === undefined) {
          fail(`expected float as value for '${ln}' label, got ${JSON.stringify(values[i])}`, line);
        }
        if (ln === 'quantile' || name.endsWith('_bucket')) part = 1;
        continue;
      }
      metricLabels.push(ln);
    }
    // The parser's own label checks (UTF-8, reserved names) still apply.
    p.labels();
    if (f.type === 'summary' || f.type === 'histogram') {
      const key = signatureSorted(names, values, f.type);
      let m = f.bySignature.get(key);
      if (m === undefined) {
        m = f.metrics.length;
        f.bySignature.set(key, m);
        f.metrics.push(metricLabels);
        f.parts.push(0);
      }
      f.parts[m] += part;
    } else {
      f.metrics.push(metricLabels);
      f.parts.push(0);
    }
  }
  if (format === 'text' && buf.length > 0 && buf[buf.length - 1] !== 10) {
    let lines = 1;
    for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
    fail('unexpected end of input stream', lines);
  }

  const out: LintFamily[] = [];
  for (const f of order) {
    if (f.metrics.length === 0) continue;
    let name = f.name;
    // An OpenMetrics counter family is named without _total; promlint judges its samples' name.
    if (format === 'openmetrics' && f.type === 'counter' && !name.endsWith('_total'))
      name += '_total';
    out.push({ name, type: f.type ?? 'untyped', help: f.help, metrics: f.metrics, parts: f.parts });
  }
  return out;
}

/** expfmt's label signature of a summary/histogram line: its labels, sorted, without quantile/le. */
function signatureSorted(names: string[], values: string[], type: LintFamilyType): string {
  const skip = type === 'summary' ? 'quantile' : 'le';
  const pairs: string[] = [];
  for (let i = 0; i < names.length; i++)
    if (names[i] !== skip) pairs.push(names[i] + '\u0000' + values[i]);
  return pairs.sort().join('\u0001');
}

/** Parses and lints an exposition; throws a ParseError when it does not parse. */
export function lintExposition(buf: Buffer, format: ExpositionFormat = 'text'): LintProblem[] {
  return lintFamilies(collectFamilies(buf, format));
}

/** One row of `check metrics --extended`: a family and how many series it makes. */
export interface CardinalityStat {
  name: string;
  cardinality: number;
  /** Share of all series, 0 to 1. */
  share: number;
}

/**
 * Series per family as promtool's `--extended` counts them: one per metric for counters,
 * gauges and untyped; (buckets or quantiles of the first metric + 2) per metric for
 * histograms and summaries. Sorted by cardinality, largest first; ties keep input order
 * (promtool's order among ties is random).
 */
export function cardinalityStats(families: readonly LintFamily[]): {
  stats: CardinalityStat[];
  total: number;
} {
  let total = 0;
  const stats: CardinalityStat[] = families.map((f) => {
    const n = f.metrics.length;
    const cardinality =
      f.type === 'histogram' || f.type === 'summary' ? n * (2 + (f.parts[0] ?? 0)) : n;
    total += cardinality;
    return { name: f.name, cardinality, share: 0 };
  });
  for (const s of stats) s.share = total > 0 ? s.cardinality / total : 0;
  stats.sort((a, b) => b.cardinality - a.cardinality);
  return { stats, total };
}

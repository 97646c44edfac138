/**
 * Parser of the promqltest `.test` format (Prometheus's `promql/promqltest`): `load`,
 * `clear`, `eval instant|range` with expectations, and the value-sequence notation.
 * The format is described in peer-tests/promql/FORMAT.md.
 * @module
 */

import { Labels, LabelsBuilder, METRIC_NAME } from '../../model/labels.js';
import { parseDurationMs, parseNumber, unquoteString } from '../parser/lex.js';

/**
 * One item of an expanded value sequence: a value, a gap (`_`), a stale marker (kept
 * symbolic, as JS arrays of doubles may canonicalise its NaN payload) or a histogram.
 */
export type SeqValue = number | null | 'histogram' | 'stale';

/** A `load` block. */
export interface LoadCmd {
  kind: 'load';
  line: number;
  intervalMs: number;
  withNhcb: boolean;
  /**
   * `st`, from a `<series>@st <offsets>` line just before the series: per value, its
   * start timestamp as an offset (ms) from the sample's time, or null for none.
   */
  series: { labels: Labels; values: SeqValue[]; st?: (number | null)[] }[];
  /** Metric names loaded with histogram samples (or NHCB base names). */
  histogramNames: string[];
}

/** An annotation expectation. */
export interface AnnotationExpect {
  kind: 'warn' | 'info';
  msg?: string;
  regex?: string;
}

/** An `eval` block. */
export interface EvalCmd {
  kind: 'eval';
  line: number;
  text: string;
  expr: string;
  range: { start: number; end: number; step: number } | null;
  at: number;
  fail: boolean;
  failMsg?: string;
  failRegex?: string;
  ordered: boolean;
  /** Legacy `eval_warn`/`eval_info`. */
  legacyWarn: boolean;
  legacyInfo: boolean;
  annotations: AnnotationExpect[];
  noWarn: boolean;
  noInfo: boolean;
  expectString: string | null;
  expectRange: { start: number; end: number; step: number } | null;
  scalar: number | null;
  series: { labels: Labels; values: SeqValue[] }[];
  /** Expected lines hold `{{…}}` histograms. */
  expectsHistogram: boolean;
}

/** A `clear` line. */
export interface ClearCmd {
  kind: 'clear';
  line: number;
}

/** Any command of a script. */
export type Command = LoadCmd | EvalCmd | ClearCmd;

/** A malformed script line. */
export class ScriptError extends Error {}

/** Parses a duration of the script (`5m`, `1h30m`, `-10s`, `0`, or seconds as a number). */
export function scriptDuration(s: string): number {
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  let d = parseDurationMs(body);
  if (d === null) {
    const n = parseNumber(body);
    if (n === null) throw new ScriptError(`invalid duration ${JSON.stringify(s)}`);
    d = Math.round(n * 1000);
  }
  return neg ? -d : d;
}

/** Splits a `series values…` line at the end of the series descriptor. */
export function splitSeriesLine(line: string): [string, string] {
  let i = 0;
  while (i < line.length && !/[\s{]/.test(line[i])) i++;
  if (line[i] === '{') {
    let q: string | null = null;
    for (; i < line.length; i++) {
      const c = line[i];
      if (q) {
        if (c === '\\') i++;
        else if (c === q) q = null;
      } else if (c === '"' || c === "'" || c === '`') q = c;
      else if (c === '}') {
        i++;
        break;
      }
    }
  }
  while (i < line.length && !/\s/.test(line[i])) i++; // e.g. `name{…}@st`
  return [line.slice(0, i), line.slice(i).trim()];
}

/** Parses a series descriptor `name{a="b", …}` into labels. */
export function parseSeriesDesc(s: string): Labels {
  const b = new LabelsBuilder();
  let i = 0;
  while (i < s.length && s[i] !== '{') i++;
  const name = s.slice(0, i).trim();
  if (name !== '') b.set(METRIC_NAME, name);
  if (i >= s.length) return b.labels();
  i++;
  const readString = (): string => {
    const q = s[i];
    let j = i + 1;
    while (j < s.length && s[j] !== q) {
      if (s[j] === '\\') j++;
      j++;
    }
    const lit = s.slice(i, j + 1);
    i = j + 1;
    return unquoteString(lit);
  };
  const skipWs = (): void => {
    while (i < s.length && /[\s,]/.test(s[i])) i++;
  };
  for (;;) {
    skipWs();
    if (i >= s.length || s[i] === '}') break;
    let label: string;
    if (s[i] === '"' || s[i] === "'" || s[i] === '`') label = readString();
    else {
      const st = i;
      while (i < s.length && /[A-Za-z0-9_:.]/.test(s[i])) i++;
      label = s.slice(st, i);
    }
    while (i < s.length && s[i] === ' ') i++;
    if (s[i] !== '=') {
      // `{"name"}` alone: the metric name.
      b.set(METRIC_NAME, label);
      continue;
    }
    i++;
    while (i < s.length && s[i] === ' ') i++;
    b.set(label, readString());
  }
  return b.labels();
}

/** Expands a value sequence (`1+2x3 _ stale 5x2 _x3`). */
export function parseSequence(text: string): SeqValue[] {
  const out: SeqValue[] = [];
  const items = tokenizeSequence(text);
  for (const item of items) {
    if (item.startsWith('{{')) {
      const m = /x(\d+)$/.exec(item.slice(item.lastIndexOf('}}')));
      const n = m ? Number(m[1]) + 1 : 1;
      for (let k = 0; k < n; k++) out.push('histogram');
      continue;
    }
    if (item === 'stale') {
      out.push('stale');
      continue;
    }
    expandItem(item, num, out);
  }
  return out;
}

/**
 * Expands one item of the sequence notation into `out`: `_` (no sample), `_xN` (N of
 * them), `AxN` (A, then N more), `A+BxN` / `A-BxN` (A, then N more, each B further), or a
 * plain atom; `atom` reads A and B (numbers, or durations in `@st` lines).
 */
function expandItem(item: string, atom: (s: string) => number, out: unknown[]): void {
  if (item === '_') {
    out.push(null);
    return;
  }
  let m = /^_x(\d+)$/.exec(item);
  if (m) {
    for (let k = 0; k < Number(m[1]); k++) out.push(null);
    return;
  }
  m = /^(.+?)x(\d+)$/.exec(item);
  if (!m) {
    out.push(atom(item));
    return;
  }
  const head = m[1];
  const times = Number(m[2]);
  // Split `start+step` / `start-step` at the last sign that is neither the leading one nor
  // an exponent's.
  let split = -1;
  for (let k = 1; k < head.length; k++) {
    if ((head[k] === '+' || head[k] === '-') && !/[eE]/.test(head[k - 1])) split = k;
  }
  const start = atom(split < 0 ? head : head.slice(0, split));
  const step = split < 0 ? 0 : atom(head.slice(split));
  for (let k = 0; k <= times; k++) out.push(start + k * step);
}

/**
 * Expands the offsets of a `<series>@st` line: durations (`-30s`, `1ms`, `+1m`, `0`) in the
 * value-sequence notation (`-30s-1mx2` is -30s, -90s, -150s; `_` is no start timestamp).
 */
export function parseOffsetSequence(text: string): (number | null)[] {
  const out: (number | null)[] = [];
  const dur = (s: string): number => scriptDuration(s.startsWith('+') ? s.slice(1) : s);
  for (const item of tokenizeSequence(text)) expandItem(item, dur, out);
  return out;
}

function tokenizeSequence(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i >= text.length) break;
    const st = i;
    if (text.startsWith('{{', i)) {
      // A histogram literal, maybe followed by +{{…}} and xN.
      let depth = 0;
      while (i < text.length) {
        if (text.startsWith('{{', i)) {
          depth++;
          i += 2;
        } else if (text.startsWith('}}', i)) {
          depth--;
          i += 2;
          if (depth === 0 && !/[+-]/.test(text[i] ?? '')) break;
        } else i++;
      }
      while (i < text.length && !/\s/.test(text[i])) i++;
    } else {
      while (i < text.length && !/\s/.test(text[i])) i++;
    }
    out.push(text.slice(st, i));
  }
  return out;
}

function num(s: string): number {
  const v = parseNumber(s);
  if (v === null) throw new ScriptError(`invalid number ${JSON.stringify(s)}`);
  return v;
}

const EVAL_RE = /^eval(?:_(fail|warn|info|ordered))?\s+(instant|range)\s+(.*)$/;

/** Parses a whole script. */
export function parseScript(text: string): Command[] {
  const lines = text.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const cmds: Command[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i];
    if (l === '') {
      i++;
      continue;
    }
    const lineNo = i + 1;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j] !== '') body.push(lines[j++]);
    if (l === 'clear') {
      cmds.push({ kind: 'clear', line: lineNo });
      i++;
      continue;
    }
    const lm = /^(load|load_with_nhcb)\s+(\S+)$/.exec(l);
    if (lm) {
      const cmd: LoadCmd = {
        kind: 'load',
        line: lineNo,
        intervalMs: scriptDuration(lm[2]),
        withNhcb: lm[1] === 'load_with_nhcb',
        series: [],
        histogramNames: [],
      };
      let pendingST: { labels: Labels; st: (number | null)[] } | null = null;
      for (const b of body) {
        const [desc, vals] = splitSeriesLine(b);
        if (desc.endsWith('@st')) {
          const stLabels = parseSeriesDesc(desc.slice(0, -3));
          pendingST = { labels: stLabels, st: parseOffsetSequence(vals) };
          continue;
        }
        const labels = parseSeriesDesc(desc);
        const values = parseSequence(vals);
        let st: (number | null)[] | undefined;
        if (pendingST !== null) {
          if (pendingST.labels.key() !== labels.key()) {
            throw new ScriptError(
              `line ${lineNo}: start timestamps of ${pendingST.labels.toString()} are followed by ${labels.toString()}`,
            );
          }
          st = pendingST.st;
          pendingST = null;
        }
        const name = labels.get(METRIC_NAME);
        if (values.includes('histogram')) cmd.histogramNames.push(name);
        if (cmd.withNhcb) {
          const base = name.replace(/_(bucket|count|sum)$/, '');
          if (base !== name) cmd.histogramNames.push(base);
        }
        cmd.series.push(st ? { labels, values, st } : { labels, values });
      }
      if (pendingST !== null)
        throw new ScriptError(`line ${lineNo}: start timestamps without a series line after them`);
      cmds.push(cmd);
      i = j;
      continue;
    }
    const em = EVAL_RE.exec(l);
    if (em) {
      cmds.push(parseEval(lineNo, l, em, body));
      i = j;
      continue;
    }
    throw new ScriptError(`line ${lineNo}: unknown command ${JSON.stringify(l)}`);
  }
  return cmds;
}

function parseEval(line: number, text: string, em: RegExpExecArray, body: string[]): EvalCmd {
  const mod = em[1];
  let rest = em[3];
  const cmd: EvalCmd = {
    kind: 'eval',
    line,
    text,
    expr: '',
    range: null,
    at: 0,
    fail: mod === 'fail',
    ordered: mod === 'ordered',
    legacyWarn: mod === 'warn',
    legacyInfo: mod === 'info',
    annotations: [],
    noWarn: false,
    noInfo: false,
    expectString: null,
    expectRange: null,
    scalar: null,
    series: [],
    expectsHistogram: false,
  };
  if (em[2] === 'instant') {
    const m = /^at\s+(\S+)\s+(.*)$/.exec(rest);
    if (m) {
      cmd.at = scriptDuration(m[1]);
      rest = m[2];
    }
  } else {
    const m = /^from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.*)$/.exec(rest);
    if (!m) throw new ScriptError(`line ${line}: bad range eval`);
    cmd.range = {
      start: scriptDuration(m[1]),
      end: scriptDuration(m[2]),
      step: scriptDuration(m[3]),
    };
    rest = m[4];
  }
  cmd.expr = rest;
  for (const b of body) {
    if (b.startsWith('expected_fail_message')) {
      cmd.failMsg = b.slice('expected_fail_message'.length).trim();
      continue;
    }
    if (b.startsWith('expected_fail_regexp')) {
      cmd.failRegex = b.slice('expected_fail_regexp'.length).trim();
      continue;
    }
    if (b.startsWith('expect ')) {
      const e = b.slice(7).trim();
      let m: RegExpExecArray | null;
      if ((m = /^fail(?:\s+(msg|regex):\s?(.*))?$/.exec(e))) {
        cmd.fail = true;
        if (m[1] === 'msg') cmd.failMsg = m[2].trim();
        if (m[1] === 'regex') cmd.failRegex = m[2].trim();
      } else if (e === 'ordered') cmd.ordered = true;
      else if (e === 'no_warn') cmd.noWarn = true;
      else if (e === 'no_info') cmd.noInfo = true;
      else if ((m = /^(warn|info)(?:\s+(msg|regex):\s?(.*))?$/.exec(e))) {
        const a: AnnotationExpect = { kind: m[1] as 'warn' | 'info' };
        if (m[2] === 'msg') a.msg = m[3].trim();
        if (m[2] === 'regex') a.regex = m[3].trim();
        cmd.annotations.push(a);
      } else if ((m = /^string\s+(.*)$/.exec(e))) cmd.expectString = unquoteString(m[1].trim());
      else if ((m = /^range vector from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$/.exec(e))) {
        cmd.expectRange = {
          start: scriptDuration(m[1]),
          end: scriptDuration(m[2]),
          step: scriptDuration(m[3]),
        };
      } else throw new ScriptError(`line ${line}: unknown expectation ${JSON.stringify(b)}`);
      continue;
    }
    if (b.includes('{{')) cmd.expectsHistogram = true;
    const sc = parseNumber(b);
    if (sc !== null && cmd.series.length === 0) {
      cmd.scalar = sc;
      continue;
    }
    const [desc, vals] = splitSeriesLine(b);
    cmd.series.push({ labels: parseSeriesDesc(desc), values: parseSequence(vals) });
  }
  return cmd;
}

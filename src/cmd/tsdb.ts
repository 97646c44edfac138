/**
 * `meshmetrics tsdb list|analyze|dump` and `tsdb create-blocks-from openmetrics`: the
 * promtool subcommands of the same names, with the same output, over a data directory.
 * @module
 */

import { readFileSync, statSync } from 'node:fs';
import { ExpositionParser, EntryType } from '../exposition/index.js';
import { formatGoFloat } from '../exposition/format-float.js';
import { ValueType, type Querier } from '../storage/interface.js';
import { Matcher } from '../model/matcher.js';
import { openBlocks, type Block } from '../tsdb/block.js';
import { BlockBuilder, DEFAULT_BLOCK_DURATION_MS } from '../tsdb/block-builder.js';
import { MergeQuerier } from '../storage/merge.js';
import { SeriesChunks } from '../tsdb/index/index-reader.js';
import type { Command } from './main.js';

const DEFAULT_DIR = 'data/';

/** Splits `--name=value` / `--name value` flags from positional arguments. */
function parseArgs(
  args: string[],
  withValue: readonly string[],
  aliases: Record<string, string> = {},
): { flags: Map<string, string>; rest: string[] } {
  const flags = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    if (a in aliases) a = aliases[a];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (withValue.includes(name)) {
        const v = eq < 0 ? args[++i] : a.slice(eq + 1);
        if (v === undefined) throw new UsageError(`flag --${name} needs a value`);
        flags.set(name, v);
      } else if (eq < 0) flags.set(name, 'true');
      else throw new UsageError(`flag --${name} takes no value`);
    } else rest.push(a);
  }
  return { flags, rest };
}

class UsageError extends Error {}

/** Go's `time.Duration.String()` of a span in ms: `2h0m0s`, `10.001s`, `1ms`, `0s`. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let a = Math.abs(ms);
  let s: string;
  if (a < 1000) s = `${a}ms`;
  else {
    const h = Math.floor(a / 3_600_000);
    a -= h * 3_600_000;
    const m = Math.floor(a / 60_000);
    a -= m * 60_000;
    const sec = Math.floor(a / 1000);
    const frac = a - sec * 1000;
    let secs = String(sec);
    if (frac > 0) secs += '.' + String(frac).padStart(3, '0').replace(/0+$/, '');
    s = (h > 0 ? `${h}h${m}m` : m > 0 ? `${m}m` : '') + `${secs}s`;
  }
  return neg ? '-' + s : s;
}

/** Go's `units.Base2Bytes(n).String()`: `799B`, `2KiB362B`, `1MiB`. */
export function formatBase2Bytes(n: number): string {
  const mags = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  if (n === 0) return '0B';
  const parts: string[] = [];
  for (let i = 0; i < mags.length && n > 0; i++) {
    const r = n % 1024;
    if (r !== 0) parts.unshift(`${r}${mags[i]}${i === 0 ? 'B' : 'iB'}`);
    n = Math.floor(n / 1024);
  }
  return parts.join('');
}

/** Go's `time.Unix(ms/1000, 0).UTC().String()`: `2023-11-14 22:13:20 +0000 UTC`. */
function formatGoTime(ms: number): string {
  const d = new Date(Math.trunc(ms / 1000) * 1000);
  const iso = d.toISOString(); // 2023-11-14T22:13:20.000Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/**
 * Lays out rows as Go's tabwriter with minwidth 13 and padding 2 (promtool's table):
 * every cell but the last of a row is padded to its column's width.
 */
export function tabulate(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    for (let i = 0; i < r.length - 1; i++)
      widths[i] = Math.max(widths[i] ?? 0, Math.max(13, r[i].length + 2));
  }
  return rows
    .map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]) : c)).join('') + '\n')
    .join('');
}

function blockRow(b: Block, human: boolean): string[] {
  const m = b.meta;
  const time = (t: number): string => (human ? formatGoTime(t) : String(t));
  const size = b.size();
  return [
    m.ulid,
    time(m.minTime),
    time(m.maxTime),
    formatGoDuration(m.maxTime - m.minTime),
    String(m.stats.numSamples ?? 0),
    String(m.stats.numChunks ?? 0),
    String(m.stats.numSeries ?? 0),
    human ? formatBase2Bytes(size) : String(size),
  ];
}

const LIST_HEADER = [
  'BLOCK ULID',
  'MIN TIME',
  'MAX TIME',
  'DURATION',
  'NUM SAMPLES',
  'NUM CHUNKS',
  'NUM SERIES',
  'SIZE',
];

function withBlocks<T>(dir: string, fn: (blocks: Block[]) => T): T {
  try {
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is not a directory`);
  } catch (err) {
    throw new Error(`opening the db dir: ${(err as Error).message}`, { cause: err });
  }
  const blocks = openBlocks(dir);
  try {
    return fn(blocks);
  } finally {
    for (const b of blocks) b.close();
  }
}

const HELP: Record<string, string> = {
  list: 'usage: meshmetrics tsdb list [-r|--human-readable] [DIR]\n\nList the blocks of a data directory (default data/).\n',
  analyze:
    'usage: meshmetrics tsdb analyze [--limit=20] [DIR] [ULID]\n\nReport label churn and cardinality of a block (default: the last one).\n',
  dump:
    'usage: meshmetrics tsdb dump [--min-time=MS] [--max-time=MS] [--match=SELECTOR] [DIR]\n\n' +
    'Print every sample as `{labels} value timestamp`.\n',
  'create-blocks-from openmetrics':
    'usage: meshmetrics tsdb create-blocks-from openmetrics [-r] [-q] FILE [DIR]\n\n' +
    'Backfill 2h blocks (default DIR data) from an OpenMetrics file whose samples carry timestamps.\n',
};

/** Wraps a command body: --help prints usage; usage errors exit 2, other errors 1, both with a message. */
function command(name: string, body: (args: string[]) => Promise<number> | number): Command {
  return async (args) => {
    if (args.includes('--help') || args.includes('-h')) {
      process.stdout.write(HELP[name]);
      return 0;
    }
    try {
      return await body(args);
    } catch (err) {
      process.stderr.write(`meshmetrics tsdb ${name}: ${(err as Error).message}\n`);
      return err instanceof UsageError ? 2 : 1;
    }
  };
}

/** `tsdb list [-r] [DIR]`. */
export const list: Command = command('list', (args) => {
  const { flags, rest } = parseArgs(args, [], { '-r': '--human-readable' });
  const human = flags.has('human-readable');
  const dir = rest[0] ?? DEFAULT_DIR;
  const rows = withBlocks(dir, (blocks) => blocks.map((b) => blockRow(b, human)));
  process.stdout.write(tabulate([LIST_HEADER, ...rows]));
  return 0;
});

/** `tsdb analyze [--limit=20] [DIR] [ULID]`: promtool's report on one block (the last by default). */
export const analyze: Command = command('analyze', (args) => {
  const { flags, rest } = parseArgs(args, ['limit']);
  const limit = Number(flags.get('limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 0)
    throw new UsageError(`invalid --limit ${flags.get('limit')}`);
  const dir = rest[0] ?? DEFAULT_DIR;
  const out = withBlocks(dir, (blocks) => {
    if (blocks.length === 0) throw new Error(`no blocks found in ${dir}`);
    const b =
      rest[1] === undefined ? blocks[blocks.length - 1] : blocks.find((x) => x.ulid === rest[1]);
    if (b === undefined) throw new Error(`block ${rest[1]} not found in ${dir}`);
    return analyzeBlock(b, limit);
  });
  process.stdout.write(out);
  return 0;
});

/** The text of promtool's `tsdb analyze` for one block. Ties are ordered by name. */
export function analyzeBlock(b: Block, limit: number): string {
  const m = b.meta;
  const ix = b.index;
  const lines: string[] = [];
  lines.push(
    `Block ID: ${m.ulid}`,
    `Duration: ${formatGoDuration(m.maxTime - m.minTime)}`,
    `Series: ${m.stats.numSeries ?? 0}`,
  );
  const names = ix.labelNames();
  lines.push(`Label names: ${names.length}`);
  const span = m.maxTime - m.minTime;
  const labelsUncovered = new Map<string, number>();
  const pairsUncovered = new Map<string, number>();
  const pairsCount = new Map<string, number>();
  let entries = 0;
  const chunks = new SeriesChunks();
  const all = ix.allPostings();
  for (let i = 0; i < all.length; i++) {
    const ls = ix.series(all[i], chunks);
    const uncovered = chunks.n === 0 ? span : span - (chunks.maxt[chunks.n - 1] - chunks.mint[0]);
    ls.forEach((n, v) => {
      const key = `${n}=${v}`;
      labelsUncovered.set(n, (labelsUncovered.get(n) ?? 0) + uncovered);
      pairsUncovered.set(key, (pairsUncovered.get(key) ?? 0) + uncovered);
      pairsCount.set(key, (pairsCount.get(key) ?? 0) + 1);
      entries++;
    });
  }
  lines.push(
    `Postings (unique label pairs): ${pairsUncovered.size}`,
    `Postings entries (total label pairs): ${entries}`,
  );
  const print = (title: string, infos: [string, number][]): void => {
    lines.push('', title);
    infos.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    for (const [k, v] of infos.slice(0, limit)) lines.push(`${v} ${k}`);
  };
  const churn = (mp: Map<string, number>): [string, number][] =>
    [...mp].map(([k, v]) => [k, span > 0 ? Math.trunc(v / span) : 0]);
  print('Label pairs most involved in churning:', churn(pairsUncovered));
  print('Label names most involved in churning:', churn(labelsUncovered));
  print('Most common label pairs:', [...pairsCount]);
  print(
    'Label names with highest cumulative label value length:',
    names.map((n) => [n, ix.labelValues(n).reduce((s, v) => s + Buffer.byteLength(v), 0)]),
  );
  print(
    'Highest cardinality labels:',
    names.map((n) => [n, ix.labelValues(n).length]),
  );
  print(
    'Highest cardinality metric names:',
    ix.labelValues('__name__').map((v) => [v, ix.postings('__name__', v).length]),
  );
  return lines.join('\n') + '\n';
}

/**
 * `tsdb dump [--min-time=T] [--max-time=T] [--match=SELECTOR] [DIR]`: every sample as
 * `{labels} value timestamp`.
 */
export const dump: Command = command('dump', async (args) => {
  const { flags, rest } = parseArgs(args, ['min-time', 'max-time', 'match']);
  const mint = parseTime(flags.get('min-time'), -Number.MAX_SAFE_INTEGER);
  const maxt = parseTime(flags.get('max-time'), Number.MAX_SAFE_INTEGER);
  const match = flags.get('match');
  const matchers = match === undefined ? ALL_SERIES : await selectorMatchers(match);
  const dir = rest[0] ?? DEFAULT_DIR;
  withBlocks(dir, (blocks) => {
    const q: Querier = new MergeQuerier(
      blocks
        .filter((b) => b.minTime <= maxt && b.maxTime > mint)
        .map((b) => b.querierSync(mint, maxt)),
    );
    dumpQuerier(q, (s) => process.stdout.write(s), matchers);
  });
  return 0;
});

const ALL_SERIES = [new Matcher('=~', '__name__', '(?s:.*)')];

/** The matchers of a series selector such as `up{job="a"}`. */
async function selectorMatchers(sel: string): Promise<Matcher[]> {
  const { parseExpr } = await import('../promql/parser/parser.js');
  let e;
  try {
    e = parseExpr(sel);
  } catch (err) {
    throw new UsageError(`invalid --match ${JSON.stringify(sel)}: ${(err as Error).message}`);
  }
  if (e.type !== 'vectorSelector')
    throw new UsageError(`--match ${JSON.stringify(sel)} is not a series selector`);
  return e.matchers;
}

function parseTime(s: string | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isInteger(n))
    throw new UsageError(`invalid time ${JSON.stringify(s)}: want integer milliseconds`);
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
}

/** Writes every sample of `q` (of the series matching `matchers`) as promtool's dump does, in pieces of about 64 KiB. */
export function dumpQuerier(
  q: Querier,
  write: (s: string) => void,
  matchers: readonly Matcher[] = ALL_SERIES,
): void {
  const ss = q.select(true, null, matchers);
  let buf = '';
  while (ss.next()) {
    const s = ss.at();
    const ls = s.labels.toString();
    const it = s.iterator();
    while (it.next() !== ValueType.None) {
      buf += `${ls} ${formatGoFloat(it.atV())} ${it.atT()}\n`;
      if (buf.length > 65536) {
        write(buf);
        buf = '';
      }
    }
    const e = it.err();
    if (e !== null) throw e;
  }
  const e = ss.err();
  if (e !== null) throw e;
  if (buf.length > 0) write(buf);
}

/**
 * `tsdb create-blocks-from openmetrics [-r] [-q] FILE [DIR]`: backfills blocks of 2h
 * (aligned to multiples of 2h) from an OpenMetrics file whose samples all carry
 * timestamps, as promtool does: one pass for the time range, then one pass per block.
 */
export const createBlocksFromOpenMetrics: Command = command(
  'create-blocks-from openmetrics',
  (args) => {
    const { flags, rest } = parseArgs(args, [], { '-r': '--human-readable', '-q': '--quiet' });
    if (rest.length < 1)
      throw new UsageError('usage: meshmetrics tsdb create-blocks-from openmetrics FILE [DIR]');
    const input = readFileSync(rest[0]);
    const dir = rest[1] ?? 'data';
    const human = flags.has('human-readable');
    const quiet = flags.has('quiet');
    const parser = new ExpositionParser(input, { format: 'openmetrics', strict: false });
    let mint = Infinity;
    let maxt = -Infinity;
    for (let e = parser.next(); e !== EntryType.EOF; e = parser.next()) {
      if (e !== EntryType.Series) continue;
      const t = parser.timestamp();
      if (t === null)
        throw new Error(`line ${parser.line()}: expected timestamp for series got none`);
      if (t < mint) mint = t;
      if (t > maxt) maxt = t;
    }
    if (mint === Infinity) return 0;
    const dur = DEFAULT_BLOCK_DURATION_MS;
    let wroteHeader = false;
    for (let t = Math.floor(mint / dur) * dur; t <= maxt; t += dur) {
      const builder = new BlockBuilder(2 * dur);
      parser.reset(input);
      for (let e = parser.next(); e !== EntryType.EOF; e = parser.next()) {
        if (e !== EntryType.Series) continue;
        const ts = parser.timestamp()!;
        if (ts < t || ts >= t + dur) continue;
        builder.add(parser.labels(), ts, parser.value());
      }
      const meta = builder.flush(dir);
      if (meta !== null && !quiet) {
        withBlocks(dir, (blocks) => {
          const b = blocks.find((x) => x.ulid === meta.ulid);
          if (b === undefined) return;
          // One table per block, as promtool flushes its tabwriter after each.
          process.stdout.write(
            tabulate(wroteHeader ? [blockRow(b, human)] : [LIST_HEADER, blockRow(b, human)]),
          );
          wroteHeader = true;
        });
      }
    }
    return 0;
  },
);

/**
 * `meshmetrics check metrics`: lints an exposition read from stdin, with the output and
 * exit codes of `promtool check metrics` (Prometheus 2.42): 0 clean, 1 unparseable,
 * 3 lint problems, each problem on stderr as `<metric> <problem>`.
 * @module
 */

import { parseArgs } from 'node:util';
import { ParseError } from '../model/errors.js';
import {
  cardinalityStats,
  collectFamilies,
  lintFamilies,
  type CardinalityStat,
} from '../exposition/lint.js';

const USAGE = `usage: meshmetrics check metrics [--extended] [--openmetrics]

Pass Prometheus metrics over stdin to lint them for consistency and correctness,
as promtool check metrics does.

examples:

$ cat metrics.prom | meshmetrics check metrics

$ curl -s http://localhost:4191/metrics | meshmetrics check metrics

Flags:
  -h, --help         Show this help.
      --extended     Print the cardinality of each metric family when the input is clean.
      --openmetrics  Parse the input as strict OpenMetrics 1.0 instead of text 0.0.4.

Exit codes: 0 no problems, 1 the input does not parse, 3 lint problems found.
`;

/** Exit codes, as promtool's. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_LINT = 3;

/** Where the command reads and writes; the process's own streams by default. */
export interface CheckMetricsIO {
  stdin: AsyncIterable<Buffer | string>;
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/**
 * Lints `input` and returns the exit code and what to print: problems on stderr, or the
 * parse error as promtool words it (`error while linting: text format parsing error in line
 * N: …`), with the column added when known; with `extended`, a clean input gets promtool's
 * cardinality table on stdout.
 */
export function checkMetrics(
  input: Buffer,
  openMetrics: boolean,
  extended = false,
): { code: number; stdout: string; stderr: string } {
  try {
    const families = collectFamilies(input, openMetrics ? 'openmetrics' : 'text');
    const problems = lintFamilies(families);
    if (problems.length > 0) {
      return {
        code: EXIT_LINT,
        stdout: '',
        stderr: problems.map((p) => `${p.metric} ${p.text}\n`).join(''),
      };
    }
    return {
      code: EXIT_OK,
      stdout: extended ? cardinalityTable(cardinalityStats(families)) : '',
      stderr: '',
    };
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const what = err.message.replace(/ \(line \d+, column \d+\)$/, '');
    const where =
      err.line > 0 ? `line ${err.line}${err.column > 0 ? `, column ${err.column}` : ''}` : 'input';
    const kind = openMetrics ? 'OpenMetrics' : 'text format';
    return {
      code: EXIT_FAILURE,
      stdout: '',
      stderr: `error while linting: ${kind} parsing error in ${where}: ${what}\n`,
    };
  }
}

/**
 * promtool's `--extended` table, laid out as Go's tabwriter (min width 4, padding 4) lays
 * out tab-terminated cells: each column as wide as its widest cell plus 4 spaces.
 */
export function cardinalityTable({
  stats,
  total,
}: {
  stats: CardinalityStat[];
  total: number;
}): string {
  const rows: string[][] = [['Metric', 'Cardinality', 'Percentage']];
  for (const s of stats)
    rows.push([s.name, String(s.cardinality), `${(s.share * 100).toFixed(2)}%`]);
  rows.push(['Total', String(total), '100%']);
  const widths = [0, 1, 2].map((c) => Math.max(4, ...rows.map((r) => r[c].length + 4)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('') + '\n').join('');
}

/** Runs the command with `args` (after `check metrics`); returns the exit code. */
export async function run(args: string[], io: CheckMetricsIO = process): Promise<number> {
  let values: { help?: boolean; openmetrics?: boolean; extended?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        help: { type: 'boolean', short: 'h' },
        openmetrics: { type: 'boolean' },
        extended: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr.write(`meshmetrics check metrics: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  const { code, stdout, stderr } = checkMetrics(
    Buffer.concat(chunks),
    values.openmetrics === true,
    values.extended === true,
  );
  if (stdout) io.stdout.write(stdout);
  if (stderr) io.stderr.write(stderr);
  return code;
}

export default run;

/**
 * `meshmetrics check metrics`: lints an exposition read from stdin, with the output and
 * exit codes of `promtool check metrics` (Prometheus 2.42): 0 clean, 1 unparseable,
 * 3 lint problems, each problem on stderr as `<metric> <problem>`.
 * @module
 */

import { parseArgs } from 'node:util';
import { ParseError } from '../model/errors.js';
import { lintExposition } from '../exposition/lint.js';

const USAGE = `usage: meshmetrics check metrics [--openmetrics]

Pass Prometheus metrics over stdin to lint them for consistency and correctness,
as promtool check metrics does.

examples:

$ cat metrics.prom | meshmetrics check metrics

$ curl -s http://localhost:4191/metrics | meshmetrics check metrics

Flags:
  -h, --help         Show this help.
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
 * Lints `input` and returns the exit code and what to print on stderr: problems, or the
 * parse error as promtool words it (`error while linting: text format parsing error in line
 * N: …`), with the column added when known.
 */
export function checkMetrics(input: Buffer, openMetrics: boolean): { code: number; stderr: string } {
  try {
    const problems = lintExposition(input, openMetrics ? 'openmetrics' : 'text');
    if (problems.length === 0) return { code: EXIT_OK, stderr: '' };
    return { code: EXIT_LINT, stderr: problems.map((p) => `${p.metric} ${p.text}\n`).join('') };
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    const what = err.message.replace(/ \(line \d+, column \d+\)$/, '');
    const where = err.line > 0 ? `line ${err.line}${err.column > 0 ? `, column ${err.column}` : ''}` : 'input';
    const kind = openMetrics ? 'OpenMetrics' : 'text format';
    return { code: EXIT_FAILURE, stderr: `error while linting: ${kind} parsing error in ${where}: ${what}\n` };
  }
}

/** Runs the command with `args` (after `check metrics`); returns the exit code. */
export async function run(args: string[], io: CheckMetricsIO = process): Promise<number> {
  let values: { help?: boolean; openmetrics?: boolean };
  try {
    ({ values } = parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h' }, openmetrics: { type: 'boolean' } },
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
  const { code, stderr } = checkMetrics(Buffer.concat(chunks), values.openmetrics === true);
  if (stderr) io.stderr.write(stderr);
  return code;
}

export default run;

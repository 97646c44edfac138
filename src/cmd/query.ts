/**
 * `meshmetrics query EXPR`: an instant query (`--time`), or a range query (`--start`,
 * `--end`, `--step`), against any Prometheus-compatible API.
 * @module
 */
import {
  flagsHelp,
  parseFlags,
  prometheusUrl,
  prometheusUrlFlag,
  PromApiClient,
  runCommand,
  UsageError,
  type FlagSpec,
} from '../cli/index.js';
import { formatQueryTable } from '../cli/format-query.js';

const FLAGS: FlagSpec[] = [
  {
    name: 'time',
    kind: 'string',
    help: 'evaluation time of an instant query (unix seconds or RFC 3339; default now)',
  },
  { name: 'start', kind: 'string', help: 'start of a range query (unix seconds or RFC 3339)' },
  { name: 'end', kind: 'string', help: 'end of a range query (default now)' },
  {
    name: 'step',
    kind: 'string',
    help: 'resolution of a range query, e.g. 15s (default: (end-start)/250, at least 1s)',
  },
  {
    name: 'output',
    short: 'o',
    kind: 'string',
    default: 'table',
    help: 'output format: table or json',
  },
  prometheusUrlFlag(),
];

const USAGE = `Run a PromQL query.

usage: meshmetrics query [flags] EXPR

Examples:
  meshmetrics query 'sum(rate(request_total[1m])) by (deployment)'
  meshmetrics query --start 2026-11-27T13:00:00Z --end 2026-11-27T14:00:00Z --step 1m 'up' -o json

Flags:
${flagsHelp(FLAGS)}

API errors are printed with their errorType and message, and the exit code is 1.
`;

/** Seconds since the epoch of a time flag (unix seconds or RFC 3339). */
function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (v !== '' && Number.isFinite(n)) return n;
  const ms = Date.parse(v);
  if (Number.isNaN(ms))
    throw new UsageError(`--${flag}: cannot parse "${v}" as unix seconds or RFC 3339`);
  return ms / 1000;
}

/** Runs `meshmetrics query`. */
export async function run(args: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const f = parseFlags(args, FLAGS);
    if (f.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    if (f.positionals.length !== 1) throw new UsageError('expected exactly one query expression');
    const output = f.strings.get('output')!;
    if (output !== 'table' && output !== 'json')
      throw new UsageError(`--output must be table or json, got "${output}"`);
    const expr = f.positionals[0];
    const client = new PromApiClient(prometheusUrl(f.strings.get('prometheus-url')));
    const start = f.strings.get('start');
    let answer;
    if (start !== undefined) {
      if (f.strings.has('time'))
        throw new UsageError('--time is for instant queries; use --start/--end/--step for a range');
      const s = seconds('start', start);
      const end = f.strings.get('end');
      const e = end === undefined ? Date.now() / 1000 : seconds('end', end);
      if (e < s) throw new UsageError('--end must not be before --start');
      const step = f.strings.get('step') ?? String(Math.max(1, Math.round((e - s) / 250)));
      answer = await client.queryRange(expr, String(s), String(e), step);
    } else {
      if (f.strings.has('end') || f.strings.has('step'))
        throw new UsageError('--end and --step need --start');
      const time = f.strings.get('time');
      answer = await client.query(
        expr,
        time === undefined ? undefined : String(seconds('time', time)),
      );
    }
    for (const w of answer.warnings) process.stderr.write(`Warning: ${w}\n`);
    process.stdout.write(
      output === 'json'
        ? JSON.stringify(answer.data, null, 2) + '\n'
        : formatQueryTable(answer.data),
    );
    return 0;
  });
}

/**
 * `meshmetrics federate --match SELECTOR...`: prints the `/federate` exposition of the
 * series matching any of the selectors, as another Prometheus would scrape it.
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

const FLAGS: FlagSpec[] = [
  {
    name: 'match',
    kind: 'list',
    help: 'series selector, e.g. {job="linkerd-proxy"} (repeatable; at least one)',
  },
  prometheusUrlFlag(),
];

const USAGE = `Print the federation exposition of the matching series.

usage: meshmetrics federate --match SELECTOR [--match SELECTOR]...

Example:
  meshmetrics federate --match '{job="linkerd-proxy"}' --match '{job="linkerd-controller"}'

Flags:
${flagsHelp(FLAGS)}
`;

/** Runs `meshmetrics federate`. */
export async function run(args: string[]): Promise<number> {
  return runCommand(USAGE, async () => {
    const f = parseFlags(args, FLAGS);
    if (f.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    // Bare selectors are accepted too, as `federate '{job="x"}'`.
    const matchers = [...(f.lists.get('match') ?? []), ...f.positionals];
    if (matchers.length === 0) throw new UsageError('at least one --match selector is required');
    const client = new PromApiClient(prometheusUrl(f.strings.get('prometheus-url')));
    process.stdout.write(await client.federate(matchers));
    return 0;
  });
}

/**
 * The `meshmetrics` executable: finds the subcommand and hands it the rest of the
 * arguments. Each subcommand lives in its own file and is loaded only when used.
 * @module
 */

/** A subcommand: takes its arguments, returns the process exit code. */
export type Command = (args: string[]) => Promise<number>;

interface CommandEntry {
  /** Words that select the command, e.g. ['check', 'metrics']. */
  words: string[];
  summary: string;
  load: () => Promise<Command>;
}

const COMMANDS: CommandEntry[] = [
  {
    words: ['stat'],
    summary: 'success rate, RPS, latency and TCP figures per workload, as linkerd viz stat',
    load: async () => (await import('./stat.js')).run,
  },
  {
    words: ['diagnostics', 'proxy-metrics'],
    summary: 'print the raw /metrics of the proxies of a workload',
    load: async () => (await import('./diagnostics.js')).proxyMetrics,
  },
  {
    words: ['query'],
    summary: 'run an instant or range PromQL query against the API',
    load: async () => (await import('./query.js')).run,
  },
  {
    words: ['federate'],
    summary: 'print the /federate exposition of the series matching selectors',
    load: async () => (await import('./federate.js')).run,
  },
  {
    words: ['demo'],
    summary: 'start a local demo mesh: services, proxies, traffic and a collector',
    load: async () => (await import('./demo.js')).run,
  },
  {
    words: ['collector'],
    summary: 'discover, scrape and store metrics, as prometheus',
    load: async () => (await import('./collector.js')).run,
  },
  {
    words: ['proxy'],
    summary: 'a sidecar proxy that forwards traffic and publishes Linkerd-style metrics',
    load: async () => (await import('./proxy.js')).run,
  },
  {
    words: ['check', 'metrics'],
    summary: 'lint an exposition read from stdin, as promtool check metrics',
    load: async () => (await import('./check-metrics.js')).run,
  },
  {
    words: ['check', 'config'],
    summary: 'validate configuration files, as promtool check config',
    load: async () => (await import('./check-config.js')).run,
  },
  {
    words: ['tsdb', 'list'],
    summary: 'list the blocks of a data directory, as promtool tsdb list',
    load: async () => (await import('./tsdb.js')).list,
  },
  {
    words: ['tsdb', 'analyze'],
    summary: 'report label churn and cardinality of a block, as promtool tsdb analyze',
    load: async () => (await import('./tsdb.js')).analyze,
  },
  {
    words: ['tsdb', 'dump'],
    summary: 'print every sample of a data directory, as promtool tsdb dump',
    load: async () => (await import('./tsdb.js')).dump,
  },
  {
    words: ['tsdb', 'create-blocks-from', 'openmetrics'],
    summary: 'backfill 2h blocks from an OpenMetrics file, as promtool',
    load: async () => (await import('./tsdb.js')).createBlocksFromOpenMetrics,
  },
];

/** Text of `meshmetrics help`. */
export function usage(): string {
  const lines = ['usage: meshmetrics <command> [flags]', '', 'commands:'];
  const width = Math.max(...COMMANDS.map((c) => c.words.join(' ').length));
  for (const c of COMMANDS) lines.push(`  ${c.words.join(' ').padEnd(width)}  ${c.summary}`);
  lines.push('', "Run 'meshmetrics <command> --help' for a command's flags.");
  return lines.join('\n') + '\n';
}

/** Runs the command line `argv` (without the node and script paths); returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(usage());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    const { VERSION } = await import('./version.js');
    process.stdout.write(`meshmetrics ${VERSION}\n`);
    return 0;
  }
  // Longest match first, so 'tsdb create-blocks-from' wins over a shorter prefix.
  const sorted = [...COMMANDS].sort((a, b) => b.words.length - a.words.length);
  for (const c of sorted) {
    if (c.words.every((w, i) => argv[i] === w)) {
      const run = await c.load();
      return run(argv.slice(c.words.length));
    }
  }
  process.stderr.write(`meshmetrics: unknown command "${argv.join(' ')}"\n\n${usage()}`);
  return 2;
}

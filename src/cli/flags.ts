/**
 * A small flag parser for the commands, with the conventions of the Go CLIs we follow
 * (cobra/pflag): `--name value`, `--name=value`, `-n value`, boolean `-A`, repeatable
 * flags, and `--` ending the flags. Unknown flags are errors, never ignored.
 * @module
 */
import { PromError } from '../model/errors.js';

/** A command line the user got wrong; the command prints it with its usage and exits 2. */
export class UsageError extends PromError {
  constructor(message: string) {
    super('ERR_USAGE', message);
    this.name = 'UsageError';
  }
}

/** One flag a command accepts. */
export interface FlagSpec {
  /** Long name without dashes, e.g. `time-window`. */
  name: string;
  /** One-letter alias without the dash, e.g. `t`. */
  short?: string;
  /** `bool` takes no value; `list` may repeat and collects every value. */
  kind: 'string' | 'bool' | 'list';
  /** Default for `string` flags. */
  default?: string;
  /** One line of help. */
  help: string;
}

/** What {@link parseFlags} found. */
export interface ParsedFlags {
  /** String flags by long name (the default when absent and one was given). */
  strings: Map<string, string>;
  /** Boolean flags that were set. */
  bools: Set<string>;
  /** Repeatable flags by long name, in the order given. */
  lists: Map<string, string[]>;
  /** Arguments that are not flags. */
  positionals: string[];
  /** True when `-h` or `--help` was given. */
  help: boolean;
}

/** Parses `args` against `specs`; throws {@link UsageError} for an unknown or incomplete flag. */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byLong = new Map<string, FlagSpec>();
  const byShort = new Map<string, FlagSpec>();
  for (const s of specs) {
    byLong.set(s.name, s);
    if (s.short) byShort.set(s.short, s);
  }
  const out: ParsedFlags = {
    strings: new Map(),
    bools: new Set(),
    lists: new Map(),
    positionals: [],
    help: false,
  };
  for (const s of specs)
    if (s.kind === 'string' && s.default !== undefined) out.strings.set(s.name, s.default);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.positionals.push(...args.slice(i + 1));
      break;
    }
    if (a === '-h' || a === '--help') {
      out.help = true;
      continue;
    }
    if (!a.startsWith('-') || a === '-') {
      out.positionals.push(a);
      continue;
    }
    const long = a.startsWith('--');
    const body = a.slice(long ? 2 : 1);
    const eq = body.indexOf('=');
    const key = eq < 0 ? body : body.slice(0, eq);
    const spec = long ? byLong.get(key) : byShort.get(key);
    if (!spec) throw new UsageError(`unknown flag: ${long ? '--' : '-'}${key}`);
    if (spec.kind === 'bool') {
      if (eq >= 0) {
        const v = body.slice(eq + 1);
        if (v !== 'true' && v !== 'false')
          throw new UsageError(`flag --${spec.name} takes true or false, got "${v}"`);
        if (v === 'true') out.bools.add(spec.name);
        else out.bools.delete(spec.name);
      } else out.bools.add(spec.name);
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else {
      if (i + 1 >= args.length) throw new UsageError(`flag needs an argument: ${a}`);
      value = args[++i];
    }
    if (spec.kind === 'list') {
      const l = out.lists.get(spec.name) ?? [];
      l.push(value);
      out.lists.set(spec.name, l);
    } else out.strings.set(spec.name, value);
  }
  return out;
}

/** The flags part of a command's help text, one aligned line per flag. */
export function flagsHelp(specs: readonly FlagSpec[]): string {
  const left = specs.map((s) => {
    const names = (s.short ? `-${s.short}, ` : '    ') + `--${s.name}`;
    return s.kind === 'bool' ? names : `${names} ${s.kind === 'list' ? 'VALUE' : 'string'}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  return specs
    .map((s, i) => {
      const def = s.default !== undefined && s.default !== '' ? ` (default "${s.default}")` : '';
      return `  ${left[i].padEnd(width)}   ${s.help}${def}`;
    })
    .join('\n');
}

/**
 * Runs a command body, turning a {@link UsageError} into its message plus the usage on
 * stderr with exit code 2, and any other PromError into `meshmetrics: <message>` and exit 1.
 */
export async function runCommand(usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`Error: ${err.message}\n\n${usage}`);
      return 2;
    }
    if (err instanceof PromError) {
      process.stderr.write(`Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

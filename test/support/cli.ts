/**
 * Runs the `meshmetrics` command line in-process and captures what it writes, for tests of
 * the user commands.
 * @module
 */

import { main } from '../../src/cmd/main.js';

/** What one command line printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `meshmetrics <args>` in this process, capturing stdout and stderr. */
export async function runCli(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const ow = process.stdout.write.bind(process.stdout);
  const ew = process.stderr.write.bind(process.stderr);
  // The commands write strings; the test runner's own protocol (Buffers) passes through.
  const capture = (into: string[], orig: typeof ow) =>
    ((c: string | Uint8Array, ...rest: unknown[]) => {
      if (typeof c === 'string') return (into.push(c), true);
      return (orig as (...a: unknown[]) => boolean)(c, ...rest);
    }) as typeof process.stdout.write;
  process.stdout.write = capture(out, ow);
  process.stderr.write = capture(err, ew);
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
}

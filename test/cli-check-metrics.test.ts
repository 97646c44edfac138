// `meshmetrics check metrics` as a user runs it: the main entry in a child process, the
// exposition on stdin, promtool's exit codes (0 clean, 1 unparseable, 3 lint problems) and
// messages on stderr.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const MAIN = pathToFileURL(resolve('src/cmd/main.ts')).href;
// Runs main() the way bin/meshmetrics.js does, but on the TypeScript sources.
const ENTRY = `import { main } from ${JSON.stringify(MAIN)}; process.exitCode = await main(process.argv.slice(1));`;

function run(
  args: string[],
  stdin: string | Buffer,
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', ENTRY, ...args],
    {
      input: stdin,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  assert.equal(r.error, undefined);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('check metrics exit codes and messages', async (t) => {
  const cases: {
    name: string;
    args?: string[];
    stdin: string;
    code: number;
    stderr: string | RegExp;
    stdout?: string | RegExp;
  }[] = [
    {
      name: 'clean input exits 0 silently',
      stdin:
        '# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 7\n',
      code: 0,
      stderr: '',
    },
    { name: 'empty input is clean', stdin: '', code: 0, stderr: '' },
    {
      name: 'lint problems exit 3, one sorted line each',
      stdin: '# TYPE requests counter\nrequests 1\nlatency_milliseconds 2\n',
      code: 3,
      stderr:
        'latency_milliseconds no help text\n' +
        'latency_milliseconds use base unit "seconds" instead of "milliseconds"\n' +
        'requests counter metrics should have "_total" suffix\n' +
        'requests no help text\n',
    },
    {
      name: 'unparseable input exits 1 with line and column',
      stdin: '# HELP a x\na{b="c} 1\n',
      code: 1,
      stderr: /^error while linting: text format parsing error in line 2, column \d+: .+\n$/,
    },
    {
      name: 'expfmt strictness: second HELP',
      stdin: '# HELP a x\n# HELP a y\na 1\n',
      code: 1,
      stderr:
        'error while linting: text format parsing error in line 2: second HELP line for metric name "a"\n',
    },
    {
      name: '--openmetrics parses strictly: # EOF required',
      args: ['--openmetrics'],
      stdin: '# HELP a x\n# TYPE a counter\na_total 1\n',
      code: 1,
      stderr: /^error while linting: OpenMetrics parsing error in line \d+, column \d+: .*EOF.*\n$/,
    },
    {
      name: '--openmetrics accepts a clean OpenMetrics body',
      args: ['--openmetrics'],
      stdin: '# HELP a A.\n# TYPE a counter\na_total 1.0 # {trace_id="x"} 1.0\n# EOF\n',
      code: 0,
      stderr: '',
    },
    {
      name: '--help prints usage on stdout',
      args: ['--help'],
      stdin: '',
      code: 0,
      stderr: '',
      stdout: /^usage: meshmetrics check metrics \[--extended\] \[--openmetrics\]/,
    },
    {
      name: '--extended prints the cardinality table of a clean input',
      args: ['--extended'],
      stdin:
        '# HELP a_total x\n# TYPE a_total counter\na_total{x="1"} 1\na_total{x="2"} 1\n# HELP b x\n# TYPE b histogram\nb_bucket{le="1"} 1\nb_bucket{le="+Inf"} 1\nb_sum 1\nb_count 1\n',
      code: 0,
      stderr: '',
      // Byte for byte what promtool 2.42 prints for this input.
      stdout:
        'Metric     Cardinality    Percentage    \n' +
        'b          4              66.67%        \n' +
        'a_total    2              33.33%        \n' +
        'Total      6              100%          \n',
    },
    {
      name: 'unknown flag is a usage error',
      args: ['--bogus'],
      stdin: '',
      code: 2,
      stderr: /Unknown option '--bogus'/,
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      const r = run(['check', 'metrics', ...(tc.args ?? [])], tc.stdin);
      assert.equal(r.code, tc.code, `exit code; stderr: ${r.stderr}`);
      if (typeof tc.stderr === 'string') assert.equal(r.stderr, tc.stderr);
      else assert.match(r.stderr, tc.stderr);
      if (tc.stdout !== undefined) {
        if (typeof tc.stdout === 'string') assert.equal(r.stdout, tc.stdout);
        else assert.match(r.stdout, tc.stdout);
      }
    });
  }
});

test('check metrics is listed in the command table', () => {
  const r = run(['help'], '');
  assert.equal(r.code, 0);
  assert.match(r.stdout, /check metrics\s+lint an exposition read from stdin/);
});

// `meshmetrics check config`: output and exit codes, and verdicts compared with the real
// `promtool check config` (Prometheus 2.42) on the same files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { run as checkConfig } from '../src/cmd/check-config.js';
import { requirePeer } from './support/peers.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src/cmd/main.ts');
const VIZ = join(ROOT, 'src/config/testdata/linkerd-viz.yml');
const TSX = import.meta.resolve('tsx');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(cmd: string, args: string[], cwd: string): Promise<Result> {
  try {
    const { stdout, stderr } = await run(cmd, args, { cwd, encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Runs the command in this process (fast); paths are used as given. */
async function checkInProcess(args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await checkConfig(args, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr };
}

/** Runs `meshmetrics check config ...args` from `cwd` in a child process. */
function meshmetrics(args: string[], cwd: string): Promise<Result> {
  const script = `import(${JSON.stringify(MAIN)}).then(async (m) => { process.exitCode = await m.main(['check', 'config', ...process.argv.slice(1)]); })`;
  // The loader is named by URL: `cwd` is a scratch directory with no node_modules.
  return exec(process.execPath, ['--import', TSX, '-e', script, ...args], cwd);
}

async function scratch(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mm-check-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('prints promtool-style verdicts and exits 1 when any file fails', async (t) => {
  const dir = await scratch(t);
  await mkdir(join(dir, 'rules'));
  await writeFile(join(dir, 'rules', 'a_rules.yml'), 'groups: []\n');
  await writeFile(
    join(dir, 'good.yml'),
    'rule_files: [rules/*_rules.yml]\nscrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: [sd/*.json]\n',
  );
  await writeFile(join(dir, 'bad.yml'), 'global:\n  scrape_interval: 10x\n');

  const ok = await meshmetrics(['good.yml'], dir);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(
    ok.stdout,
    'Checking good.yml\n' +
      '  WARNING: good.yml:1:13: rule_files: rule files are accepted but not evaluated by the collector\n' +
      '  WARNING: file "sd/*.json" for file_sd in scrape job "a" does not exist\n' +
      '  SUCCESS: 1 rule files found\n' +
      ' SUCCESS: good.yml is valid prometheus config file syntax\n\n',
  );

  const both = await meshmetrics(['good.yml', 'bad.yml'], dir);
  assert.equal(both.code, 1);
  assert.match(
    both.stdout,
    /^Checking good\.yml\n[\s\S]* SUCCESS: good\.yml is valid prometheus config file syntax\n\nChecking bad\.yml\n\n$/,
  );
  assert.equal(
    both.stderr,
    '  FAILED: bad.yml:2:20: global.scrape_interval: not a valid duration string: "10x"\n',
  );

  const missing = await meshmetrics(['nope.yml'], dir);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, "meshmetrics: error: path 'nope.yml' does not exist, try --help\n");

  const usage = await meshmetrics([], dir);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: meshmetrics check config \[--syntax-only\] FILE/);
});

test('the linkerd-viz Prometheus configuration passes', async () => {
  // --syntax-only: the service-account token it names exists only inside a cluster.
  const r = await checkInProcess(['--syntax-only', VIZ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, / SUCCESS: .*linkerd-viz\.yml is valid prometheus config file syntax\n/);
});

interface VerdictCase {
  name: string;
  yaml: string;
  /** promtool's reason (after "parsing YAML file X: "), when our message ends with the same words. */
  reason?: string;
  /** A check of referenced files, after parsing: the whole FAILED line is promtool's. */
  fileCheck?: boolean;
}

// No kubernetes_sd_configs here: Debian's promtool is built without Kubernetes discovery.
const verdicts: VerdictCase[] = [
  { name: 'empty', yaml: '' },
  {
    name: 'static job',
    yaml: 'global:\n  scrape_interval: 10s\nscrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [localhost:9090]\n',
  },
  {
    name: 'everything a collector uses',
    yaml:
      'global:\n  scrape_interval: 15s\n  external_labels: {cluster: c1}\nscrape_configs:\n  - job_name: fed\n    honor_labels: true\n' +
      "    metrics_path: /federate\n    params: {'match[]': ['{job=\"linkerd-proxy\"}']}\n    scheme: https\n" +
      '    basic_auth: {username: u, password: p}\n    tls_config: {insecure_skip_verify: true, min_version: TLS12}\n' +
      '    body_size_limit: 10MB\n    sample_limit: 1000\n    label_limit: 30\n    relabel_configs:\n      - {action: hashmod, source_labels: [__address__], modulus: 4, target_label: __tmp_hash}\n' +
      '      - {action: keep, source_labels: [__tmp_hash], regex: "0"}\n    metric_relabel_configs:\n      - {action: labeldrop, regex: pod_template_hash}\n' +
      'remote_write:\n  - url: http://127.0.0.1:8428/api/v1/write\n    queue_config: {max_shards: 4}\n    write_relabel_configs:\n      - {action: drop, source_labels: [__name__], regex: "go_.*"}\n',
  },
  {
    name: 'bad duration',
    yaml: 'global:\n  scrape_interval: 10x\n',
    reason: 'not a valid duration string: "10x"',
  },
  {
    name: 'fractional duration',
    yaml: 'scrape_configs:\n  - job_name: a\n    scrape_interval: 1.5s\n',
    reason: 'not a valid duration string: "1.5s"',
  },
  {
    name: 'timeout above interval',
    yaml: 'scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n',
    reason: 'scrape timeout greater than scrape interval for scrape config with job name "a"',
  },
  {
    name: 'duplicate job',
    yaml: 'scrape_configs:\n  - job_name: a\n  - job_name: a\n',
    reason: 'found multiple scrape configs with job name "a"',
  },
  {
    name: 'missing job name',
    yaml: 'scrape_configs:\n  - scrape_interval: 5s\n',
    reason: 'job_name is empty',
  },
  { name: 'unknown key', yaml: 'scrape_configs:\n  - job_name: a\n    foo: 1\n' },
  { name: 'wrong type', yaml: 'scrape_configs:\n  - job_name: a\n    honor_labels: maybe\n' },
  {
    name: 'bad body size unit',
    yaml: 'scrape_configs:\n  - job_name: a\n    body_size_limit: 10XB\n',
    reason: 'units: unknown unit XB in 10XB',
  },
  {
    name: 'bearer token with authorization',
    yaml: 'scrape_configs:\n  - job_name: a\n    bearer_token: x\n    authorization: {credentials: y}\n',
    reason: 'authorization is not compatible with bearer_token & bearer_token_file',
  },
  {
    name: 'file_sd extension',
    yaml: 'scrape_configs:\n  - job_name: a\n    file_sd_configs:\n      - files: [sd/*.txt]\n',
    reason: 'path name "sd/*.txt" is not valid for file discovery',
  },
  {
    name: 'remote_write without url',
    yaml: 'remote_write:\n  - name: x\n',
    reason: 'url for remote_write is empty',
  },
  {
    name: 'unknown relabel action',
    yaml: 'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - action: foo\n',
    reason: 'unknown relabel action "foo"',
  },
  {
    name: 'hashmod without modulus',
    yaml: 'scrape_configs:\n  - job_name: a\n    relabel_configs:\n      - {action: hashmod, target_label: x}\n',
    reason: 'relabel configuration for hashmod requires non-zero modulus',
  },
  {
    name: 'global timeout above interval',
    yaml: 'global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n',
    reason: 'global scrape timeout greater than scrape interval',
  },
  { name: 'duplicate map key', yaml: 'global: {}\nglobal: {}\n' },
  {
    name: 'bad TLS version',
    yaml: 'scrape_configs:\n  - job_name: a\n    tls_config: {min_version: TLS9}\n',
  },
  {
    name: 'missing client certificate file',
    yaml: 'scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: /nonexistent/c.pem, key_file: /nonexistent/k.pem}\n',
    fileCheck: true,
  },
  {
    name: 'float limit is truncated',
    yaml: 'scrape_configs:\n  - job_name: a\n    sample_limit: 1.5\n',
  },
  {
    name: 'numbers as strings',
    yaml: 'scrape_configs:\n  - job_name: 5\n    static_configs: [{targets: [1], labels: {a: 1}}]\n',
  },
  { name: 'lenient remote_write URL', yaml: 'remote_write:\n  - url: not a url\n' },
  {
    name: 'null static config',
    yaml: "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['a:1']}, null]\n",
    reason: 'empty or null section in static_configs',
  },
  {
    name: 'source_labels not a list',
    yaml: 'scrape_configs:\n  - job_name: a\n    relabel_configs: [{source_labels: a, target_label: x}]\n',
  },
  { name: 'any scheme', yaml: 'scrape_configs:\n  - job_name: a\n    scheme: ftp\n' },
  {
    name: 'duplicate remote_write name',
    yaml: 'remote_write:\n  - {url: http://a/, name: x}\n  - {url: http://b/, name: x}\n',
    reason: 'found multiple remote write configs with job name "x"',
  },
  {
    name: 'remote_write authorization header',
    yaml: 'remote_write:\n  - url: http://a/\n    headers: {Authorization: x}\n',
    reason:
      'authorization header must be changed via the basic_auth, authorization, oauth2, or sigv4 parameter',
  },
  {
    name: 'basic auth with bearer token',
    yaml: 'scrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n    bearer_token: t\n',
    reason:
      'at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured',
  },
  {
    name: 'authorization type basic',
    yaml: 'scrape_configs:\n  - job_name: a\n    authorization: {type: basic}\n',
    reason: 'authorization type cannot be set to "basic", use "basic_auth" instead',
  },
  {
    name: 'client certificate without key',
    yaml: 'scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: /c.pem}\n',
    fileCheck: true,
  },
  {
    name: 'missing bearer token file',
    yaml: 'scrape_configs:\n  - job_name: a\n    bearer_token_file: /nonexistent/token\n',
    fileCheck: true,
  },
];

test('verdicts agree with promtool check config', async (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (!promtool) return;
  const dir = await scratch(t);
  const files = await Promise.all(
    verdicts.map(async (tc, i) => {
      const f = `case${i}.yml`;
      await writeFile(join(dir, f), tc.yaml);
      return f;
    }),
  );
  const results: Array<[Result, Result]> = [];
  for (const f of files)
    results.push([
      await checkInProcess([join(dir, f)]),
      await exec(promtool, ['check', 'config', f], dir),
    ]);
  verdicts.forEach((tc, i) => {
    const [ours, theirs] = results[i];
    assert.equal(
      ours.code,
      theirs.code,
      `${tc.name}: exit code (promtool said ${theirs.stderr.trim() || 'SUCCESS'}; we said ${ours.stderr.trim() || 'SUCCESS'})`,
    );
    if (theirs.code === 0) {
      assert.ok(
        ours.stdout.includes(
          ` SUCCESS: ${join(dir, files[i])} is valid prometheus config file syntax`,
        ),
        tc.name,
      );
    } else if (tc.fileCheck) {
      assert.equal(ours.stderr, theirs.stderr, tc.name);
    } else {
      assert.ok(
        theirs.stderr.includes(`  FAILED: parsing YAML file ${files[i]}: `),
        `${tc.name}: promtool wording changed: ${theirs.stderr}`,
      );
      // Ours names the file, line, column and key where promtool names only the file.
      assert.ok(ours.stderr.startsWith(`  FAILED: ${join(dir, files[i])}:`), tc.name);
      assert.match(ours.stderr, /^ {2}FAILED: [^:]+:\d+:\d+: /, tc.name);
      if (tc.reason) {
        assert.ok(theirs.stderr.includes(tc.reason), `${tc.name}: promtool: ${theirs.stderr}`);
        assert.ok(ours.stderr.trimEnd().endsWith(tc.reason), `${tc.name}: ours: ${ours.stderr}`);
      }
    }
  });
  t.diagnostic(`${verdicts.length} configurations, same verdict as promtool 2.42`);
});

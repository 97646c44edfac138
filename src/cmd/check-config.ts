/**
 * `meshmetrics check config FILE...`: validates configuration files and prints the
 * verdicts the way `promtool check config` does (exit 0 when every file is valid, else 1).
 * @module
 */

import { access, stat } from 'node:fs/promises';
import { loadConfigFile } from '../config/index.js';
import type { Config, TlsConfig } from '../config/index.js';
import { globFiles } from '../discovery/index.js';

const HELP = `usage: meshmetrics check config [--syntax-only] FILE...

Check that configuration files are valid, as 'promtool check config' does.
Rule files are counted but not checked: the collector does not evaluate rules.

  --syntax-only  only check the syntax: do not look for the credential and TLS files
`;

/** Where the command writes; tests pass their own. */
export interface CommandOutput {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const PROCESS_OUTPUT: CommandOutput = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

/** Runs the subcommand; returns the exit code. */
export async function run(args: string[], out: CommandOutput = PROCESS_OUTPUT): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    out.stdout(HELP);
    return 0;
  }
  const syntaxOnly = args.includes('--syntax-only');
  const files = args.filter((a) => !a.startsWith('-'));
  const unknown = args.filter((a) => a.startsWith('-') && a !== '--syntax-only');
  if (unknown.length > 0 || files.length === 0) {
    out.stderr(
      unknown.length > 0 ? `meshmetrics: error: unknown flag ${unknown[0]}\n\n${HELP}` : HELP,
    );
    return 2;
  }
  for (const f of files) {
    try {
      await access(f);
    } catch {
      out.stderr(`meshmetrics: error: path '${f}' does not exist, try --help\n`);
      return 1;
    }
  }
  let failed = false;
  for (const f of files) {
    out.stdout(`Checking ${f}\n`);
    try {
      const cfg = await loadConfigFile(f);
      await checkReferencedFiles(cfg, syntaxOnly);
      for (const w of await findingsOf(cfg)) out.stdout(`  WARNING: ${w}\n`);
      const ruleFiles = await countRuleFiles(cfg);
      if (ruleFiles > 0) out.stdout(`  SUCCESS: ${ruleFiles} rule files found\n`);
      out.stdout(` SUCCESS: ${f} is valid prometheus config file syntax\n`);
    } catch (err) {
      failed = true;
      out.stderr(`  FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    out.stdout('\n');
  }
  return failed ? 1 : 0;
}

/** Go's wording for a failed stat, as promtool prints it. */
async function checkFileExists(file: string): Promise<string | null> {
  if (file === '') return null;
  try {
    await stat(file);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file or directory'
        : code === 'EACCES'
          ? 'permission denied'
          : (err as Error).message;
    return `stat ${file}: ${why}`;
  }
}

/** promtool's `checkTLSConfig`: the pairing is checked even with --syntax-only. */
async function checkTlsFiles(tls: TlsConfig, syntaxOnly: boolean): Promise<void> {
  if (tls.certFile !== '' && tls.keyFile === '') {
    throw new Error(`client cert file "${tls.certFile}" specified without client key file`);
  }
  if (tls.keyFile !== '' && tls.certFile === '') {
    throw new Error(`client key file "${tls.keyFile}" specified without client cert file`);
  }
  if (syntaxOnly) return;
  let why = await checkFileExists(tls.certFile);
  if (why) throw new Error(`error checking client cert file "${tls.certFile}": ${why}`);
  why = await checkFileExists(tls.keyFile);
  if (why) throw new Error(`error checking client key file "${tls.keyFile}": ${why}`);
}

/** promtool's checks that credential and client-certificate files exist. */
async function checkReferencedFiles(cfg: Config, syntaxOnly: boolean): Promise<void> {
  for (const sc of cfg.scrapeConfigs) {
    const file = sc.httpClient.authorization?.credentialsFile ?? '';
    const why = syntaxOnly ? null : await checkFileExists(file);
    if (why)
      throw new Error(
        `error checking authorization credentials or bearer token file "${file}": ${why}`,
      );
    await checkTlsFiles(sc.httpClient.tlsConfig, syntaxOnly);
    for (const k of sc.kubernetesSdConfigs) await checkTlsFiles(k.httpClient.tlsConfig, syntaxOnly);
  }
}

/** Warnings of the loader plus promtool's check that file_sd patterns match a file. */
async function findingsOf(cfg: Config): Promise<string[]> {
  const out = [...cfg.warnings];
  for (const sc of cfg.scrapeConfigs) {
    for (const fsd of sc.fileSdConfigs) {
      for (const pattern of fsd.files) {
        if ((await globFiles(pattern)).length === 0) {
          out.push(`file "${pattern}" for file_sd in scrape job "${sc.jobName}" does not exist`);
        }
      }
    }
  }
  return out;
}

async function countRuleFiles(cfg: Config): Promise<number> {
  let n = 0;
  for (const pattern of cfg.ruleFiles) n += (await globFiles(pattern)).length;
  return n;
}

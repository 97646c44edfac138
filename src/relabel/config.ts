/**
 * `relabel_config`: the rule as written in YAML, its defaults, and validation with the checks
 * and messages of Prometheus's `relabel.Config.Validate`. Each rule is validated and compiled
 * once (regex, templates); applying it never parses anything again.
 * @module
 */

import { ConfigError } from '../model/errors.js';
import { isValidLabelName } from '../model/labels.js';
import { FastRegexMatcher, RegexError } from '../model/regex.js';
import { compileTemplate, hasTemplateVars, type Template } from './expand.js';

/** The relabel actions, spelt as in the configuration file. */
export const RELABEL_ACTIONS = [
  'replace',
  'keep',
  'drop',
  'keepequal',
  'dropequal',
  'hashmod',
  'labelmap',
  'labeldrop',
  'labelkeep',
  'lowercase',
  'uppercase',
] as const;

/** One relabel action. */
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

/**
 * A relabel rule as written in YAML (snake_case keys), before defaults. A missing key takes
 * Prometheus's default: separator `;`, regex `(.*)`, replacement `$1`, action `replace`.
 */
export interface RelabelConfig {
  source_labels?: readonly string[];
  separator?: string;
  target_label?: string;
  regex?: string;
  modulus?: number | bigint;
  replacement?: string;
  action?: string;
}

/** A validated rule with its regex and templates compiled. Immutable and shareable. */
export interface CompiledRelabelConfig {
  readonly action: RelabelAction;
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  /** The anchored regex (RE2 syntax, `.` matching newline). */
  readonly regex: FastRegexMatcher;
  /** True when `regex` was not given (Prometheus's replace fast path keys on this). */
  readonly regexIsDefault: boolean;
  /** Modulus for hashmod, 0 otherwise. */
  readonly modulus: bigint;
  readonly targetLabel: string;
  /** Compiled `target_label` when it holds `$` references (replace only), else null. */
  readonly targetTemplate: Template | null;
  readonly replacement: string;
  readonly replacementTemplate: Template;
  /** True when `replacement` holds a `$`. */
  readonly replacementHasVars: boolean;
}

/** Prometheus's defaults for a rule. */
export const RELABEL_DEFAULTS = {
  separator: ';',
  regex: '(.*)',
  replacement: '$1',
  action: 'replace',
} as const;

const ACTIONS = new Set<string>(RELABEL_ACTIONS);

/**
 * Validates and compiles a list of rules. `where[i]`, when given, prefixes errors about rule
 * `i` (e.g. `prometheus.yml:12:7: scrape_configs[0].relabel_configs[2]`). Throws ConfigError.
 */
export function compileRelabelConfigs(
  raw: readonly RelabelConfig[],
  where?: readonly string[],
): CompiledRelabelConfig[] {
  return raw.map((r, i) => {
    try {
      return compileRelabelConfig(r);
    } catch (err) {
      const at = where?.[i] ?? `relabel_configs[${i}]`;
      const msg = err instanceof Error ? err.message : String(err);
      throw new ConfigError(`${at}: ${msg}`, { cause: err });
    }
  });
}

/** Validates and compiles one rule. Throws ConfigError with Prometheus's wording. */
export function compileRelabelConfig(r: RelabelConfig): CompiledRelabelConfig {
  const rawAction = r.action ?? RELABEL_DEFAULTS.action;
  const action = rawAction.toLowerCase();
  if (!ACTIONS.has(action))
    throw new ConfigError(`unknown relabel action ${JSON.stringify(rawAction)}`);
  const act = action as RelabelAction;

  const sourceLabels = r.source_labels ?? [];
  for (const n of sourceLabels) {
    if (!isValidLabelName(n))
      throw new ConfigError(`${JSON.stringify(n)} is not a valid label name`);
  }
  const separator = r.separator ?? RELABEL_DEFAULTS.separator;
  const targetLabel = r.target_label ?? '';
  const replacement = r.replacement ?? RELABEL_DEFAULTS.replacement;
  const modulus = toModulus(r.modulus);
  const regexSource = r.regex ?? RELABEL_DEFAULTS.regex;
  let regex: FastRegexMatcher;
  try {
    regex = new FastRegexMatcher(regexSource);
  } catch (err) {
    if (err instanceof RegexError) throw new ConfigError(err.message, { cause: err });
    throw err;
  }

  const fail = (msg: string): never => {
    throw new ConfigError(msg);
  };
  const q = JSON.stringify;
  if (modulus === 0n && act === 'hashmod')
    fail('relabel configuration for hashmod requires non-zero modulus');
  const needsTarget = [
    'replace',
    'hashmod',
    'lowercase',
    'uppercase',
    'keepequal',
    'dropequal',
  ].includes(act);
  if (needsTarget && targetLabel === '')
    fail(`relabel configuration for ${act} action requires 'target_label' value`);
  if (act === 'replace') {
    if (!targetLabel.includes('$') && !isValidLabelName(targetLabel)) {
      fail(`${q(targetLabel)} is invalid 'target_label' for ${act} action`);
    }
    if (targetLabel.includes('$') && !isValidTargetTemplate(targetLabel)) {
      fail(`${q(targetLabel)} is invalid 'target_label' for ${act} action`);
    }
  }
  const simpleTarget = ['lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(act);
  if (simpleTarget && !isValidLabelName(targetLabel))
    fail(`${q(targetLabel)} is invalid 'target_label' for ${act} action`);
  if (simpleTarget && replacement !== RELABEL_DEFAULTS.replacement)
    fail(`'replacement' can not be set for ${act} action`);
  if (act === 'labelmap' && !isValidTargetTemplate(replacement)) {
    fail(`${q(replacement)} is invalid 'replacement' for ${act} action`);
  }
  if (act === 'hashmod' && !isValidLabelName(targetLabel))
    fail(`${q(targetLabel)} is invalid 'target_label' for ${act} action`);
  if (act === 'keepequal' || act === 'dropequal') {
    // Prometheus compares with the default regex object, so any explicit regex is "set".
    if (
      r.regex !== undefined ||
      modulus !== 0n ||
      separator !== RELABEL_DEFAULTS.separator ||
      replacement !== RELABEL_DEFAULTS.replacement
    ) {
      fail(`${act} action requires only 'source_labels' and \`target_label\`, and no other fields`);
    }
  }
  if (act === 'labeldrop' || act === 'labelkeep') {
    if (
      r.source_labels !== undefined ||
      targetLabel !== '' ||
      modulus !== 0n ||
      separator !== RELABEL_DEFAULTS.separator ||
      replacement !== RELABEL_DEFAULTS.replacement
    ) {
      fail(`${act} action requires only 'regex', and no other fields`);
    }
  }

  const targetHasVars = act === 'replace' && hasTemplateVars(targetLabel);
  return {
    action: act,
    sourceLabels: sourceLabels.slice(),
    separator,
    regex,
    regexIsDefault: r.regex === undefined,
    modulus,
    targetLabel,
    targetTemplate: targetHasVars ? compileTemplate(targetLabel, regex.groupNames) : null,
    replacement,
    replacementTemplate: compileTemplate(replacement, regex.groupNames),
    replacementHasVars: hasTemplateVars(replacement),
  };
}

function toModulus(m: number | bigint | undefined): bigint {
  if (m === undefined) return 0n;
  if (typeof m === 'bigint') {
    if (m < 0n || m > 0xffffffffffffffffn)
      throw new ConfigError(`modulus ${m} is out of range for uint64`);
    return m;
  }
  if (!Number.isSafeInteger(m) || m < 0) {
    throw new ConfigError(
      `modulus ${m} must be a non-negative integer below 2^53 (pass a bigint for more)`,
    );
  }
  return BigInt(m);
}

/**
 * Prometheus's `relabelTarget` check, `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`, written as
 * a scan: a letter, `_` or `$` reference first, then word characters and `$` references. (The
 * regex itself backtracks exponentially in JavaScript on long invalid input.)
 */
export function isValidTargetTemplate(s: string): boolean {
  if (s.length === 0) return false;
  const word = (c: number): boolean =>
    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  let i = 0;
  let first = true;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 36 /* $ */) {
      i++;
      if (s.charCodeAt(i) === 123 /* { */) {
        const start = ++i;
        while (i < s.length && word(s.charCodeAt(i))) i++;
        if (i === start || s.charCodeAt(i) !== 125 /* } */) return false;
        i++;
      } else {
        const start = i;
        while (i < s.length && word(s.charCodeAt(i))) i++;
        if (i === start) return false;
      }
    } else if (word(c) && !(first && c >= 48 && c <= 57)) {
      i++;
    } else {
      return false;
    }
    first = false;
  }
  return true;
}

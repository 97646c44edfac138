/**
 * Applying relabel rules to a label set, rule by rule, with the semantics of Prometheus's
 * `relabel.Process` (model/relabel/relabel.go). A label set that no rule changes comes back
 * as the same object, with no allocation beyond the joined source values.
 * @module
 */

import * as crypto from 'node:crypto';
import type { Labels } from '../model/labels.js';
import { isValidLabelName } from '../model/labels.js';
import { RelabelBuilder } from './builder.js';
import type { CompiledRelabelConfig } from './config.js';
import { expandTemplate } from './expand.js';

const sharedBuilder = new RelabelBuilder();

/**
 * Applies `cfgs` in order. Returns the relabeled set, `labels` itself when nothing changed,
 * or null when a rule dropped it. Pass a builder to reuse one of your own (not re-entrant
 * otherwise: the default builder is shared by every call).
 */
export function relabel(
  labels: Labels,
  cfgs: readonly CompiledRelabelConfig[],
  builder: RelabelBuilder = sharedBuilder,
): Labels | null {
  if (cfgs.length === 0) return labels;
  builder.reset(labels);
  if (!processBuilder(builder, cfgs)) return null;
  return builder.labels();
}

/** Applies `cfgs` to a builder in place; false when a rule dropped the set. */
export function processBuilder(
  lb: RelabelBuilder,
  cfgs: readonly CompiledRelabelConfig[],
): boolean {
  for (let i = 0; i < cfgs.length; i++) {
    if (!applyRule(cfgs[i], lb)) return false;
  }
  return true;
}

function sourceValue(cfg: CompiledRelabelConfig, lb: RelabelBuilder): string {
  const src = cfg.sourceLabels;
  if (src.length === 0) return '';
  let val = lb.get(src[0]);
  for (let i = 1; i < src.length; i++) val += cfg.separator + lb.get(src[i]);
  return val;
}

function applyRule(cfg: CompiledRelabelConfig, lb: RelabelBuilder): boolean {
  const val = sourceValue(cfg, lb);
  switch (cfg.action) {
    case 'drop':
      return !cfg.regex.matches(val);
    case 'keep':
      return cfg.regex.matches(val);
    case 'dropequal':
      return lb.get(cfg.targetLabel) !== val;
    case 'keepequal':
      return lb.get(cfg.targetLabel) === val;
    case 'replace': {
      // Fast path to add or delete a label pair.
      if (
        val === '' &&
        cfg.regexIsDefault &&
        cfg.targetTemplate === null &&
        !cfg.replacementHasVars
      ) {
        lb.set(cfg.targetLabel, cfg.replacement);
        return true;
      }
      const m = cfg.regex.exec(val);
      if (m === null) return true;
      const target =
        cfg.targetTemplate === null ? cfg.targetLabel : expandTemplate(cfg.targetTemplate, m);
      if (!isValidLabelName(target)) return true;
      const res = expandTemplate(cfg.replacementTemplate, m);
      if (res === '') lb.del(target);
      else lb.set(target, res);
      return true;
    }
    case 'lowercase':
      lb.set(cfg.targetLabel, goToLower(val));
      return true;
    case 'uppercase':
      lb.set(cfg.targetLabel, goToUpper(val));
      return true;
    case 'hashmod':
      lb.set(cfg.targetLabel, hashMod(val, cfg.modulus));
      return true;
    case 'labelmap':
      lb.range((name, value) => {
        const m = cfg.regex.exec(name);
        if (m !== null) lb.set(expandTemplate(cfg.replacementTemplate, m), value);
      });
      return true;
    case 'labeldrop':
      lb.range((name) => {
        if (cfg.regex.matches(name)) lb.del(name);
      });
      return true;
    case 'labelkeep':
      lb.range((name) => {
        if (!cfg.regex.matches(name)) lb.del(name);
      });
      return true;
  }
}

/**
 * Prometheus's hashmod: the last 8 bytes of the MD5 of `val` (UTF-8) as a big-endian uint64,
 * modulo `modulus`, in decimal. Computed exactly: this decides which collector scrapes a
 * target, so it must equal Prometheus bit for bit.
 */
export function hashMod(val: string, modulus: bigint): string {
  const sum = md5(val);
  const hi = sum.readUInt32BE(8);
  const lo = sum.readUInt32BE(12);
  if (modulus <= 0x200000n) {
    // (hi * 2^32 + lo) mod m with every intermediate below 2^53.
    const m = Number(modulus);
    return String(((((hi % m) * 0x100000000) % m) + (lo % m)) % m);
  }
  return (((BigInt(hi) << 32n) | BigInt(lo)) % modulus).toString();
}

// crypto.hash (Node 20.12+) skips the Hash object and is about twice as fast for short input.
const oneShotHash = (crypto as { hash?: (alg: string, data: string, enc: 'buffer') => Buffer })
  .hash;

function md5(val: string): Buffer {
  if (oneShotHash) return oneShotHash('md5', val, 'buffer');
  return crypto.createHash('md5').update(val, 'utf8').digest();
}

/** Go's `strings.ToLower`: simple per-rune mapping (no final-sigma or other context rules). */
export function goToLower(s: string): string {
  if (isAscii(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const l = ch.toLowerCase();
    // Only U+0130 lowercases to two code points ("i̇"); its simple mapping is "i".
    out += [...l].length === 1 ? l : String.fromCodePoint(l.codePointAt(0)!);
  }
  return out;
}

/** Go's `strings.ToUpper`: simple per-rune mapping; runes whose upper case is longer stay. */
export function goToUpper(s: string): string {
  if (isAscii(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const u = ch.toUpperCase();
    out += [...u].length === 1 ? u : ch;
  }
  return out;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

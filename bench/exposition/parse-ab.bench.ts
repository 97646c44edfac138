/**
 * Before → after for the exposition parser: two compiled builds alternate in one process,
 * slice by slice, on the same inputs, so a shared machine's load hits both alike. Figures
 * are MB per CPU-second of this process; the ratio new/old is taken per round, and the
 * table shows the median (and the range) over the rounds.
 *
 * Modes (as in parse.bench.ts): full (labels() on every sample, on a reused parser), first
 * (a new parser per pass: `next()`, `seriesKey()`, `value()`), scan (the same on a reused
 * parser, so text lines match the keys remembered from the previous pass) and strict
 * (OpenMetrics with the semantic checks; on the input that passes them).
 *
 * Run: npx tsc -p tsconfig.build.json &&
 *      node --expose-gc --import tsx bench/exposition/parse-ab.bench.ts OLD_DIST [NEW_DIST] [modes]
 *   OLD_DIST, NEW_DIST  build folders holding exposition/index.js (NEW_DIST defaults to dist/),
 *                       e.g. a copy of dist/ made before a change
 *   modes               comma-separated subset of full,first,scan,strict (default all)
 * Env: BENCH_ROUNDS (default 7), BENCH_SECONDS per slice (default 0.15).
 */

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ParserOptions } from '../../src/exposition/index.js';

type ExpositionModule = typeof import('../../src/exposition/index.js');
type Mode = 'full' | 'first' | 'scan' | 'strict';

const REPO = resolve(import.meta.dirname, '../..');
const TEXTPARSE = join(REPO, '../shared/peer-tests/exposition/prometheus-textparse');
const [oldArg, newArg, modesArg] = process.argv.slice(2);
if (oldArg === undefined) throw new Error('usage: parse-ab.bench.ts OLD_DIST [NEW_DIST] [modes]');
const load = async (dir: string): Promise<ExpositionModule> =>
  (await import(pathToFileURL(join(resolve(dir), 'exposition/index.js')).href)) as ExpositionModule;
const builds = { old: await load(oldArg), new: await load(newArg ?? join(REPO, 'dist')) };
const modes = (modesArg ?? 'full,first,scan,strict').split(',') as Mode[];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.15);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Inputs and the modes that apply (strict only where the body passes the semantic checks). */
const inputs: { file: string; opts: ParserOptions; strict: boolean }[] = [
  { file: 'alltypes.237mfs.prom.txt', opts: { format: 'text' }, strict: false },
  { file: 'alltypes.237mfs.nometa.prom.txt', opts: { format: 'text' }, strict: false },
  { file: 'alltypes.5mfs.om.txt', opts: { format: 'openmetrics', strict: false }, strict: false },
  { file: '1histogram.om.txt', opts: { format: 'openmetrics', strict: false }, strict: true },
];

/** One pass over the body in `mode`; returns a checksum so the work stays observable. */
function pass(
  m: ExpositionModule,
  body: Buffer,
  opts: ParserOptions,
  mode: Mode,
  reused: InstanceType<ExpositionModule['ExpositionParser']>,
): number {
  const fresh = mode === 'first' || mode === 'strict';
  const p = fresh ? new m.ExpositionParser(body, opts) : reused;
  if (!fresh) p.reset(body);
  let acc = 0;
  for (let t = p.next(); t !== m.EntryType.EOF; t = p.next()) {
    if (t !== m.EntryType.Series) continue;
    acc += (mode === 'full' ? p.labels().size : p.seriesKey().length) + p.value();
  }
  return acc;
}

/** MB per CPU-second of `once` over SECONDS. */
function slice(bytes: number, once: () => number): number {
  const start = process.cpuUsage().user;
  let iters = 0;
  let acc = 0;
  let used = 0;
  while (used < SECONDS * 1e6) {
    acc += once();
    iters++;
    used = process.cpuUsage().user - start;
  }
  if (acc === -1) console.log(acc);
  return (bytes * iters) / used;
}

const median = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

console.log(
  `old ${oldArg}, new ${newArg ?? 'dist/'}; ${ROUNDS} rounds of ${SECONDS} CPU-s per build; MB per CPU-second`,
);
for (const input of inputs) {
  const body = readFileSync(join(TEXTPARSE, input.file));
  for (const mode of modes) {
    if (mode === 'strict' && !input.strict) continue;
    const opts: ParserOptions = mode === 'strict' ? { format: 'openmetrics' } : input.opts;
    const once = (m: ExpositionModule): (() => number) => {
      const p = new m.ExpositionParser(body, opts);
      return () => pass(m, body, opts, mode, p);
    };
    const a = once(builds.old);
    const b = once(builds.new);
    // Warm up the JIT.
    for (let i = 0; i < 30; i++) {
      a();
      b();
    }
    const olds: number[] = [];
    const news: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      gc();
      const x = slice(body.length, a);
      gc();
      const y = slice(body.length, b);
      olds.push(x);
      news.push(y);
      ratios.push(y / x);
    }
    console.log(
      `${input.file.padEnd(32)} ${mode.padEnd(6)} old ${median(olds).toFixed(0).padStart(4)}  new ${median(news).toFixed(0).padStart(4)}  new/old ×${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
    );
  }
}

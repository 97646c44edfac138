/**
 * Reads the upstream compliance query list (prometheus/compliance, `promql-test-queries.yml`)
 * unchanged and expands its templates with the tester's variant table, as the Go tester does
 * with text/template: each `{{.name}}` named in `variant_args` takes every value of its row,
 * and several names give the cartesian product (the first name varies slowest).
 * @module
 */

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** The variant table of the upstream tester (`promql/config.go`'s `VariantArgs`). */
export const VARIANT_ARGS: Readonly<Record<string, readonly string[]>> = (() => {
  const simpleAggrOp = ['sum', 'avg', 'max', 'min', 'count', 'stddev', 'stdvar'];
  const arithBinOp = ['+', '-', '*', '/', '%', '^'];
  const compBinOp = ['==', '!=', '<', '>', '<=', '>='];
  return Object.freeze({
    range: ['1s', '15s', '1m', '5m', '15m', '1h'],
    offset: ['1m', '5m', '10m'],
    simpleAggrOp,
    simpleTimeAggrOp: [...simpleAggrOp, 'absent', 'last'],
    topBottomOp: ['topk', 'bottomk'],
    quantile: ['-0.5', '0.1', '0.5', '0.75', '0.95', '0.90', '0.99', '1', '1.5'],
    arithBinOp,
    compBinOp,
    binOp: [...arithBinOp, ...compBinOp],
    simpleMathFunc: ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'round'],
    extrapolatedRateFunc: ['delta', 'rate', 'increase'],
    clampFunc: ['clamp_min', 'clamp_max'],
    instantRateFunc: ['idelta', 'irate'],
    dateFunc: ['day_of_month', 'day_of_week', 'days_in_month', 'hour', 'minute', 'month', 'year'],
    smoothingFactor: ['0.1', '0.5', '0.8'],
    trendFactor: ['0.1', '0.5', '0.8'],
  });
})();

/** One upstream test case, as written in the file. */
export interface TestCaseTemplate {
  query: string;
  variant_args?: string[];
  should_fail?: boolean;
  skip_comparison?: boolean;
}

/** One expanded query. */
export interface ComplianceQuery {
  query: string;
  shouldFail: boolean;
  skipComparison: boolean;
  /** Index of the template it came from, for grouping. */
  template: number;
}

/** Reads the templates of a query file. */
export function readTemplates(file: string): TestCaseTemplate[] {
  const doc = parse(readFileSync(file, 'utf8')) as { test_cases: TestCaseTemplate[] };
  return doc.test_cases;
}

/**
 * Expands every template, then replaces the upstream host `demo.promlabs.com` with `host`
 * (the instance host of the data in use).
 */
export function expandTemplates(
  templates: readonly TestCaseTemplate[],
  host: string,
): ComplianceQuery[] {
  const out: ComplianceQuery[] = [];
  templates.forEach((tc, template) => {
    const names = tc.variant_args ?? [];
    for (const name of names)
      if (VARIANT_ARGS[name] === undefined) throw new Error(`unknown variant arg ${name}`);
    const emit = (i: number, bound: Record<string, string>): void => {
      if (i === names.length) {
        const q = tc.query.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (m, n: string) => {
          const v = bound[n];
          if (v === undefined)
            throw new Error(`template ${JSON.stringify(tc.query)}: no value for ${m}`);
          return v;
        });
        out.push({
          query: q.replaceAll('demo.promlabs.com', host),
          shouldFail: tc.should_fail === true,
          skipComparison: tc.skip_comparison === true,
          template,
        });
        return;
      }
      for (const v of VARIANT_ARGS[names[i]]) emit(i + 1, { ...bound, [names[i]]: v });
    };
    emit(0, {});
  });
  return out;
}

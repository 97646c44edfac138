/**
 * Rules that tell a documented Prometheus 2.42 → 3.x semantic change apart from an engine
 * bug, without listing query strings. Our engine follows 3.x; the reference is 2.42.
 *
 * Left-open windows (Prometheus 3.0, migration guide "PromQL": range selectors and the
 * lookback delta are left-open, so a sample at exactly `t − range` is excluded; 2.42
 * includes it). With timestamps in whole ms, 2.42's closed window `[t − r + 1ms, t]` holds
 * the same samples as 3.x's `(t − r, t]`, and for subqueries the same inner steps. So
 * {@link leftOpenEquivalent} shortens every range and subquery range by 1 ms; if our answer
 * equals 2.42's answer to the rewritten query (while it differed from the original), the
 * difference is this change and nothing else.
 *
 * Limit: functions that also use the range's length (rate, increase and delta extrapolate
 * to the window's edges) move by about 1 ms / range, which can exceed the 1e-5 tolerance
 * for short ranges; such a case stays counted as a failure.
 *
 * UTF-8 label names (Prometheus 3.0: metric and label names may be any UTF-8 string by
 * default; 2.42 accepts only `[a-zA-Z_][a-zA-Z0-9_]*`). {@link utf8LabelNameChange} applies
 * when 2.42 rejected a query only because a label name it was given is not a legacy name,
 * while the name is valid UTF-8 (3.x still rejects invalid UTF-8, e.g. `"\xff"` in its own
 * functions.test).
 * @module
 */

const UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

/** Milliseconds of a PromQL duration literal (`1h30m`, `250ms`), or null if it is not one. */
export function durationMs(s: string): number | null {
  const re = /(\d+)(ms|s|m|h|d|w|y)/y;
  let total = 0;
  let end = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * UNITS_MS[m[2]];
    end = re.lastIndex;
  }
  return s !== '' && end === s.length ? total : null;
}

/**
 * The query with every `[range]` and `[range:step]` shortened by 1 ms, or null when it has
 * no range (the rule does not apply).
 */
export function leftOpenEquivalent(query: string): string | null {
  let changed = false;
  const out = query.replace(
    /\[\s*([0-9a-z]+)\s*(:[^\]]*)?\]/g,
    (whole, range: string, sub: string | undefined) => {
      const ms = durationMs(range);
      if (ms === null || ms <= 1) return whole;
      changed = true;
      return `[${ms - 1}ms${sub ?? ''}]`;
    },
  );
  return changed ? out : null;
}

const LEGACY_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Given the reference's error text, the label name 2.42 refused when the refusal is the
 * legacy-name check and the name is valid under 3.x's UTF-8 rule; otherwise null.
 */
export function utf8LabelNameChange(referenceError: string): string | null {
  const m = /invalid (?:destination |source )?label name in \w+\(\): (.*)$/.exec(referenceError);
  if (m === null) return null;
  const name = m[1];
  // U+FFFD stands for bytes that were not UTF-8 when the JSON was decoded.
  if (name === '' || LEGACY_LABEL_NAME.test(name) || name.includes('\uFFFD')) return null;
  return name;
}

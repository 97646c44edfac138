/**
 * The query history: the last 20 distinct expressions run, newest first, kept in the
 * browser's localStorage (nothing is sent anywhere).
 */

const KEY = 'meshmetrics.query-history';
/** How many expressions the history keeps. */
export const HISTORY_SIZE = 20;

export function loadHistory(): string[] {
  try {
    const raw = JSON.parse(localStorage.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(raw) ? raw.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    // Private mode or a corrupt entry: start afresh.
    return [];
  }
}

/** Puts `expr` first (moving it if it is already there) and returns the new history. */
export function rememberQuery(expr: string): string[] {
  const next = [expr, ...loadHistory().filter((e) => e !== expr)].slice(0, HISTORY_SIZE);
  try {
    localStorage.setItem(KEY, JSON.stringify(next));
  } catch {
    // Storage full or disabled: the history is a convenience, the query still ran.
  }
  return next;
}

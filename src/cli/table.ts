/**
 * Column-aligned tables as `kubectl` and `linkerd` print them (Go's tabwriter with
 * three spaces of padding): every column as wide as its widest cell, left-aligned.
 * @module
 */

/** Renders `header` and `rows` as aligned text, one line each, ending with a newline. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h) => h.length);
  for (const r of rows)
    for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i] ?? 0, r[i].length);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

/**
 * `x` with `digits` decimals as Go's `%.Nf` prints it. JavaScript's toFixed rounds an exact
 * tie away from zero (3.25 → "3.3"); Go rounds it to even (3.25 → "3.2"), and linkerd's
 * columns are printed by Go.
 */
export function formatFixed(x: number, digits: number): string {
  const s = x.toFixed(digits);
  if (!Number.isFinite(x)) return s;
  const extra = 30;
  const long = x.toFixed(Math.min(100, digits + extra));
  const tail = long.slice(long.length - extra);
  if (tail !== '5' + '0'.repeat(extra - 1)) return s;
  let kept = long.slice(0, long.length - extra);
  if (kept.endsWith('.')) kept = kept.slice(0, -1);
  return (kept.charCodeAt(kept.length - 1) - 48) % 2 === 0 ? kept : s;
}

/**
 * Column-aligned tables as `kubectl` and `linkerd` print them (Go's tabwriter with
 * three spaces of padding): every column as wide as its widest cell, left-aligned.
 * @module
 */

/** Renders `header` and `rows` as aligned text, one line each, ending with a newline. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i] ?? 0, r[i].length);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3)))
      .join('')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

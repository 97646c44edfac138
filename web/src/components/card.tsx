/** A headline figure in a box at the top of a page. */
import type { ComponentChildren } from 'preact';

export function Card({
  label,
  value,
  tone,
  sub,
}: {
  label: string;
  value: string;
  /** Colour class of the value: `good`, `warn`, `bad`, `idle`. */
  tone?: string;
  sub?: ComponentChildren;
}) {
  return (
    <div class="card">
      <div class="card-label">{label}</div>
      <div class={`card-value ${tone ?? ''}`}>{value}</div>
      {sub ? <div class="card-sub">{sub}</div> : null}
    </div>
  );
}

/** A coloured dot and text for a workload's or target's health. */
import { HEALTH_TEXT, type Health } from './format.js';

export function HealthDot({
  health,
  title,
}: {
  health: Health | 'up' | 'down' | 'unknown';
  title?: string;
}) {
  const text = title ?? (health in HEALTH_TEXT ? HEALTH_TEXT[health as Health] : health);
  return <span class={`dot ${health}`} title={text} aria-label={text} role="img" />;
}

/** A pill with a target's health (`up`, `down`, `unknown`). */
export function HealthPill({ health }: { health: string }) {
  return <span class={`pill ${health}`}>{health}</span>;
}

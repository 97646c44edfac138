/**
 * `static_configs`: one target group per entry, sources `0`, `1`, … (Prometheus's
 * StaticProvider), sent once.
 * @module
 */

import type { StaticConfig } from '../../config/index.js';
import type { Discoverer, TargetGroup } from '../target-group.js';

/** The groups of a list of static configs. */
export function staticGroups(configs: readonly StaticConfig[]): TargetGroup[] {
  return configs.map((c, i) => ({
    source: String(i),
    targets: c.targets.map((t) => ({ __address__: t })),
    labels: { ...c.labels },
  }));
}

/** Sends the static groups once and returns. */
export class StaticDiscoverer implements Discoverer {
  private readonly groups: TargetGroup[];

  constructor(configs: readonly StaticConfig[]) {
    this.groups = staticGroups(configs);
  }

  async run(signal: AbortSignal, up: (groups: TargetGroup[]) => void): Promise<void> {
    if (!signal.aborted) up(this.groups);
  }
}

/**
 * The semantic rules of strict OpenMetrics 1.0, checked as the parser goes.
 * @module
 */

import type { EntryType, ExpositionParser } from './parser.js';

/** Tracks the current family and metric point of a strict OpenMetrics parse. */
export class OpenMetricsValidator {
  /** Forgets everything, for a new body. */
  reset(): void {}

  /** Called after a HELP, TYPE or UNIT line. */
  metadata(_p: ExpositionParser, _t: EntryType): void {}

  /** Called after a sample line. */
  sample(_p: ExpositionParser): void {}

  /** Called at `# EOF`. */
  end(_p: ExpositionParser): void {}
}

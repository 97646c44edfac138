/**
 * Relabeling: `relabel_configs`, `metric_relabel_configs` and `write_relabel_configs` with
 * every Prometheus action, and the finishing of discovered target labels.
 * @module
 */
export { RelabelBuilder } from './builder.js';
export {
  RELABEL_ACTIONS,
  RELABEL_DEFAULTS,
  compileRelabelConfig,
  compileRelabelConfigs,
  isValidTargetTemplate,
  type CompiledRelabelConfig,
  type RelabelAction,
  type RelabelConfig,
} from './config.js';
export { compileTemplate, expandTemplate, type Template } from './expand.js';
export { goToLower, goToUpper, hashMod, processBuilder, relabel } from './relabel.js';
export {
  finishTargetLabels,
  formatDuration,
  parseDuration,
  splitHostPort,
  type FinishedTarget,
  type TargetJobConfig,
} from './target.js';

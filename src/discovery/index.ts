/**
 * Service discovery: static, file and Kubernetes pod discoverers, and the manager that
 * runs them per job and publishes target groups.
 * @module
 */
export * from './target-group.js';
export { DiscoveryMetrics } from './metrics.js';
export { DiscoveryManager } from './manager.js';
export type { DiscoveryManagerOptions, TargetSets } from './manager.js';
export { StaticDiscoverer, staticGroups } from './static/static.js';
export { FileDiscoverer, FILEPATH_LABEL, parseFileSd } from './file/file.js';
export type { FileDiscovererOptions } from './file/file.js';
export { globFiles, matchElement } from './file/glob.js';
export { KubernetesDiscoverer } from './kubernetes/kubernetes.js';
export type { KubernetesDiscovererOptions } from './kubernetes/kubernetes.js';
export { KubeApiError, KubeClient, kubeConnection } from './kubernetes/client.js';
export type { KubeConnection } from './kubernetes/client.js';
export { podSource, podTargetGroup, sanitizeLabelName } from './kubernetes/pod.js';
export type * from './kubernetes/types.js';

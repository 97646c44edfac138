/**
 * The target group of one pod, with exactly the labels Prometheus 2.42's role=pod
 * discovery produces (`discovery/kubernetes/pod.go`).
 * @module
 */

import type { ContainerStatus, Pod } from './types.js';

const META = '__meta_kubernetes_';
const POD = `${META}pod_`;

/** Replaces every character outside `[a-zA-Z0-9_]` with `_` (strutil.SanitizeLabelName). */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** The group source of a pod: `pod/<namespace>/<name>`. */
export function podSource(namespace: string, name: string): string {
  return `pod/${namespace}/${name}`;
}

function podReady(pod: Pod): string {
  for (const c of pod.status.conditions ?? []) {
    if (c.type === 'Ready') return c.status.toLowerCase();
  }
  return 'unknown';
}

function containerId(statuses: ContainerStatus[] | undefined, name: string): string {
  for (const s of statuses ?? []) if (s.name === name) return s.containerID ?? '';
  return '';
}

/** The pod-level labels (`podLabels` in Prometheus) plus the namespace. */
function podLabels(pod: Pod): Record<string, string> {
  const m = pod.metadata;
  const ls: Record<string, string> = {
    [`${POD}name`]: m.name,
    [`${POD}ip`]: pod.status.podIP ?? '',
    [`${POD}ready`]: podReady(pod),
    [`${POD}phase`]: pod.status.phase ?? '',
    [`${POD}node_name`]: pod.spec.nodeName ?? '',
    [`${POD}host_ip`]: pod.status.hostIP ?? '',
    [`${POD}uid`]: m.uid ?? '',
  };
  const controller = (m.ownerReferences ?? []).find((o) => o.controller === true);
  if (controller) {
    if (controller.kind) ls[`${POD}controller_kind`] = controller.kind;
    if (controller.name) ls[`${POD}controller_name`] = controller.name;
  }
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    const ln = sanitizeLabelName(k);
    ls[`${POD}label_${ln}`] = v;
    ls[`${POD}labelpresent_${ln}`] = 'true';
  }
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    const ln = sanitizeLabelName(k);
    ls[`${POD}annotation_${ln}`] = v;
    ls[`${POD}annotationpresent_${ln}`] = 'true';
  }
  ls[`${META}namespace`] = m.namespace ?? '';
  return ls;
}

/**
 * Builds the group of `pod`: one target per declared container port (`podIP:port`), one
 * per container without ports (`podIP`), init containers after the others with
 * `_container_init="true"`. A pod without an IP yet gives an empty group.
 */
export function podTargetGroup(pod: Pod): {
  source: string;
  targets: Record<string, string>[];
  labels: Record<string, string>;
} {
  const source = podSource(pod.metadata.namespace ?? '', pod.metadata.name);
  const ip = pod.status.podIP ?? '';
  if (ip === '') return { source, targets: [], labels: {} };
  const targets: Record<string, string>[] = [];
  const containers = pod.spec.containers ?? [];
  const all = containers.concat(pod.spec.initContainers ?? []);
  all.forEach((c, i) => {
    const isInit = i >= containers.length;
    const cid = containerId(
      isInit ? pod.status.initContainerStatuses : pod.status.containerStatuses,
      c.name,
    );
    const common = {
      [`${POD}container_name`]: c.name,
      [`${POD}container_id`]: cid,
      [`${POD}container_image`]: c.image ?? '',
      [`${POD}container_init`]: String(isInit),
    };
    const ports = c.ports ?? [];
    if (ports.length === 0) {
      targets.push({ __address__: ip, ...common });
      return;
    }
    for (const p of ports) {
      const port = String(p.containerPort);
      targets.push({
        __address__: ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`,
        ...common,
        [`${POD}container_port_number`]: port,
        [`${POD}container_port_name`]: p.name ?? '',
        [`${POD}container_port_protocol`]: p.protocol ?? '',
      });
    }
  });
  return { source, targets, labels: podLabels(pod) };
}

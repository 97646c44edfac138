/**
 * The parts of Kubernetes API objects that pod discovery reads (core/v1 Pod, PodList,
 * WatchEvent, Status), as they appear in the API's JSON.
 * @module
 */

/** `metadata.ownerReferences[]`. */
export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

/** `metadata`. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

/** `spec.containers[].ports[]`. */
export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

/** `spec.containers[]` and `spec.initContainers[]`. */
export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}

/** `status.containerStatuses[]`. */
export interface ContainerStatus {
  name: string;
  containerID?: string;
  ready?: boolean;
}

/** A core/v1 Pod. */
export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: { nodeName?: string; containers: Container[]; initContainers?: Container[] };
  status: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

/** A core/v1 PodList. */
export interface PodList {
  kind: 'PodList';
  apiVersion: 'v1';
  metadata: { resourceVersion: string; continue?: string };
  items: Pod[];
}

/** A meta/v1 Status (the body of API errors and of watch ERROR events). */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  code: number;
}

/** One line of a watch stream. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Pod | Status;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podTargetGroup, sanitizeLabelName } from './pod.js';
import type { Pod } from './types.js';

function pod(
  over: Partial<Pod['metadata']> & { spec?: Pod['spec']; status?: Pod['status'] } = {},
): Pod {
  const { spec, status, ...meta } = over;
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u1', ...meta },
    spec: spec ?? {
      nodeName: 'n1',
      containers: [
        { name: 'c', image: 'img', ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }] },
      ],
    },
    status: status ?? { phase: 'Running', podIP: '10.1.2.3', hostIP: '192.168.0.1' },
  };
}

const sanitized: Array<[string, string]> = [
  ['app', 'app'],
  ['linkerd.io/control-plane-ns', 'linkerd_io_control_plane_ns'],
  ['app.kubernetes.io/name', 'app_kubernetes_io_name'],
  ['a-b_c9', 'a_b_c9'],
  ['ünïcode', '_n_code'],
];
for (const [in_, want] of sanitized) {
  test(`sanitizeLabelName(${in_}) = ${want}`, () => assert.equal(sanitizeLabelName(in_), want));
}

test('a pod without an IP gives an empty group', () => {
  assert.deepEqual(podTargetGroup(pod({ status: { phase: 'Pending' } })), {
    source: 'pod/ns/p',
    targets: [],
    labels: {},
  });
});

test('a pod without a Ready condition reads ready "unknown"; no controller means no controller labels', () => {
  const g = podTargetGroup(
    pod({ ownerReferences: [{ kind: 'ReplicaSet', name: 'rs', controller: false }] }),
  );
  assert.equal(g.labels.__meta_kubernetes_pod_ready, 'unknown');
  assert.equal('__meta_kubernetes_pod_controller_kind' in g.labels, false);
});

test('IPv6 pod addresses are bracketed with a port and bare without', () => {
  const g = podTargetGroup(
    pod({
      spec: { containers: [{ name: 'a', ports: [{ containerPort: 9090 }] }, { name: 'b' }] },
      status: { podIP: 'fd00::1' },
    }),
  );
  assert.deepEqual(
    g.targets.map((t) => t.__address__),
    ['[fd00::1]:9090', 'fd00::1'],
  );
  // A port without name or protocol gives empty values, as Go's zero values do.
  assert.equal(g.targets[0].__meta_kubernetes_pod_container_port_name, '');
  assert.equal(g.targets[0].__meta_kubernetes_pod_container_port_protocol, '');
  assert.equal(g.targets[1].__meta_kubernetes_pod_container_id, '');
});

test('label and annotation names are sanitised, values kept', () => {
  const g = podTargetGroup(
    pod({
      labels: { 'linkerd.io/proxy-job': 'j' },
      annotations: { 'config.linkerd.io/skip-ports': '25,443' },
    }),
  );
  assert.equal(g.labels.__meta_kubernetes_pod_label_linkerd_io_proxy_job, 'j');
  assert.equal(g.labels.__meta_kubernetes_pod_labelpresent_linkerd_io_proxy_job, 'true');
  assert.equal(g.labels.__meta_kubernetes_pod_annotation_config_linkerd_io_skip_ports, '25,443');
  assert.equal(
    g.labels.__meta_kubernetes_pod_annotationpresent_config_linkerd_io_skip_ports,
    'true',
  );
});

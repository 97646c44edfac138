// Kubernetes pod discovery against a fake API server speaking the list/watch protocol,
// and (when a Prometheus with Kubernetes SD is installed) against the real Prometheus.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { Labels } from '../src/model/index.js';
import { finishTargetLabels } from '../src/relabel/index.js';
import type { KubernetesSdConfig, ScrapeConfig } from '../src/config/index.js';
import {
  DiscoveryMetrics,
  KubernetesDiscoverer,
  kubeConnection,
  silentLogger,
} from '../src/discovery/index.js';
import type { TargetGroup } from '../src/discovery/index.js';
import { FakeKubeApi, linkerdPod } from './support/fake-kube-api.js';
import { requirePeer } from './support/peers.js';
import { freePort, startPrometheus, watchServer } from './support/servers.js';
import { waitUntil } from './support/wait.js';

function sdConfig(apiServer: string, extra = ''): KubernetesSdConfig {
  const cfg = loadConfig(
    `scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs:\n      - role: pod\n        api_server: ${apiServer}\n${extra}`,
    'k.yml',
  );
  return cfg.scrapeConfigs[0].kubernetesSdConfigs[0];
}

/** Runs a discoverer and keeps the latest group per source. */
function startDiscovery(cfg: KubernetesSdConfig, metrics = new DiscoveryMetrics()) {
  const groups = new Map<string, TargetGroup>();
  const controller = new AbortController();
  const d = new KubernetesDiscoverer(cfg, {
    logger: silentLogger,
    metrics,
    retryDelayMs: 10,
    maxRetryDelayMs: 50,
  });
  const done = d.run(controller.signal, (gs) => {
    for (const g of gs) groups.set(g.source, g);
  });
  return {
    groups,
    metrics,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

const WEB = {
  name: 'web-5f8d7c9b4d-abcde',
  namespace: 'emojivoto',
  ip: '10.42.0.11',
  deployment: 'web',
  appPort: 8080,
};

test('a Linkerd-injected pod gives exactly Prometheus role=pod labels', async (t) => {
  const api = new FakeKubeApi();
  await api.start();
  t.after(() => api.close());
  const stored = api.apply(linkerdPod(WEB));
  const run = startDiscovery(sdConfig(api.url));
  t.after(() => run.stop());
  await waitUntil('the pod group', () => run.groups.has('pod/emojivoto/web-5f8d7c9b4d-abcde'));
  const g = run.groups.get('pod/emojivoto/web-5f8d7c9b4d-abcde')!;
  const P = '__meta_kubernetes_pod_';
  assert.deepEqual(g.labels, {
    [`${P}name`]: 'web-5f8d7c9b4d-abcde',
    [`${P}ip`]: '10.42.0.11',
    [`${P}ready`]: 'true',
    [`${P}phase`]: 'Running',
    [`${P}node_name`]: 'node-1',
    [`${P}host_ip`]: '10.0.0.1',
    [`${P}uid`]: stored.metadata.uid,
    [`${P}controller_kind`]: 'ReplicaSet',
    [`${P}controller_name`]: 'web-5f8d7c9b4d',
    [`${P}label_app`]: 'web',
    [`${P}labelpresent_app`]: 'true',
    [`${P}label_linkerd_io_control_plane_ns`]: 'linkerd',
    [`${P}labelpresent_linkerd_io_control_plane_ns`]: 'true',
    [`${P}label_linkerd_io_proxy_deployment`]: 'web',
    [`${P}labelpresent_linkerd_io_proxy_deployment`]: 'true',
    [`${P}label_linkerd_io_workload_ns`]: 'emojivoto',
    [`${P}labelpresent_linkerd_io_workload_ns`]: 'true',
    [`${P}label_pod_template_hash`]: '5f8d7c9b4d',
    [`${P}labelpresent_pod_template_hash`]: 'true',
    [`${P}annotation_linkerd_io_created_by`]: 'linkerd/proxy-injector stable-2.14.10',
    [`${P}annotationpresent_linkerd_io_created_by`]: 'true',
    [`${P}annotation_linkerd_io_proxy_version`]: 'stable-2.14.10',
    [`${P}annotationpresent_linkerd_io_proxy_version`]: 'true',
    [`${P}annotation_linkerd_io_inject`]: 'enabled',
    [`${P}annotationpresent_linkerd_io_inject`]: 'true',
    __meta_kubernetes_namespace: 'emojivoto',
  });
  const cid = (n: string) =>
    stored.status.containerStatuses!.find((s) => s.name === n)!.containerID!;
  const port = (container: string, image: string, num: number, name: string) => ({
    __address__: `10.42.0.11:${num}`,
    [`${P}container_name`]: container,
    [`${P}container_id`]: cid(container),
    [`${P}container_image`]: image,
    [`${P}container_init`]: 'false',
    [`${P}container_port_number`]: String(num),
    [`${P}container_port_name`]: name,
    [`${P}container_port_protocol`]: 'TCP',
  });
  assert.deepEqual(g.targets, [
    port('linkerd-proxy', 'cr.l5d.io/linkerd/proxy:stable-2.14.10', 4143, 'linkerd-proxy'),
    port('linkerd-proxy', 'cr.l5d.io/linkerd/proxy:stable-2.14.10', 4191, 'linkerd-admin'),
    port('web', 'docker.l5d.io/buoyantio/emojivoto-web:v11', 8080, 'http'),
    {
      __address__: '10.42.0.11',
      [`${P}container_name`]: 'linkerd-init',
      [`${P}container_id`]: stored.status.initContainerStatuses![0].containerID!,
      [`${P}container_image`]: 'cr.l5d.io/linkerd/proxy-init:v2.2.3',
      [`${P}container_init`]: 'true',
    },
  ]);
  // List first, then a watch from the list's resourceVersion, with bookmarks.
  await waitUntil('the watch', () => api.openWatches === 1);
  assert.match(api.requests[0], /^\/api\/v1\/pods$/);
  assert.match(
    api.requests[1],
    /^\/api\/v1\/pods\?resourceVersion=1001&allowWatchBookmarks=true&timeoutSeconds=\d+&watch=1$/,
  );
});

test('adds, changes and deletes arrive through the watch', async (t) => {
  const api = new FakeKubeApi();
  await api.start();
  t.after(() => api.close());
  const run = startDiscovery(sdConfig(api.url));
  t.after(() => run.stop());
  await waitUntil('the watch', () => api.openWatches === 1);

  api.apply(linkerdPod(WEB));
  await waitUntil(
    'the added pod',
    () => run.groups.get('pod/emojivoto/web-5f8d7c9b4d-abcde')?.targets.length === 4,
  );

  api.apply(linkerdPod({ ...WEB, ready: false, labels: { version: 'v2' } }));
  await waitUntil(
    'the change',
    () =>
      run.groups.get('pod/emojivoto/web-5f8d7c9b4d-abcde')?.labels
        .__meta_kubernetes_pod_label_version === 'v2',
  );
  assert.equal(
    run.groups.get('pod/emojivoto/web-5f8d7c9b4d-abcde')!.labels.__meta_kubernetes_pod_ready,
    'false',
  );

  // A pod without an IP yet has no targets; it gets them once scheduled.
  api.apply(linkerdPod({ name: 'vote-bot-7d8f9c6b5a-xyz12', namespace: 'emojivoto', ip: '' }));
  await waitUntil('the pending pod', () =>
    run.groups.has('pod/emojivoto/vote-bot-7d8f9c6b5a-xyz12'),
  );
  assert.deepEqual(run.groups.get('pod/emojivoto/vote-bot-7d8f9c6b5a-xyz12'), {
    source: 'pod/emojivoto/vote-bot-7d8f9c6b5a-xyz12',
    targets: [],
    labels: {},
  });

  assert.equal(api.delete('emojivoto', 'web-5f8d7c9b4d-abcde'), true);
  await waitUntil(
    'the delete',
    () => run.groups.get('pod/emojivoto/web-5f8d7c9b4d-abcde')?.targets.length === 0,
  );
  assert.deepEqual(run.metrics.kubernetesEventsTotal, { add: 2, update: 1, delete: 1 });
  assert.equal(api.requestsMatching(/watch=1/).length, 1, 'one watch served everything');
});

test('a broken watch resumes from the last resourceVersion without listing again', async (t) => {
  const api = new FakeKubeApi();
  await api.start();
  t.after(() => api.close());
  api.apply(linkerdPod(WEB));
  const run = startDiscovery(sdConfig(api.url));
  t.after(() => run.stop());
  await waitUntil('the watch', () => api.openWatches === 1);
  api.apply(linkerdPod({ ...WEB, labels: { version: 'v2' } }));
  await waitUntil(
    'the change',
    () =>
      run.groups.get('pod/emojivoto/web-5f8d7c9b4d-abcde')?.labels
        .__meta_kubernetes_pod_label_version === 'v2',
  );
  const lastSeen = api.resourceVersion;

  assert.equal(api.breakWatches(), 1);
  // Changes made while the client is disconnected are replayed from the history.
  api.apply(
    linkerdPod({ name: 'emoji-6c9f5d8b7a-qwert', namespace: 'emojivoto', ip: '10.42.0.12' }),
  );
  await waitUntil('the replayed add', () => run.groups.has('pod/emojivoto/emoji-6c9f5d8b7a-qwert'));
  assert.equal(api.requestsMatching(/watch=1/).length, 2);
  assert.match(api.requestsMatching(/watch=1/)[1], new RegExp(`resourceVersion=${lastSeen}&`));
  assert.equal(api.requestsMatching(/^\/api\/v1\/pods$/).length, 1, 'no second list');
  assert.ok(run.metrics.kubernetesRequestErrorsTotal >= 1);
});

test('bookmarks advance the resourceVersion the next watch starts from', async (t) => {
  const api = new FakeKubeApi();
  await api.start();
  t.after(() => api.close());
  api.apply(linkerdPod(WEB));
  const run = startDiscovery(sdConfig(api.url, '        namespaces: {names: [other]}\n'));
  t.after(() => run.stop());
  await waitUntil('the watch', () => api.openWatches === 1);
  api.apply(linkerdPod({ name: 'x-1-2', namespace: 'emojivoto', ip: '10.42.0.99' })); // not in "other"
  api.bookmark();
  await new Promise((r) => setTimeout(r, 50));
  api.breakWatches();
  await waitUntil('the second watch', () => api.requestsMatching(/watch=1/).length === 2);
  assert.match(
    api.requestsMatching(/watch=1/)[1],
    /^\/api\/v1\/namespaces\/other\/pods\?resourceVersion=1002&/,
  );
  assert.equal(run.groups.size, 0);
});

test('410 Gone lists again and removes pods deleted in the gap', async (t) => {
  const api = new FakeKubeApi();
  await api.start();
  t.after(() => api.close());
  api.apply(linkerdPod(WEB));
  api.apply(
    linkerdPod({ name: 'emoji-6c9f5d8b7a-qwert', namespace: 'emojivoto', ip: '10.42.0.12' }),
  );
  const run = startDiscovery(sdConfig(api.url));
  t.after(() => run.stop());
  await waitUntil('both pods', () => run.groups.size === 2 && api.openWatches === 1);

  // Break the watch; while it is down, a pod goes away and the history is compacted.
  api.breakWatches();
  api.delete('emojivoto', 'emoji-6c9f5d8b7a-qwert');
  api.apply(
    linkerdPod({ name: 'voting-7b6d5c4f3e-zxcvb', namespace: 'emojivoto', ip: '10.42.0.13' }),
  );
  api.compact();
  await waitUntil('the relist', () => api.requestsMatching(/^\/api\/v1\/pods$/).length === 2);
  await waitUntil(
    'the deletion',
    () => run.groups.get('pod/emojivoto/emoji-6c9f5d8b7a-qwert')?.targets.length === 0,
  );
  await waitUntil(
    'the new pod',
    () => (run.groups.get('pod/emojivoto/voting-7b6d5c4f3e-zxcvb')?.targets.length ?? 0) > 0,
  );
  await waitUntil('the new watch', () => api.openWatches === 1);
  assert.ok(
    api.requestsMatching(/watch=1/).length >= 3,
    'watch, expired watch, watch after the relist',
  );
});

test('namespaces and selectors go to the API', async (t) => {
  const api = new FakeKubeApi();
  await api.start();
  t.after(() => api.close());
  api.apply(linkerdPod(WEB));
  api.apply(
    linkerdPod({ ...WEB, name: 'web-5f8d7c9b4d-fghij', ip: '10.42.0.14', nodeName: 'node-2' }),
  );
  api.apply(
    linkerdPod({ name: 'books-1-2', namespace: 'booksapp', ip: '10.42.1.1', deployment: 'books' }),
  );
  api.apply(
    linkerdPod({
      name: 'prometheus-1-2',
      namespace: 'linkerd-viz',
      ip: '10.42.2.1',
      deployment: 'prometheus',
    }),
  );
  const extra =
    '        namespaces: {names: [emojivoto, booksapp]}\n' +
    '        selectors:\n          - role: pod\n            label: "linkerd.io/control-plane-ns=linkerd,app!=books"\n' +
    '            field: spec.nodeName=node-1\n';
  const run = startDiscovery(sdConfig(api.url, extra));
  t.after(() => run.stop());
  await waitUntil('two watches', () => api.openWatches === 2);
  await new Promise((r) => setTimeout(r, 30));
  assert.deepEqual([...run.groups.keys()], ['pod/emojivoto/web-5f8d7c9b4d-abcde']);
  const lists = api
    .requestsMatching(/^\/api\/v1\/namespaces\/[^/]+\/pods\?labelSelector/)
    .filter((r) => !r.includes('watch=1'));
  assert.deepEqual(lists.sort(), [
    '/api/v1/namespaces/booksapp/pods?labelSelector=linkerd.io%2Fcontrol-plane-ns%3Dlinkerd%2Capp%21%3Dbooks&fieldSelector=spec.nodeName%3Dnode-1',
    '/api/v1/namespaces/emojivoto/pods?labelSelector=linkerd.io%2Fcontrol-plane-ns%3Dlinkerd%2Capp%21%3Dbooks&fieldSelector=spec.nodeName%3Dnode-1',
  ]);
  // A pod moving onto node-1 matches the field selector from then on: it arrives as ADDED.
  api.apply(
    linkerdPod({ ...WEB, name: 'web-5f8d7c9b4d-fghij', ip: '10.42.0.14', nodeName: 'node-1' }),
  );
  await waitUntil('the moved pod', () => run.groups.has('pod/emojivoto/web-5f8d7c9b4d-fghij'));
});

test('a failing API is retried with backoff and counted', async (t) => {
  const api = new FakeKubeApi();
  const url = await api.start();
  await api.close(); // nothing listens there any more
  const run = startDiscovery(sdConfig(url));
  await waitUntil('retries', () => run.metrics.kubernetesRequestErrorsTotal >= 3);
  await run.stop();
  assert.equal(run.groups.size, 0);
  t.diagnostic(`failed requests: ${run.metrics.kubernetesRequestErrorsTotal}`);
});

test('credentials files are read per request, so a rotated token is used', async (t) => {
  const api = new FakeKubeApi();
  await api.start();
  t.after(() => api.close());
  const dir = await mkdtemp(join(tmpdir(), 'mm-k8s-auth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'token'), 'first\n');
  await writeFile(join(dir, 'password'), 's3cret');
  const run = startDiscovery(
    sdConfig(
      api.url,
      `        authorization:\n          credentials_file: ${join(dir, 'token')}\n`,
    ),
  );
  t.after(() => run.stop());
  await waitUntil('the watch', () => api.openWatches === 1);
  assert.equal(api.requestHeaders[0].authorization, 'Bearer first');
  await writeFile(join(dir, 'token'), 'second\n');
  api.breakWatches();
  await waitUntil('the second watch', () => api.requestsMatching(/watch=1/).length === 2);
  assert.equal(api.requestHeaders.at(-1)!.authorization, 'Bearer second');

  const basic = startDiscovery(
    sdConfig(
      api.url,
      `        basic_auth:\n          username: prom\n          password_file: ${join(dir, 'password')}\n`,
    ),
  );
  t.after(() => basic.stop());
  await waitUntil('the basic-auth list', () =>
    api.requestHeaders.some((h) => h.authorization?.startsWith('Basic ')),
  );
  const h = api.requestHeaders.find((x) => x.authorization?.startsWith('Basic '))!;
  assert.equal(Buffer.from(h.authorization!.slice(6), 'base64').toString(), 'prom:s3cret');
});

test('own_namespace reads the service account namespace', async (t) => {
  const api = new FakeKubeApi();
  await api.start();
  t.after(() => api.close());
  const sa = await mkdtemp(join(tmpdir(), 'mm-k8s-sa-'));
  t.after(() => rm(sa, { recursive: true, force: true }));
  await writeFile(join(sa, 'namespace'), 'linkerd-viz');
  const cfg = sdConfig(api.url, '        namespaces: {own_namespace: true}\n');
  const controller = new AbortController();
  const d = new KubernetesDiscoverer(cfg, {
    logger: silentLogger,
    serviceAccountDir: sa,
    retryDelayMs: 10,
  });
  const done = d.run(controller.signal, () => {});
  t.after(async () => {
    controller.abort();
    await done;
  });
  await waitUntil('the list', () => api.requests.length > 0);
  assert.equal(api.requests[0], '/api/v1/namespaces/linkerd-viz/pods');
});

test('in-cluster configuration comes from the environment and the service account', async (t) => {
  const sa = await mkdtemp(join(tmpdir(), 'mm-k8s-sa-'));
  t.after(() => rm(sa, { recursive: true, force: true }));
  await writeFile(join(sa, 'token'), 'sa-token\n');
  await writeFile(
    join(sa, 'ca.crt'),
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  );
  const cfg = loadConfig(
    'scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs: [{role: pod}]\n',
    'k.yml',
  ).scrapeConfigs[0].kubernetesSdConfigs[0];
  const conn = await kubeConnection(
    cfg,
    { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
    sa,
  );
  assert.equal(conn.baseUrl.href, 'https://10.96.0.1/');
  assert.deepEqual(await conn.headers(), { authorization: 'Bearer sa-token' });
  assert.equal(conn.tls.rejectUnauthorized, true);
  assert.match(conn.tls.ca ?? '', /BEGIN CERTIFICATE/);
  const v6 = await kubeConnection(
    cfg,
    { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' },
    sa,
  );
  assert.equal(v6.baseUrl.href, 'https://[fd00::1]:6443/');
  await assert.rejects(
    kubeConnection(cfg, {}, sa),
    /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined/,
  );
});

test('an HTTPS API server is verified against tls_config', async (t) => {
  const openssl = requirePeer(t, 'openssl', 'openssl');
  if (!openssl) return;
  const dir = await mkdtemp(join(tmpdir(), 'mm-k8s-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const gen = spawnSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
    ].concat([
      '-subj',
      '/CN=fake-kube',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ]),
    { encoding: 'utf8' },
  );
  assert.equal(gen.status, 0, gen.stderr);
  const api = new FakeKubeApi();
  await api.start({
    tls: { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') },
  });
  t.after(() => api.close());
  api.apply(linkerdPod(WEB));

  const trusted = startDiscovery(
    sdConfig(api.url, `        tls_config:\n          ca_file: ${cert}\n`),
  );
  t.after(() => trusted.stop());
  await waitUntil('discovery over TLS', () => trusted.groups.size === 1);

  const insecure = startDiscovery(
    sdConfig(api.url, '        tls_config: {insecure_skip_verify: true}\n'),
  );
  t.after(() => insecure.stop());
  await waitUntil('discovery without verification', () => insecure.groups.size === 1);

  const untrusted = startDiscovery(sdConfig(api.url));
  await waitUntil('refused certificate', () => untrusted.metrics.kubernetesRequestErrorsTotal >= 2);
  await untrusted.stop();
  assert.equal(untrusted.groups.size, 0);
});

// ---------------------------------------------------------------------------------------
// The real Prometheus against the same fake API.

// The linkerd-viz `linkerd-proxy` job (reference linkerd-metrics.md §2, job 5).
const PROXY_JOB_RELABEL = `
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_phase]
        action: keep
        regex: (Pending|Running)
      - source_labels: [__meta_kubernetes_pod_container_name, __meta_kubernetes_pod_container_port_name, __meta_kubernetes_pod_label_linkerd_io_control_plane_ns]
        action: keep
        regex: ^linkerd-proxy;linkerd-admin;linkerd$
      - source_labels: [__meta_kubernetes_namespace]
        action: replace
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        action: replace
        target_label: pod
      - source_labels: [__meta_kubernetes_pod_label_linkerd_io_proxy_job]
        action: replace
        target_label: k8s_job
      - action: labeldrop
        regex: __meta_kubernetes_pod_label_linkerd_io_proxy_job
      - action: labelmap
        regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
      - action: labeldrop
        regex: __meta_kubernetes_pod_label_linkerd_io_proxy_(.+)
      - action: labelmap
        regex: __meta_kubernetes_pod_label_linkerd_io_(.+)
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
        replacement: __tmp_pod_label_$1
      - action: labelmap
        regex: __tmp_pod_label_linkerd_io_(.+)
        replacement: __tmp_pod_label_$1
      - action: labeldrop
        regex: __tmp_pod_label_linkerd_io_(.+)
      - action: labelmap
        regex: __tmp_pod_label_(.+)
`;

/** Labels Prometheus adds to discovered labels from the scrape config, not from discovery. */
const SCRAPE_CONFIG_LABELS = new Set([
  'job',
  '__scheme__',
  '__metrics_path__',
  '__scrape_interval__',
  '__scrape_timeout__',
]);

function canonical(ls: Record<string, string>): string {
  const kept = Object.entries(ls).filter(([k]) => !SCRAPE_CONFIG_LABELS.has(k));
  return JSON.stringify(kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The pods both peer comparisons discover: two Linkerd pods and one that has finished. */
async function servePeerComparisonPods(t: TestContext): Promise<FakeKubeApi> {
  const api = new FakeKubeApi();
  await api.start();
  t.after(() => api.close());
  api.apply(linkerdPod(WEB));
  api.apply(
    linkerdPod({
      name: 'emoji-6c9f5d8b7a-qwert',
      namespace: 'emojivoto',
      ip: '10.42.0.12',
      labels: { 'linkerd.io/proxy-job': 'j1' },
    }),
  );
  api.apply(
    linkerdPod({ name: 'done-1-2', namespace: 'emojivoto', ip: '10.42.0.20', phase: 'Succeeded' }),
  );
  return api;
}

/** Every target our discovery produced, as group labels merged with target labels. */
function discoveredLabelSets(groups: Map<string, TargetGroup>): Record<string, string>[] {
  return [...groups.values()].flatMap((g) => g.targets.map((tl) => ({ ...g.labels, ...tl })));
}

type PeerTarget = { discoveredLabels: Record<string, string>; labels?: Record<string, string> };
type PeerTargets = { activeTargets: PeerTarget[]; droppedTargets: PeerTarget[] };

/** Polls a peer's `/api/v1/targets` until it lists as many targets as we expect. */
async function peerTargets(
  peer: string,
  base: string,
  expectedCount: () => number,
  timeoutMs: number,
  log: () => string,
): Promise<PeerTargets> {
  let targets: PeerTargets | null = null;
  await waitUntil(
    `${peer} targets`,
    () => {
      void fetch(`${base}/api/v1/targets`)
        .then((r) => r.json() as Promise<{ data: PeerTargets }>)
        .then((b) => (targets = b.data))
        .catch(() => {});
      const n = targets ? targets.activeTargets.length + targets.droppedTargets.length : 0;
      return n > 0 && n === expectedCount();
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; ${peer} log:\n${log().slice(-2000)}`);
  });
  return targets!;
}

const byInstance = (a: Record<string, string>, b: Record<string, string>) =>
  a.instance < b.instance ? -1 : 1;

/** Our relabeling of our discovered targets: the labels of the targets the job keeps. */
function relabeledActiveTargets(
  groups: Map<string, TargetGroup>,
  job: ScrapeConfig,
): Record<string, string>[] {
  const jobConfig = { ...job, relabel: job.relabelConfigs.compiled };
  return discoveredLabelSets(groups)
    .map((ls) => finishTargetLabels(Labels.from(ls), jobConfig))
    .filter((f) => f.publicLabels !== null)
    .map((f) => f.publicLabels!.toObject())
    .sort(byInstance);
}

test('the real Prometheus discovers the same labels from the same API', async (t) => {
  const prometheus = requirePeer(t, 'prometheus', 'prometheus');
  if (!prometheus) return;
  const dir = await mkdtemp(join(tmpdir(), 'mm-k8s-sd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const api = await servePeerComparisonPods(t);
  const configYaml =
    `global:\n  scrape_interval: 1h\nscrape_configs:\n  - job_name: linkerd-proxy\n` +
    `    kubernetes_sd_configs:\n      - role: pod\n        api_server: ${api.url}\n${PROXY_JOB_RELABEL}`;
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, configYaml);

  // Debian's Prometheus is built without Kubernetes discovery; say so instead of failing obscurely.
  const promtool = spawnSync('promtool', ['check', 'config', configFile], { encoding: 'utf8' });
  if (/field kubernetes_sd_configs not found/.test(promtool.stdout + promtool.stderr)) {
    t.skip(
      `${prometheus} is built without kubernetes_sd_configs (Debian's build leaves it out); cannot compare`,
    );
    return;
  }

  const prom = await startPrometheus(t, prometheus, {
    configFile,
    dataDir: join(dir, 'data'),
  });

  const job = loadConfig(configYaml, configFile).scrapeConfigs[0];
  const ours = startDiscovery(job.kubernetesSdConfigs[0]);
  t.after(() => ours.stop());
  const expected = () => discoveredLabelSets(ours.groups);
  const targets = await peerTargets(
    'Prometheus',
    prom.base,
    () => expected().length,
    30_000,
    prom.stderr,
  );
  const theirs = [...targets.activeTargets, ...targets.droppedTargets]
    .map((x) => canonical(x.discoveredLabels))
    .sort();
  assert.deepEqual(expected().map(canonical).sort(), theirs);
  // Only the linkerd-admin ports of running pods survive the job's relabeling, and our
  // relabeling of our discovered labels gives the labels Prometheus shows.
  const active = targets.activeTargets.map((x) => x.labels!).sort(byInstance);
  assert.deepEqual(
    active.map((l) => l.instance),
    ['10.42.0.11:4191', '10.42.0.12:4191'],
  );
  assert.deepEqual(relabeledActiveTargets(ours.groups, job), active);
});

// VictoriaMetrics' vmagent is an independent implementation of the same discovery (its
// 2023 build predates the container_id and container_image labels, so those are left out).
const VM_MISSING = new Set([
  '__meta_kubernetes_pod_container_id',
  '__meta_kubernetes_pod_container_image',
]);

test('vmagent discovers the same labels from the same API', async (t) => {
  const vmagent = requirePeer(t, 'vmagent', 'victoria-metrics');
  if (!vmagent) return;
  const dir = await mkdtemp(join(tmpdir(), 'mm-k8s-vm-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const api = await servePeerComparisonPods(t);
  api.apply(linkerdPod({ name: 'pending-1-2', namespace: 'emojivoto', ip: '' }));
  const configFile = join(dir, 'vmagent.yml');
  const configYaml =
    `scrape_configs:\n  - job_name: linkerd-proxy\n    scrape_interval: 1h\n` +
    `    kubernetes_sd_configs:\n      - role: pod\n        api_server: ${api.url}\n${PROXY_JOB_RELABEL}`;
  await writeFile(configFile, configYaml);
  const job = loadConfig(configYaml, configFile).scrapeConfigs[0];
  const port = await freePort();
  const agent = watchServer(
    'vmagent',
    spawn(
      vmagent,
      [
        `-promscrape.config=${configFile}`,
        `-httpListenAddr=127.0.0.1:${port}`,
        '-remoteWrite.url=http://127.0.0.1:1/api/v1/write',
        `-remoteWrite.tmpDataPath=${join(dir, 'data')}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    ),
    port,
  );
  t.after(() => agent.stop());
  const ours = startDiscovery(job.kubernetesSdConfigs[0]);
  t.after(() => ours.stop());
  const expected = () =>
    discoveredLabelSets(ours.groups).map((ls) =>
      Object.fromEntries(Object.entries(ls).filter(([k]) => !VM_MISSING.has(k))),
    );
  const targets = await peerTargets(
    'vmagent',
    `http://127.0.0.1:${port}`,
    () => expected().length,
    20_000,
    agent.stderr,
  );
  const theirs = [...targets.activeTargets, ...targets.droppedTargets]
    .map((x) => canonical(x.discoveredLabels))
    .sort();
  assert.deepEqual(expected().map(canonical).sort(), theirs);
  // The linkerd-proxy job keeps only the linkerd-admin port of running pods, and maps the labels:
  // our relabeling of our discovered labels gives what vmagent shows.
  const active = targets.activeTargets.map((x) => x.labels!).sort(byInstance);
  assert.deepEqual(relabeledActiveTargets(ours.groups, job), active);
  assert.deepEqual(active, [
    {
      instance: '10.42.0.11:4191',
      job: 'linkerd-proxy',
      namespace: 'emojivoto',
      pod: 'web-5f8d7c9b4d-abcde',
      deployment: 'web',
      control_plane_ns: 'linkerd',
      workload_ns: 'emojivoto',
      app: 'web',
      pod_template_hash: '5f8d7c9b4d',
    },
    {
      instance: '10.42.0.12:4191',
      job: 'linkerd-proxy',
      namespace: 'emojivoto',
      pod: 'emoji-6c9f5d8b7a-qwert',
      k8s_job: 'j1',
      deployment: 'emoji',
      control_plane_ns: 'linkerd',
      workload_ns: 'emojivoto',
      app: 'emoji',
      pod_template_hash: '5f8d7c9b4d',
    },
  ]);
});

/**
 * The collector's configuration: the part of Prometheus's `prometheus.yml` a collector
 * uses, read with positions so every error names file, line, column and key, and
 * returned as typed objects with every default applied.
 * @module
 */

import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { isValidLabelName } from '../model/index.js';
import { compileRelabelConfig } from '../relabel/index.js';
import type { CompiledRelabelConfig, RelabelConfig } from '../relabel/index.js';
import {
  FILE_SD_DEFAULTS,
  GLOBAL_DEFAULTS,
  HTTP_CLIENT_DEFAULTS,
  METADATA_DEFAULTS,
  QUEUE_DEFAULTS,
  REMOTE_WRITE_DEFAULTS,
  SCRAPE_DEFAULTS,
} from './defaults.js';
import { ConfigFileError, readYaml } from './yaml-reader.js';
import type { YamlObject, YamlValue } from './yaml-reader.js';

// ---------------------------------------------------------------------------------------
// Types

/** A relabel rule exactly as written in YAML (the shape `src/relabel` compiles). */
export type RawRelabelConfig = RelabelConfig;

/** A relabel list: the rules as written, compiled, and where each one is. */
export interface RelabelList {
  rules: RawRelabelConfig[];
  /** The validated, compiled rules, ready for `relabel()`. */
  compiled: CompiledRelabelConfig[];
  /** `file:line:column: key.path` of each rule, same order as `rules`. */
  where: string[];
}

/** `tls_config`. Empty strings mean unset. */
export interface TlsConfig {
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: string;
  cert: string;
  key: string;
  serverName: string;
  insecureSkipVerify: boolean;
  /** `TLS10` … `TLS13`, or '' for Go's default. */
  minVersion: string;
}

/** `basic_auth`. */
export interface BasicAuth {
  username: string;
  password: string;
  passwordFile: string;
}

/** `authorization`; the legacy `bearer_token(_file)` are folded into it. */
export interface Authorization {
  type: string;
  credentials: string;
  credentialsFile: string;
}

/** The HTTP client settings shared by scrape configs, remote_write and kubernetes SD. */
export interface HttpClientConfig {
  basicAuth: BasicAuth | null;
  authorization: Authorization | null;
  tlsConfig: TlsConfig;
  proxyUrl: string;
  followRedirects: boolean;
  enableHttp2: boolean;
}

/** One `static_configs` entry. */
export interface StaticConfig {
  targets: string[];
  labels: Record<string, string>;
}

/** One `file_sd_configs` entry. */
export interface FileSdConfig {
  files: string[];
  refreshIntervalMs: number;
}

/** A `selectors` entry of kubernetes SD. */
export interface KubernetesSelector {
  role: string;
  label: string;
  field: string;
}

/** One `kubernetes_sd_configs` entry. */
export interface KubernetesSdConfig {
  /** Every role is accepted; discovery implements `pod` and reports the others as unsupported. */
  role: string;
  /** '' means in-cluster configuration. */
  apiServer: string;
  namespaces: { ownNamespace: boolean; names: string[] };
  selectors: KubernetesSelector[];
  httpClient: HttpClientConfig;
}

/** One `scrape_configs` entry, defaults applied. */
export interface ScrapeConfig {
  jobName: string;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  metricsPath: string;
  scheme: string;
  params: Record<string, string[]>;
  honorLabels: boolean;
  honorTimestamps: boolean;
  httpClient: HttpClientConfig;
  sampleLimit: number;
  targetLimit: number;
  labelLimit: number;
  labelNameLengthLimit: number;
  labelValueLengthLimit: number;
  bodySizeLimitBytes: number;
  staticConfigs: StaticConfig[];
  fileSdConfigs: FileSdConfig[];
  kubernetesSdConfigs: KubernetesSdConfig[];
  relabelConfigs: RelabelList;
  metricRelabelConfigs: RelabelList;
}

/** `remote_write[].queue_config`. */
export interface QueueConfig {
  capacity: number;
  maxShards: number;
  minShards: number;
  maxSamplesPerSend: number;
  batchSendDeadlineMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  retryOnHttp429: boolean;
}

/** One `remote_write` entry. */
export interface RemoteWriteConfig {
  url: string;
  name: string;
  remoteTimeoutMs: number;
  headers: Record<string, string>;
  writeRelabelConfigs: RelabelList;
  sendExemplars: boolean;
  sendNativeHistograms: boolean;
  queueConfig: QueueConfig;
  metadataConfig: { send: boolean; sendIntervalMs: number; maxSamplesPerSend: number };
  httpClient: HttpClientConfig;
}

/** `global`. */
export interface GlobalConfig {
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  evaluationIntervalMs: number;
  externalLabels: Record<string, string>;
  queryLogFile: string;
}

/** A whole configuration file. */
export interface Config {
  /** The file it was read from (as given). */
  file: string;
  global: GlobalConfig;
  /** Accepted for compatibility; the collector does not evaluate rules. */
  ruleFiles: string[];
  scrapeConfigs: ScrapeConfig[];
  remoteWrite: RemoteWriteConfig[];
  /** Keys accepted but ignored, with their positions. */
  warnings: string[];
}

// ---------------------------------------------------------------------------------------
// Loading

/** Resolves a path of the file against the file's directory, as Prometheus's SetDirectory does. */
function inDir(v: YamlObject, p: string): string {
  return p === '' || isAbsolute(p) ? p : join(dirname(v.value.ctx.file), p);
}

/** Reads and validates a configuration file. Throws ConfigFileError. */
export async function loadConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigFileError(path, 0, 0, '', `cannot read config file: ${(err as Error).message}`);
  }
  return loadConfig(text, path);
}

const TOP_KEYS = [
  'global',
  'scrape_configs',
  'remote_write',
  'rule_files',
  'alerting',
  'remote_read',
  'storage',
  'tracing',
  'scrape_config_files',
];

/** Validates configuration `text`; `file` names it in errors. Throws ConfigFileError. */
export function loadConfig(text: string, file: string): Config {
  const { root, ctx } = readYaml(text, file);
  const top = root.map(TOP_KEYS);
  for (const ignored of ['alerting', 'remote_read', 'storage', 'tracing']) {
    if (top.has(ignored)) top.get(ignored).warn('accepted but ignored by the collector');
  }
  if (top.has('scrape_config_files'))
    top.fail('scrape_config_files', 'not supported (Prometheus 2.43+)');
  const global = readGlobal(top.get('global'));
  const ruleFiles = top.stringList('rule_files').map((p) => inDir(top, p));
  if (ruleFiles.length > 0)
    top.get('rule_files').warn('rule files are accepted but not evaluated by the collector');

  const scrapeConfigs: ScrapeConfig[] = [];
  const jobs = new Set<string>();
  for (const v of top.get('scrape_configs').seq()) {
    if (v.isNull()) v.fail('empty or null scrape config section');
    const sc = readScrapeConfig(v, global);
    if (jobs.has(sc.jobName))
      v.map(SCRAPE_KEYS).fail(
        'job_name',
        `found multiple scrape configs with job name "${sc.jobName}"`,
      );
    jobs.add(sc.jobName);
    scrapeConfigs.push(sc);
  }

  const remoteWrite: RemoteWriteConfig[] = [];
  const rwNames = new Set<string>();
  for (const v of top.get('remote_write').seq()) {
    if (v.isNull()) v.fail('empty or null remote write config section');
    const rw = readRemoteWrite(v);
    if (rw.name !== '') {
      if (rwNames.has(rw.name))
        v.map(REMOTE_WRITE_KEYS).fail(
          'name',
          `found multiple remote write configs with job name "${rw.name}"`,
        );
      rwNames.add(rw.name);
    }
    remoteWrite.push(rw);
  }
  return { file, global, ruleFiles, scrapeConfigs, remoteWrite, warnings: ctx.warnings };
}

function readGlobal(v: YamlValue): GlobalConfig {
  const g = v.map([
    'scrape_interval',
    'scrape_timeout',
    'evaluation_interval',
    'external_labels',
    'query_log_file',
  ]);
  const scrapeIntervalMs = g.duration('scrape_interval', GLOBAL_DEFAULTS.scrapeIntervalMs);
  let scrapeTimeoutMs = g.duration('scrape_timeout', 0);
  if (scrapeTimeoutMs > scrapeIntervalMs)
    g.fail('scrape_timeout', 'global scrape timeout greater than scrape interval');
  if (scrapeTimeoutMs === 0)
    scrapeTimeoutMs = Math.min(GLOBAL_DEFAULTS.scrapeTimeoutMs, scrapeIntervalMs);
  const externalLabels = g.stringMap('external_labels');
  for (const name of Object.keys(externalLabels)) {
    if (!isValidLabelName(name)) g.fail('external_labels', `"${name}" is not a valid label name`);
  }
  return {
    scrapeIntervalMs,
    scrapeTimeoutMs,
    evaluationIntervalMs: g.duration('evaluation_interval', GLOBAL_DEFAULTS.evaluationIntervalMs),
    externalLabels,
    queryLogFile: g.str('query_log_file', ''),
  };
}

const HTTP_CLIENT_KEYS = [
  'basic_auth',
  'authorization',
  'oauth2',
  'bearer_token',
  'bearer_token_file',
  'tls_config',
  'proxy_url',
  'follow_redirects',
  'enable_http2',
];

const SD_KEYS_UNSUPPORTED = [
  'azure_sd_configs',
  'consul_sd_configs',
  'digitalocean_sd_configs',
  'docker_sd_configs',
  'dockerswarm_sd_configs',
  'dns_sd_configs',
  'ec2_sd_configs',
  'eureka_sd_configs',
  'gce_sd_configs',
  'hetzner_sd_configs',
  'http_sd_configs',
  'ionos_sd_configs',
  'kuma_sd_configs',
  'lightsail_sd_configs',
  'linode_sd_configs',
  'marathon_sd_configs',
  'nerve_sd_configs',
  'nomad_sd_configs',
  'openstack_sd_configs',
  'ovhcloud_sd_configs',
  'puppetdb_sd_configs',
  'scaleway_sd_configs',
  'serverset_sd_configs',
  'triton_sd_configs',
  'uyuni_sd_configs',
  'vultr_sd_configs',
];

const SCRAPE_KEYS = [
  'job_name',
  'scrape_interval',
  'scrape_timeout',
  'metrics_path',
  'scheme',
  'params',
  'honor_labels',
  'honor_timestamps',
  'sample_limit',
  'target_limit',
  'label_limit',
  'label_name_length_limit',
  'label_value_length_limit',
  'body_size_limit',
  'static_configs',
  'file_sd_configs',
  'kubernetes_sd_configs',
  'relabel_configs',
  'metric_relabel_configs',
  ...HTTP_CLIENT_KEYS,
  ...SD_KEYS_UNSUPPORTED,
];

function readScrapeConfig(v: YamlValue, global: GlobalConfig): ScrapeConfig {
  const m = v.map(SCRAPE_KEYS);
  for (const k of SD_KEYS_UNSUPPORTED) {
    if (m.has(k))
      m.fail(k, 'service discovery not supported by meshmetrics (static, file and kubernetes are)');
  }
  const jobName = m.str('job_name', '');
  if (jobName === '') m.fail('job_name', 'job_name is empty');

  const scrapeIntervalMs = m.duration('scrape_interval', global.scrapeIntervalMs);
  let scrapeTimeoutMs = m.duration('scrape_timeout', 0);
  if (scrapeTimeoutMs > scrapeIntervalMs) {
    m.fail(
      'scrape_timeout',
      `scrape timeout greater than scrape interval for scrape config with job name "${jobName}"`,
    );
  }
  if (scrapeTimeoutMs === 0) scrapeTimeoutMs = Math.min(global.scrapeTimeoutMs, scrapeIntervalMs);

  // 2.42 accepts any scheme here; a target with an unusable one fails when scraped.
  const scheme = m.str('scheme', SCRAPE_DEFAULTS.scheme);

  const params: Record<string, string[]> = {};
  const pm = m.get('params');
  if (!pm.isNull()) {
    const names = Object.keys(pm.toJS() as object);
    const obj = pm.map(names);
    for (const n of names) params[n] = obj.stringList(n);
  }

  return {
    jobName,
    scrapeIntervalMs,
    scrapeTimeoutMs,
    metricsPath: m.str('metrics_path', SCRAPE_DEFAULTS.metricsPath),
    scheme,
    params,
    honorLabels: m.bool('honor_labels', SCRAPE_DEFAULTS.honorLabels),
    honorTimestamps: m.bool('honor_timestamps', SCRAPE_DEFAULTS.honorTimestamps),
    httpClient: readHttpClient(m),
    sampleLimit: m.uint('sample_limit', SCRAPE_DEFAULTS.sampleLimit),
    targetLimit: m.uint('target_limit', SCRAPE_DEFAULTS.targetLimit),
    labelLimit: m.uint('label_limit', SCRAPE_DEFAULTS.labelLimit),
    labelNameLengthLimit: m.uint('label_name_length_limit', SCRAPE_DEFAULTS.labelNameLengthLimit),
    labelValueLengthLimit: m.uint(
      'label_value_length_limit',
      SCRAPE_DEFAULTS.labelValueLengthLimit,
    ),
    bodySizeLimitBytes: m.bytes('body_size_limit', SCRAPE_DEFAULTS.bodySizeLimitBytes),
    staticConfigs: sdSection(m, 'static_configs').map(readStaticConfig),
    fileSdConfigs: sdSection(m, 'file_sd_configs').map(readFileSdConfig),
    kubernetesSdConfigs: sdSection(m, 'kubernetes_sd_configs').map(readKubernetesSdConfig),
    relabelConfigs: readRelabelList(m.get('relabel_configs')),
    metricRelabelConfigs: readRelabelList(m.get('metric_relabel_configs')),
  };
}

/** The entries of a service-discovery list; a null entry is Prometheus's "empty or null section". */
function sdSection(m: YamlObject, key: string): YamlValue[] {
  const items = m.get(key).seq();
  for (const it of items) if (it.isNull()) it.fail(`empty or null section in ${key}`);
  return items;
}

/** Reads the inline HTTP client keys of `m` and applies prometheus/common's checks. */
function readHttpClient(m: YamlObject): HttpClientConfig {
  if (m.has('oauth2')) m.fail('oauth2', 'oauth2 is not supported by meshmetrics');
  let basicAuth: BasicAuth | null = null;
  if (m.has('basic_auth')) {
    const b = m.get('basic_auth').map(['username', 'username_file', 'password', 'password_file']);
    if (b.has('username_file'))
      b.fail('username_file', 'username_file is not supported (prometheus/common 0.42+)');
    basicAuth = {
      username: b.str('username', ''),
      password: b.str('password', ''),
      passwordFile: inDir(b, b.str('password_file', '')),
    };
    if (basicAuth.password !== '' && basicAuth.passwordFile !== '') {
      b.fail(
        'password_file',
        'at most one of basic_auth password & password_file must be configured',
      );
    }
  }
  let authorization: Authorization | null = null;
  if (m.has('authorization')) {
    const a = m.get('authorization').map(['type', 'credentials', 'credentials_file']);
    const type = a.str('type', '') || HTTP_CLIENT_DEFAULTS.authorizationType;
    if (type.toLowerCase() === 'basic')
      a.fail('type', 'authorization type cannot be set to "basic", use "basic_auth" instead');
    authorization = {
      type,
      credentials: a.str('credentials', ''),
      credentialsFile: inDir(a, a.str('credentials_file', '')),
    };
    if (authorization.credentials !== '' && authorization.credentialsFile !== '') {
      a.fail(
        'credentials_file',
        'at most one of authorization credentials & credentials_file must be configured',
      );
    }
  }
  const bearerToken = m.str('bearer_token', '');
  const bearerTokenFile = m.str('bearer_token_file', '');
  if (bearerToken !== '' && bearerTokenFile !== '') {
    m.fail(
      'bearer_token_file',
      'at most one of bearer_token & bearer_token_file must be configured',
    );
  }
  if ((bearerToken !== '' || bearerTokenFile !== '') && basicAuth !== null) {
    m.fail(
      'basic_auth',
      'at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured',
    );
  }
  if (authorization !== null && (bearerToken !== '' || bearerTokenFile !== '')) {
    m.fail(
      'authorization',
      'authorization is not compatible with bearer_token & bearer_token_file',
    );
  }
  if (authorization !== null && basicAuth !== null) {
    m.fail('authorization', 'at most one of basic_auth, oauth2 & authorization must be configured');
  }
  if (bearerToken !== '' || bearerTokenFile !== '') {
    authorization = {
      type: HTTP_CLIENT_DEFAULTS.authorizationType,
      credentials: bearerToken,
      credentialsFile: inDir(m, bearerTokenFile),
    };
  }
  const proxyUrl = m.str('proxy_url', '');
  if (proxyUrl !== '' && !URL.canParse(proxyUrl))
    m.fail('proxy_url', `invalid proxy URL "${proxyUrl}"`);
  return {
    basicAuth,
    authorization,
    tlsConfig: readTlsConfig(m.get('tls_config')),
    proxyUrl,
    followRedirects: m.bool('follow_redirects', HTTP_CLIENT_DEFAULTS.followRedirects),
    enableHttp2: m.bool('enable_http2', HTTP_CLIENT_DEFAULTS.enableHttp2),
  };
}

const TLS_VERSIONS = ['TLS10', 'TLS11', 'TLS12', 'TLS13'];

function readTlsConfig(v: YamlValue): TlsConfig {
  const t = v.map([
    'ca_file',
    'cert_file',
    'key_file',
    'ca',
    'cert',
    'key',
    'server_name',
    'insecure_skip_verify',
    'min_version',
  ]);
  const tls: TlsConfig = {
    caFile: inDir(t, t.str('ca_file', '')),
    certFile: inDir(t, t.str('cert_file', '')),
    keyFile: inDir(t, t.str('key_file', '')),
    ca: t.str('ca', ''),
    cert: t.str('cert', ''),
    key: t.str('key', ''),
    serverName: t.str('server_name', ''),
    insecureSkipVerify: t.bool('insecure_skip_verify', false),
    minVersion: t.str('min_version', ''),
  };
  if (tls.minVersion !== '' && !TLS_VERSIONS.includes(tls.minVersion))
    t.fail('min_version', `unknown TLS version: ${tls.minVersion}`);
  if (tls.ca !== '' && tls.caFile !== '')
    t.fail('ca', 'at most one of ca and ca_file must be configured');
  if (tls.cert !== '' && tls.certFile !== '')
    t.fail('cert', 'at most one of cert and cert_file must be configured');
  if (tls.key !== '' && tls.keyFile !== '')
    t.fail('key', 'at most one of key and key_file must be configured');
  // A certificate without its key loads in 2.42 (the client fails later); `check config`
  // reports it as promtool does.
  return tls;
}

function readStaticConfig(v: YamlValue): StaticConfig {
  const s = v.map(['targets', 'labels']);
  const labels = s.stringMap('labels');
  for (const name of Object.keys(labels)) {
    if (!isValidLabelName(name)) s.get('labels').fail(`"${name}" is not a valid label name`);
  }
  return { targets: s.stringList('targets'), labels };
}

// discovery/file: a glob is allowed only in the last path element.
const FILE_SD_PATTERN = /^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$/;

function readFileSdConfig(v: YamlValue): FileSdConfig {
  const f = v.map(['files', 'refresh_interval']);
  const files = f.stringList('files');
  if (files.length === 0)
    f.failHere('file service discovery config must contain at least one path name');
  const list = f.get('files').seq();
  files.forEach((name, i) => {
    if (!FILE_SD_PATTERN.test(name))
      list[i].fail(`path name "${name}" is not valid for file discovery`);
  });
  return {
    files: files.map((p) => inDir(f, p)),
    refreshIntervalMs: f.duration('refresh_interval', FILE_SD_DEFAULTS.refreshIntervalMs),
  };
}

const K8S_ROLES = ['pod', 'service', 'endpoints', 'endpointslice', 'node', 'ingress'];

// Which selector roles each discovery role accepts (discovery/kubernetes SDConfig.UnmarshalYAML).
const SELECTOR_ROLES: Record<string, string[]> = {
  pod: ['pod'],
  service: ['service'],
  node: ['node'],
  ingress: ['ingress'],
  endpoints: ['pod', 'service', 'endpoints'],
  endpointslice: ['pod', 'service', 'endpointslice'],
};

function readKubernetesSdConfig(v: YamlValue): KubernetesSdConfig {
  const k = v.map([
    'role',
    'api_server',
    'kubeconfig_file',
    'namespaces',
    'selectors',
    'attach_metadata',
    ...HTTP_CLIENT_KEYS,
  ]);
  const role = k.str('role', '');
  if (role === '') k.failHere(`role missing (one of: ${K8S_ROLES.join(', ')})`);
  if (!K8S_ROLES.includes(role)) k.fail('role', `unknown Kubernetes SD role "${role}"`);
  if (k.str('kubeconfig_file', '') !== '')
    k.fail('kubeconfig_file', 'kubeconfig_file is not supported by meshmetrics; use api_server');
  if (k.has('attach_metadata')) k.get('attach_metadata').warn('accepted but ignored (role pod)');
  const apiServer = k.str('api_server', '');
  if (apiServer !== '' && !URL.canParse(apiServer))
    k.fail('api_server', `invalid URL "${apiServer}"`);
  const httpClient = readHttpClient(k);
  const customClient =
    httpClient.basicAuth !== null ||
    httpClient.authorization !== null ||
    httpClient.proxyUrl !== '' ||
    Object.values(httpClient.tlsConfig).some((x) => x !== '' && x !== false);
  if (apiServer === '' && customClient) {
    k.failHere(
      "to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
    );
  }
  const ns = k.get('namespaces').map(['own_namespace', 'names']);
  const selectors: KubernetesSelector[] = [];
  const seenRoles = new Set<string>();
  for (const sv of k.get('selectors').seq()) {
    const s = sv.map(['role', 'label', 'field']);
    const sel = { role: s.str('role', ''), label: s.str('label', ''), field: s.str('field', '') };
    if (!K8S_ROLES.includes(sel.role)) s.fail('role', `invalid selector role "${sel.role}"`);
    const allowed = SELECTOR_ROLES[role];
    if (!allowed.includes(sel.role))
      s.fail('role', `${role} role supports only ${allowed.join(', ')} selectors`);
    if (seenRoles.has(sel.role)) s.fail('role', `duplicated selector role: ${sel.role}`);
    seenRoles.add(sel.role);
    selectors.push(sel);
  }
  return {
    role,
    apiServer,
    namespaces: { ownNamespace: ns.bool('own_namespace', false), names: ns.stringList('names') },
    selectors,
    httpClient,
  };
}

const RELABEL_KEYS = [
  'source_labels',
  'separator',
  'target_label',
  'regex',
  'modulus',
  'replacement',
  'action',
];

/** Reads each relabel rule, checks its shape, and compiles it with `src/relabel`. */
function readRelabelList(v: YamlValue): RelabelList {
  const rules: RawRelabelConfig[] = [];
  const compiled: CompiledRelabelConfig[] = [];
  const where: string[] = [];
  for (const rv of v.seq()) {
    if (rv.isNull()) rv.fail('empty or null relabeling rule');
    const r = rv.map(RELABEL_KEYS);
    const rule: { -readonly [K in keyof RawRelabelConfig]: RawRelabelConfig[K] } = {};
    if (r.has('source_labels')) rule.source_labels = r.stringList('source_labels');
    for (const key of ['separator', 'target_label', 'regex', 'replacement', 'action'] as const) {
      const s = r.optStr(key);
      if (s !== null) rule[key] = s;
    }
    if (r.has('modulus')) rule.modulus = r.uint('modulus', 0);
    try {
      compiled.push(compileRelabelConfig(rule));
    } catch (err) {
      rv.fail(err instanceof Error ? err.message : String(err));
    }
    const pos = rv.ctx.lineCounter.linePos(rv.offset);
    rules.push(rule);
    where.push(`${rv.ctx.file}:${pos.line}:${pos.col}: ${rv.path}`);
  }
  return { rules, compiled, where };
}

const REMOTE_WRITE_KEYS = [
  'url',
  'name',
  'remote_timeout',
  'headers',
  'write_relabel_configs',
  'send_exemplars',
  'send_native_histograms',
  'queue_config',
  'metadata_config',
  'sigv4',
  'azuread',
  ...HTTP_CLIENT_KEYS,
];

// Headers the remote-write protocol sets itself (storage/remote: reservedHeaders).
const RESERVED_HEADERS = [
  'host',
  'content-encoding',
  'content-length',
  'content-type',
  'user-agent',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'www-authenticate',
  'accept-encoding',
  'x-prometheus-remote-write-version',
  'x-prometheus-remote-read-version',
];

function readRemoteWrite(v: YamlValue): RemoteWriteConfig {
  const r = v.map(REMOTE_WRITE_KEYS);
  for (const k of ['sigv4', 'azuread'])
    if (r.has(k)) r.fail(k, `${k} is not supported by meshmetrics`);
  const url = r.str('url', '');
  if (url === '') r.failHere('url for remote_write is empty');
  // Anything Go's url.Parse takes is accepted, as 2.42 does; the sender reports bad URLs.
  const headers = r.stringMap('headers');
  for (const h of Object.keys(headers)) {
    if (h.toLowerCase() === 'authorization') {
      r.fail(
        'headers',
        'authorization header must be changed via the basic_auth, authorization, oauth2, or sigv4 parameter',
      );
    }
    if (RESERVED_HEADERS.includes(h.toLowerCase()))
      r.fail('headers', `${h} is a reserved header. It must not be changed`);
  }
  const q = r
    .get('queue_config')
    .map([
      'capacity',
      'max_shards',
      'min_shards',
      'max_samples_per_send',
      'batch_send_deadline',
      'min_backoff',
      'max_backoff',
      'retry_on_http_429',
    ]);
  const md = r.get('metadata_config').map(['send', 'send_interval', 'max_samples_per_send']);
  return {
    url,
    name: r.str('name', ''),
    remoteTimeoutMs: r.duration('remote_timeout', REMOTE_WRITE_DEFAULTS.remoteTimeoutMs),
    headers,
    writeRelabelConfigs: readRelabelList(r.get('write_relabel_configs')),
    sendExemplars: r.bool('send_exemplars', REMOTE_WRITE_DEFAULTS.sendExemplars),
    sendNativeHistograms: r.bool(
      'send_native_histograms',
      REMOTE_WRITE_DEFAULTS.sendNativeHistograms,
    ),
    queueConfig: {
      capacity: q.uint('capacity', QUEUE_DEFAULTS.capacity),
      maxShards: q.uint('max_shards', QUEUE_DEFAULTS.maxShards),
      minShards: q.uint('min_shards', QUEUE_DEFAULTS.minShards),
      maxSamplesPerSend: q.uint('max_samples_per_send', QUEUE_DEFAULTS.maxSamplesPerSend),
      batchSendDeadlineMs: q.duration('batch_send_deadline', QUEUE_DEFAULTS.batchSendDeadlineMs),
      minBackoffMs: q.duration('min_backoff', QUEUE_DEFAULTS.minBackoffMs),
      maxBackoffMs: q.duration('max_backoff', QUEUE_DEFAULTS.maxBackoffMs),
      retryOnHttp429: q.bool('retry_on_http_429', QUEUE_DEFAULTS.retryOnHttp429),
    },
    metadataConfig: {
      send: md.bool('send', METADATA_DEFAULTS.send),
      sendIntervalMs: md.duration('send_interval', METADATA_DEFAULTS.sendIntervalMs),
      maxSamplesPerSend: md.uint('max_samples_per_send', METADATA_DEFAULTS.maxSamplesPerSend),
    },
    httpClient: readHttpClient(r),
  };
}

/**
 * Renders a loaded configuration the way Prometheus 2.42 prints it at
 * `/api/v1/status/config`: every default filled in, Go struct field order, secrets as
 * `<secret>`, and go-yaml v2's scalar quoting. Checked byte for byte against output
 * captured from Prometheus 2.42 (testdata/status-config*.golden.yml).
 * @module
 */

import type {
  Config,
  HttpClientConfig,
  KubernetesSdConfig,
  RelabelList,
  RemoteWriteConfig,
  ScrapeConfig,
  TlsConfig,
} from './config.js';
import { formatDuration } from '../model/duration.js';

const SECRET = '<secret>';

// go-yaml v2 resolves these plain scalars to non-strings, so strings equal to them are double-quoted.
const NON_STRINGS = new Set(
  'y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF ~ null Null NULL .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF .nan .NaN .NAN <<'.split(
    ' ',
  ),
);
const NUMBER_RE =
  /^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$/;
const TIMESTAMP_RE = /^\d{4}-\d\d?-\d\d?(?:[Tt ]|$)/;

/** True for characters go-yaml will not write plain or single-quoted (controls). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function resolvesToNonString(s: string): boolean {
  return s === '' || NON_STRINGS.has(s) || NUMBER_RE.test(s) || TIMESTAMP_RE.test(s);
}

/** Whether go-yaml's emitter may write `s` plain in block (or flow) context. */
function plainAllowed(s: string, flow: boolean): boolean {
  if (/^\s|\s$/.test(s) || hasControl(s)) return false;
  let flowInd = false;
  let blockInd = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const followedBySpace = i + 1 >= s.length || s[i + 1] === ' ';
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) flowInd = blockInd = true;
      else if (c === '?' || c === ':') {
        flowInd = true;
        if (followedBySpace) blockInd = true;
      } else if (c === '-' && followedBySpace) flowInd = blockInd = true;
    } else if (',?[]{}'.includes(c)) {
      flowInd = true;
    } else if (c === ':') {
      flowInd = true;
      if (followedBySpace) blockInd = true;
    } else if (c === '#' && s[i - 1] === ' ') {
      flowInd = blockInd = true;
    }
  }
  return flow ? !flowInd : !blockInd;
}

/** A string scalar as go-yaml v2 writes it. */
export function yamlString(s: string, flow = false): string {
  if (resolvesToNonString(s) || hasControl(s)) return JSON.stringify(s);
  if (plainAllowed(s, flow)) return s;
  return `'${s.replace(/'/g, "''")}'`;
}

/** Base-2 byte size as alecthomas/units prints it (`10MiB`, `1KiB512B`). */
export function formatBase2Bytes(n: number): string {
  const prefixes = ['', 'K', 'M', 'G', 'T', 'P', 'E'];
  const parts: string[] = [];
  let rest = n;
  for (let i = 0; i < prefixes.length; i++) {
    const r = rest % 1024;
    if (r !== 0 || (i === 0 && rest === 0))
      parts.unshift(`${r}${prefixes[i]}${i === 0 ? 'B' : 'iB'}`);
    rest = Math.floor(rest / 1024);
    if (rest === 0) break;
  }
  return parts.join('');
}

// Go's tls.VersionTLS1x constants; 2.42 prints the number.
const TLS_VERSION_NUMBERS: Record<string, number> = {
  TLS10: 769,
  TLS11: 770,
  TLS12: 771,
  TLS13: 772,
};

/** Collects lines with two-space indentation, sequences at their parent's indent. */
class Out {
  readonly lines: string[] = [];
  line(indent: number, text: string): void {
    this.lines.push(' '.repeat(indent) + text);
  }
  scalar(indent: number, key: string, value: string): void {
    this.line(indent, `${key}: ${value}`);
  }
  str(indent: number, key: string, value: string, omitEmpty = true): void {
    if (omitEmpty && value === '') return;
    this.scalar(indent, key, yamlString(value));
  }
  list(indent: number, key: string, items: readonly string[]): void {
    if (items.length === 0) return;
    this.line(indent, `${key}:`);
    for (const it of items) this.line(indent, `- ${yamlString(it)}`);
  }
  map(indent: number, key: string, m: Record<string, string>): void {
    const keys = Object.keys(m).sort();
    if (keys.length === 0) return;
    this.line(indent, `${key}:`);
    for (const k of keys) this.scalar(indent + 2, yamlString(k), yamlString(m[k]));
  }
}

function tlsIsEmpty(t: TlsConfig): boolean {
  return Object.values(t).every((v) => v === '' || v === false);
}

function writeHttpClient(o: Out, ind: number, h: HttpClientConfig): void {
  if (h.basicAuth) {
    o.line(ind, 'basic_auth:');
    o.str(ind + 2, 'username', h.basicAuth.username);
    if (h.basicAuth.password !== '') o.scalar(ind + 2, 'password', SECRET);
    o.str(ind + 2, 'password_file', h.basicAuth.passwordFile);
  }
  if (h.authorization) {
    o.line(ind, 'authorization:');
    o.str(ind + 2, 'type', h.authorization.type);
    if (h.authorization.credentials !== '') o.scalar(ind + 2, 'credentials', SECRET);
    o.str(ind + 2, 'credentials_file', h.authorization.credentialsFile);
  }
  o.str(ind, 'proxy_url', h.proxyUrl);
  const t = h.tlsConfig;
  if (!tlsIsEmpty(t)) {
    o.line(ind, 'tls_config:');
    o.str(ind + 2, 'ca', t.ca);
    o.str(ind + 2, 'cert', t.cert);
    if (t.key !== '') o.scalar(ind + 2, 'key', SECRET);
    o.str(ind + 2, 'ca_file', t.caFile);
    o.str(ind + 2, 'cert_file', t.certFile);
    o.str(ind + 2, 'key_file', t.keyFile);
    o.str(ind + 2, 'server_name', t.serverName);
    o.scalar(ind + 2, 'insecure_skip_verify', String(t.insecureSkipVerify));
    if (t.minVersion !== '')
      o.scalar(ind + 2, 'min_version', String(TLS_VERSION_NUMBERS[t.minVersion]));
  }
  o.scalar(ind, 'follow_redirects', String(h.followRedirects));
  o.scalar(ind, 'enable_http2', String(h.enableHttp2));
}

function writeRelabel(o: Out, ind: number, key: string, list: RelabelList): void {
  if (list.rules.length === 0) return;
  o.line(ind, `${key}:`);
  for (const r of list.rules) {
    const fields: string[] = [];
    if (r.source_labels && r.source_labels.length > 0) {
      fields.push(`source_labels: [${r.source_labels.map((s) => yamlString(s, true)).join(', ')}]`);
    }
    fields.push(`separator: ${yamlString(r.separator ?? ';')}`);
    const regex = r.regex ?? '(.*)';
    fields.push(`regex: ${regex === '' ? 'null' : yamlString(regex)}`);
    if (r.modulus) fields.push(`modulus: ${r.modulus}`);
    if (r.target_label) fields.push(`target_label: ${yamlString(r.target_label)}`);
    const replacement = r.replacement ?? '$1';
    if (replacement !== '') fields.push(`replacement: ${yamlString(replacement)}`);
    fields.push(`action: ${yamlString((r.action ?? 'replace').toLowerCase())}`);
    fields.forEach((f, i) => o.line(ind, `${i === 0 ? '- ' : '  '}${f}`));
  }
}

function writeKubernetesSd(o: Out, ind: number, k: KubernetesSdConfig): void {
  // Go struct order: api_server (omitempty), role, kubeconfig_file, the HTTP client, namespaces, selectors.
  if (k.apiServer !== '') {
    o.line(ind, `- api_server: ${yamlString(k.apiServer)}`);
    o.scalar(ind + 2, 'role', yamlString(k.role));
  } else {
    o.line(ind, `- role: ${yamlString(k.role)}`);
  }
  o.scalar(ind + 2, 'kubeconfig_file', '""');
  writeHttpClient(o, ind + 2, k.httpClient);
  if (k.namespaces.ownNamespace || k.namespaces.names.length > 0) {
    o.line(ind + 2, 'namespaces:');
    o.scalar(ind + 4, 'own_namespace', String(k.namespaces.ownNamespace));
    if (k.namespaces.names.length > 0) o.list(ind + 4, 'names', k.namespaces.names);
    else o.scalar(ind + 4, 'names', '[]');
  }
  if (k.selectors.length > 0) {
    o.line(ind + 2, 'selectors:');
    for (const s of k.selectors) {
      o.line(ind + 2, `- role: ${yamlString(s.role)}`);
      o.str(ind + 4, 'label', s.label);
      o.str(ind + 4, 'field', s.field);
    }
  }
}

function writeScrapeConfig(o: Out, sc: ScrapeConfig): void {
  o.line(0, `- job_name: ${yamlString(sc.jobName)}`);
  const i = 2;
  if (sc.honorLabels) o.scalar(i, 'honor_labels', 'true');
  o.scalar(i, 'honor_timestamps', String(sc.honorTimestamps));
  const params = Object.keys(sc.params).sort();
  if (params.length > 0) {
    o.line(i, 'params:');
    for (const p of params) o.list(i + 2, yamlString(p), sc.params[p]);
  }
  o.scalar(i, 'scrape_interval', formatDuration(sc.scrapeIntervalMs));
  o.scalar(i, 'scrape_timeout', formatDuration(sc.scrapeTimeoutMs));
  o.str(i, 'metrics_path', sc.metricsPath);
  o.str(i, 'scheme', sc.scheme);
  if (sc.bodySizeLimitBytes > 0)
    o.scalar(i, 'body_size_limit', formatBase2Bytes(sc.bodySizeLimitBytes));
  const limits: Array<[string, number]> = [
    ['sample_limit', sc.sampleLimit],
    ['target_limit', sc.targetLimit],
    ['label_limit', sc.labelLimit],
    ['label_name_length_limit', sc.labelNameLengthLimit],
    ['label_value_length_limit', sc.labelValueLengthLimit],
  ];
  for (const [k, v] of limits) if (v > 0) o.scalar(i, k, String(v));
  writeHttpClient(o, i, sc.httpClient);
  writeRelabel(o, i, 'relabel_configs', sc.relabelConfigs);
  writeRelabel(o, i, 'metric_relabel_configs', sc.metricRelabelConfigs);
  if (sc.fileSdConfigs.length > 0) {
    o.line(i, 'file_sd_configs:');
    for (const f of sc.fileSdConfigs) {
      o.line(i, '- files:');
      for (const file of f.files) o.line(i + 2, `- ${yamlString(file)}`);
      o.scalar(i + 2, 'refresh_interval', formatDuration(f.refreshIntervalMs));
    }
  }
  if (sc.kubernetesSdConfigs.length > 0) {
    o.line(i, 'kubernetes_sd_configs:');
    for (const k of sc.kubernetesSdConfigs) writeKubernetesSd(o, i, k);
  }
  if (sc.staticConfigs.length > 0) {
    o.line(i, 'static_configs:');
    for (const s of sc.staticConfigs) {
      o.line(i, '- targets:');
      for (const t of s.targets) o.line(i + 2, `- ${yamlString(t)}`);
      o.map(i + 2, 'labels', s.labels);
    }
  }
}

function writeRemoteWrite(o: Out, rw: RemoteWriteConfig): void {
  const i = 2;
  o.line(0, `- url: ${yamlString(rw.url)}`);
  o.scalar(i, 'remote_timeout', formatDuration(rw.remoteTimeoutMs));
  o.map(i, 'headers', rw.headers);
  writeRelabel(o, i, 'write_relabel_configs', rw.writeRelabelConfigs);
  o.str(i, 'name', rw.name);
  if (rw.sendExemplars) o.scalar(i, 'send_exemplars', 'true');
  if (rw.sendNativeHistograms) o.scalar(i, 'send_native_histograms', 'true');
  writeHttpClient(o, i, rw.httpClient);
  const q = rw.queueConfig;
  o.line(i, 'queue_config:');
  o.scalar(i + 2, 'capacity', String(q.capacity));
  o.scalar(i + 2, 'max_shards', String(q.maxShards));
  o.scalar(i + 2, 'min_shards', String(q.minShards));
  o.scalar(i + 2, 'max_samples_per_send', String(q.maxSamplesPerSend));
  o.scalar(i + 2, 'batch_send_deadline', formatDuration(q.batchSendDeadlineMs));
  o.scalar(i + 2, 'min_backoff', formatDuration(q.minBackoffMs));
  o.scalar(i + 2, 'max_backoff', formatDuration(q.maxBackoffMs));
  if (q.retryOnHttp429) o.scalar(i + 2, 'retry_on_http_429', 'true');
  const m = rw.metadataConfig;
  o.line(i, 'metadata_config:');
  o.scalar(i + 2, 'send', String(m.send));
  o.scalar(i + 2, 'send_interval', formatDuration(m.sendIntervalMs));
  o.scalar(i + 2, 'max_samples_per_send', String(m.maxSamplesPerSend));
}

/** The YAML Prometheus 2.42 serves at `/api/v1/status/config` for this configuration. */
export function marshalConfig(cfg: Config): string {
  const o = new Out();
  const g = cfg.global;
  o.line(0, 'global:');
  o.scalar(2, 'scrape_interval', formatDuration(g.scrapeIntervalMs));
  o.scalar(2, 'scrape_timeout', formatDuration(g.scrapeTimeoutMs));
  o.scalar(2, 'evaluation_interval', formatDuration(g.evaluationIntervalMs));
  o.str(2, 'query_log_file', g.queryLogFile);
  o.map(2, 'external_labels', g.externalLabels);
  o.list(0, 'rule_files', cfg.ruleFiles);
  if (cfg.scrapeConfigs.length > 0) {
    o.line(0, 'scrape_configs:');
    for (const sc of cfg.scrapeConfigs) writeScrapeConfig(o, sc);
  }
  if (cfg.remoteWrite.length > 0) {
    o.line(0, 'remote_write:');
    for (const rw of cfg.remoteWrite) writeRemoteWrite(o, rw);
  }
  return o.lines.join('\n') + '\n';
}

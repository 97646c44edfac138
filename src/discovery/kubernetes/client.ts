/**
 * A minimal Kubernetes API client for pod list and watch: in-cluster service-account
 * configuration or an explicit `api_server` with basic_auth / authorization / tls_config.
 * @module
 */

import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HttpClientConfig, KubernetesSdConfig } from '../../config/index.js';
import { SERVICE_ACCOUNT_DIR } from '../../config/index.js';
import { PromError } from '../../model/index.js';
import type { PodList, Status, WatchEvent } from './types.js';

/** A failed API request; `status` is the HTTP status (0 for network errors). */
export class KubeApiError extends PromError {
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super('ERR_KUBERNETES_API', message, options);
    this.name = 'KubeApiError';
    this.status = status;
  }
}

/** Where and how to reach the API server. */
export interface KubeConnection {
  baseUrl: URL;
  /** Called per request, so rotated tokens and password files are picked up. */
  headers: () => Promise<Record<string, string>>;
  tls: {
    ca?: string;
    cert?: string;
    key?: string;
    rejectUnauthorized: boolean;
    servername?: string;
  };
}

async function readTrimmed(path: string): Promise<string> {
  return (await readFile(path, 'utf8')).trim();
}

function authHeaders(http: HttpClientConfig): () => Promise<Record<string, string>> {
  return async () => {
    const h: Record<string, string> = {};
    if (http.basicAuth) {
      const pw = http.basicAuth.passwordFile
        ? await readTrimmed(http.basicAuth.passwordFile)
        : http.basicAuth.password;
      h.authorization = `Basic ${Buffer.from(`${http.basicAuth.username}:${pw}`).toString('base64')}`;
    } else if (http.authorization) {
      const a = http.authorization;
      const cred = a.credentialsFile ? await readTrimmed(a.credentialsFile) : a.credentials;
      if (cred !== '') h.authorization = `${a.type} ${cred}`;
    }
    return h;
  };
}

/**
 * Builds the connection of a kubernetes_sd_config. Without `api_server` it uses the
 * in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT and the service account's
 * token and CA under `saDir`.
 */
export async function kubeConnection(
  cfg: KubernetesSdConfig,
  env: NodeJS.ProcessEnv = process.env,
  saDir: string = SERVICE_ACCOUNT_DIR,
): Promise<KubeConnection> {
  if (cfg.apiServer !== '') {
    const t = cfg.httpClient.tlsConfig;
    return {
      baseUrl: new URL(cfg.apiServer),
      headers: authHeaders(cfg.httpClient),
      tls: {
        ca: t.caFile ? await readFile(t.caFile, 'utf8') : t.ca || undefined,
        cert: t.certFile ? await readFile(t.certFile, 'utf8') : t.cert || undefined,
        key: t.keyFile ? await readFile(t.keyFile, 'utf8') : t.key || undefined,
        rejectUnauthorized: !t.insecureSkipVerify,
        servername: t.serverName || undefined,
      },
    };
  }
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new KubeApiError(
      0,
      'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined',
    );
  }
  const tokenFile = join(saDir, 'token');
  return {
    baseUrl: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`),
    headers: async () => ({ authorization: `Bearer ${await readTrimmed(tokenFile)}` }),
    tls: { ca: await readFile(join(saDir, 'ca.crt'), 'utf8'), rejectUnauthorized: true },
  };
}

/** Issues GET requests to the API; one instance per discoverer. */
export class KubeClient {
  private readonly conn: KubeConnection;

  constructor(conn: KubeConnection) {
    this.conn = conn;
  }

  private async get(
    path: string,
    query: Record<string, string>,
    signal: AbortSignal,
  ): Promise<IncomingMessage> {
    const url = new URL(path, this.conn.baseUrl);
    for (const [k, v] of Object.entries(query)) if (v !== '') url.searchParams.set(k, v);
    const headers = {
      accept: 'application/json',
      'user-agent': 'meshmetrics/discovery',
      ...(await this.conn.headers()),
    };
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        { method: 'GET', headers, signal, ...(https ? this.conn.tls : {}) },
        resolve,
      );
      req.on('error', (err) =>
        reject(new KubeApiError(0, `GET ${url.pathname}: ${err.message}`, { cause: err })),
      );
      req.end();
    });
  }

  private static async body(res: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private static async failure(res: IncomingMessage, what: string): Promise<KubeApiError> {
    const text = await KubeClient.body(res);
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as Status).message ?? message;
    } catch {
      // not a Status object
    }
    return new KubeApiError(res.statusCode ?? 0, `${what}: ${res.statusCode} ${message}`);
  }

  /** Lists pods under `path` (`/api/v1/pods` or `/api/v1/namespaces/<ns>/pods`). */
  async list(path: string, query: Record<string, string>, signal: AbortSignal): Promise<PodList> {
    const res = await this.get(path, query, signal);
    if (res.statusCode !== 200) throw await KubeClient.failure(res, `list ${path}`);
    return JSON.parse(await KubeClient.body(res)) as PodList;
  }

  /**
   * Watches `path` from `resourceVersion`, calling `onEvent` per line of the stream;
   * `onEvent` returns false to stop watching. Resolves when the server ends the stream
   * or `onEvent` stops it; rejects on HTTP errors or a broken stream.
   */
  async watch(
    path: string,
    query: Record<string, string>,
    signal: AbortSignal,
    onEvent: (ev: WatchEvent) => boolean,
  ): Promise<void> {
    const res = await this.get(path, { ...query, watch: '1' }, signal);
    if (res.statusCode !== 200) throw await KubeClient.failure(res, `watch ${path}`);
    let buf = '';
    try {
      for await (const chunk of res) {
        buf += (chunk as Buffer).toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line !== '' && !onEvent(JSON.parse(line) as WatchEvent)) {
            res.destroy();
            return;
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw new KubeApiError(0, `watch ${path}: stream broken: ${(err as Error).message}`, {
        cause: err,
      });
    }
    // A stream cut mid-response ends without error on some Node versions; treat it as broken.
    if (!res.complete && !signal.aborted) throw new KubeApiError(0, `watch ${path}: stream broken`);
    if (buf.trim() !== '') onEvent(JSON.parse(buf) as WatchEvent);
  }
}

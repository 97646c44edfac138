/**
 * The label sets of the proxy's families, in Linkerd's emit order
 * (reference/linkerd-metrics.md §1.2, §1.5): endpoint labels (`direction`, `authority`,
 * `target_addr`, `target_ip`, `target_port`, TLS labels, then `srv_*`/`route_*`/`authz_*`
 * inbound or `dst_*` outbound), and the transport label sets with `peer`.
 *
 * Each label set is built once per distinct endpoint and cached with its key (the values
 * joined by NUL), so recording a request only concatenates a few strings onto the key.
 * @module
 */

import type { LabelPairs } from './metrics.js';

/** Traffic direction, the `direction` label. */
export type Direction = 'inbound' | 'outbound';

/**
 * TLS labels of a plain-text mesh (no identity here). Accept side (inbound server):
 * `tls="no_identity",no_tls_reason="no_tls_from_remote"`; connect side (outbound client):
 * `no_tls_reason="not_provided_by_service_discovery"`; the proxy's own loopback hops
 * (app → outbound listener, inbound proxy → app): `no_tls_reason="loopback"`.
 */
export const TLS_INBOUND_ACCEPT: LabelPairs = [
  'tls',
  'no_identity',
  'no_tls_reason',
  'no_tls_from_remote',
];
export const TLS_OUTBOUND_CONNECT: LabelPairs = [
  'tls',
  'no_identity',
  'no_tls_reason',
  'not_provided_by_service_discovery',
];
export const TLS_LOOPBACK: LabelPairs = ['tls', 'no_identity', 'no_tls_reason', 'loopback'];

/** The server labels of Linkerd's default inbound server policy (`all-unauthenticated`). */
export const DEFAULT_SERVER: LabelPairs = [
  'srv_group',
  '',
  'srv_kind',
  'default',
  'srv_name',
  'all-unauthenticated',
];
/** The route and authorization labels that follow `srv_*` on inbound HTTP families. */
export const DEFAULT_ROUTE_AUTHZ: LabelPairs = [
  'route_group',
  '',
  'route_kind',
  'default',
  'route_name',
  'default',
  'authz_group',
  '',
  'authz_kind',
  'default',
  'authz_name',
  'all-unauthenticated',
];

/**
 * A label set plus its cache key; keys of longer sets are this key plus suffixes. A set is
 * retired when eviction left no series under its key; holders must then get a fresh one
 * from {@link LabelSets.make} (recording under a retired key could duplicate a series).
 */
export class LabelSet {
  readonly key: string;
  readonly pairs: LabelPairs;
  retired: boolean;
  constructor(key: string, pairs: LabelPairs) {
    this.key = key;
    this.pairs = pairs;
    this.retired = false;
  }
}

/** Splits `host:port` / `[v6]:port` into ip and port strings (port '' when absent). */
export function splitHostPort(addr: string): { host: string; port: string } {
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end > 0)
      return {
        host: addr.slice(1, end),
        port: addr.charCodeAt(end + 1) === 0x3a ? addr.slice(end + 2) : '',
      };
  }
  const colon = addr.lastIndexOf(':');
  if (colon < 0 || addr.indexOf(':') !== colon) return { host: addr, port: '' };
  return { host: addr.slice(0, colon), port: addr.slice(colon + 1) };
}

/** Joins host and port, bracketing IPv6 literals. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Builds and caches label sets, leaving out the labels named in `dropLabels`
 * (`--metrics.drop-labels`), so that sets differing only in a dropped label share a series.
 */
export class LabelSets {
  private readonly drop: ReadonlySet<string>;
  private readonly cache = new Map<string, LabelSet>();
  /**
   * Label-set text to its set. Entries whose key has no series left are removed by
   * {@link retain}; ids come from a counter, so an id is never reused for other labels.
   */
  private readonly ids = new Map<string, LabelSet>();
  private nextId = 0;
  /** Bound on cached label sets; the cache is cleared (not the series) when it is passed. */
  private readonly maxCached: number;

  constructor(dropLabels: Iterable<string> = [], maxCached = 50_000) {
    this.drop = new Set(dropLabels);
    this.maxCached = maxCached;
  }

  /** Number of label sets with an id (live ones, after {@link retain}). */
  get size(): number {
    return this.ids.size;
  }

  /**
   * Makes a label set from pairs, dropping the configured labels. Its key is a short id
   * interned from the values, so keys of derived series (`key + status`) stay short and
   * cheap to hash; equal label sets get the same key while any series uses it.
   */
  make(pairs: LabelPairs): LabelSet {
    const out: string[] = [];
    let full = '';
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      if (this.drop.has(pairs[i])) continue;
      out.push(pairs[i], pairs[i + 1]);
      full += pairs[i] + '\u0000' + pairs[i + 1] + '\u0000';
    }
    let s = this.ids.get(full);
    if (s === undefined) {
      s = new LabelSet((this.nextId++).toString(36) + '\u0000', out);
      this.ids.set(full, s);
    }
    return s;
  }

  /** The cached label set for `cacheKey`, built by `build` on a miss. */
  cached(cacheKey: string, build: () => LabelPairs): LabelSet {
    let s = this.cache.get(cacheKey);
    if (s === undefined || s.retired) {
      if (this.cache.size >= this.maxCached) this.cache.clear();
      s = this.make(build());
      this.cache.set(cacheKey, s);
    }
    return s;
  }

  /**
   * Forgets (and retires) every label set whose key is not in `liveKeys`, the keys still
   * used by some series; called after idle series were evicted. Returns how many went.
   */
  retain(liveKeys: ReadonlySet<string>): number {
    let n = 0;
    for (const [full, s] of this.ids) {
      if (liveKeys.has(s.key)) continue;
      s.retired = true;
      this.ids.delete(full);
      n++;
    }
    if (n > 0) for (const [k, s] of this.cache) if (s.retired) this.cache.delete(k);
    return n;
  }
}

/** The label-set key a series key starts with (up to and including the first NUL). */
export function labelSetKeyOf(seriesKey: string): string {
  const nul = seriesKey.indexOf('\u0000');
  return nul < 0 ? seriesKey : seriesKey.slice(0, nul + 1);
}

/** The target labels of an address: `target_addr`, `target_ip`, `target_port`. */
export function targetLabels(targetAddr: string): string[] {
  const { host, port } = splitHostPort(targetAddr);
  return ['target_addr', targetAddr, 'target_ip', host, 'target_port', port];
}

/** Inbound HTTP endpoint labels: the server's view of a request to the local app. */
export function inboundEndpointPairs(authority: string, targetAddr: string): LabelPairs {
  return [
    'direction',
    'inbound',
    'authority',
    authority,
    ...targetLabels(targetAddr),
    ...TLS_INBOUND_ACCEPT,
    ...DEFAULT_SERVER,
    ...DEFAULT_ROUTE_AUTHZ,
  ];
}

/** Outbound HTTP endpoint labels: the client's view of a call to another service. */
export function outboundEndpointPairs(
  authority: string,
  targetAddr: string,
  dstLabels: LabelPairs,
): LabelPairs {
  return [
    'direction',
    'outbound',
    'authority',
    authority,
    ...targetLabels(targetAddr),
    ...TLS_OUTBOUND_CONNECT,
    ...dstLabels,
  ];
}

/** Transport labels of an accepted connection (`peer="src"`). */
export function acceptPairs(direction: Direction, localAddr: string): LabelPairs {
  const base = ['direction', direction, 'peer', 'src', ...targetLabels(localAddr)];
  return direction === 'inbound'
    ? [...base, ...TLS_INBOUND_ACCEPT, ...DEFAULT_SERVER]
    : [...base, ...TLS_LOOPBACK];
}

/** Transport labels of a connection the proxy opened (`peer="dst"`). */
export function connectPairs(
  direction: Direction,
  authority: string,
  targetAddr: string,
  dstLabels: LabelPairs,
): LabelPairs {
  if (direction === 'inbound')
    return ['direction', 'inbound', 'peer', 'dst', ...targetLabels(targetAddr), ...TLS_LOOPBACK];
  return [
    'direction',
    'outbound',
    'peer',
    'dst',
    'authority',
    authority,
    ...targetLabels(targetAddr),
    ...TLS_OUTBOUND_CONNECT,
    ...dstLabels,
  ];
}

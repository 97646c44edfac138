/**
 * The destination registry (`--destinations FILE`): what Linkerd's destination controller
 * tells a proxy about a service. A JSON or YAML mapping from an authority (`host:port`) or a
 * bare host to where to connect and which `dst_*` labels to attach:
 *
 * ```yaml
 * web.demo.svc.cluster.local:8080:
 *   address: 127.0.0.1:4143          # optional; default: the authority itself
 *   labels:                          # written with a dst_ prefix, sorted by name
 *     namespace: demo
 *     deployment: web
 *     service: web
 * ```
 * @module
 */

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../model/errors.js';
import { isValidLabelName } from '../model/labels.js';
import type { LabelPairs } from './metrics.js';

/** Where an authority resolves to. */
export interface Destination {
  /** `host:port` to connect to. */
  readonly address: string;
  /** `dst_*` label pairs, sorted by name. */
  readonly labels: LabelPairs;
}

/** Lookup of authorities; unknown ones connect to themselves with no dst labels. */
export class Destinations {
  private readonly byAuthority: Map<string, Destination>;

  constructor(entries: Map<string, Destination> = new Map()) {
    this.byAuthority = entries;
  }

  /** Resolves `host:port`: exact entry, then the bare host (keeping the port), then itself. */
  resolve(authority: string, host: string, port: string): Destination {
    const d = this.byAuthority.get(authority) ?? this.byAuthority.get(host);
    if (d === undefined) return { address: authority, labels: [] };
    return d.address ? d : { address: port ? authority : host, labels: d.labels };
  }

  get size(): number {
    return this.byAuthority.size;
  }

  /** Parses a registry document (JSON is YAML); `file` names the source in errors. */
  static parse(text: string, file = '<destinations>'): Destinations {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (err) {
      throw new ConfigError(`${file}: cannot parse destinations: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (doc === null || doc === undefined) return new Destinations();
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      throw new ConfigError(`${file}: destinations must be a mapping of authority to destination`);
    }
    const entries = new Map<string, Destination>();
    for (const [authority, raw] of Object.entries(doc as Record<string, unknown>)) {
      const where = `${file}: destination ${JSON.stringify(authority)}`;
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        throw new ConfigError(`${where}: must be a mapping`);
      const entry = raw as Record<string, unknown>;
      for (const k of Object.keys(entry)) {
        if (k !== 'address' && k !== 'labels')
          throw new ConfigError(`${where}: unknown field ${JSON.stringify(k)}`);
      }
      const address = entry.address ?? '';
      if (typeof address !== 'string') throw new ConfigError(`${where}: address must be a string`);
      const labelsRaw = entry.labels ?? {};
      if (labelsRaw === null || typeof labelsRaw !== 'object' || Array.isArray(labelsRaw)) {
        throw new ConfigError(`${where}: labels must be a mapping`);
      }
      const names: [string, string][] = [];
      for (const [k, v] of Object.entries(labelsRaw as Record<string, unknown>)) {
        const name = k.startsWith('dst_') ? k : 'dst_' + k;
        if (!isValidLabelName(name))
          throw new ConfigError(`${where}: invalid label name ${JSON.stringify(name)}`);
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          throw new ConfigError(`${where}: label ${name} must be a scalar`);
        }
        names.push([name, String(v)]);
      }
      names.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      entries.set(authority, { address, labels: names.flat() });
    }
    return new Destinations(entries);
  }

  /** Reads and parses a registry file. */
  static load(file: string): Destinations {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read destinations file ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return Destinations.parse(text, file);
  }
}

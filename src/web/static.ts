/**
 * The dashboard's files (built by Vite into `dist/dashboard`), served at `/`. They are read
 * once, on the first request, and kept in memory with their gzip form: the whole app is a
 * few hundred kilobytes. Hashed assets are cached for a year; `index.html` is revalidated so
 * a new build is picked up.
 * @module
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Where the build puts the dashboard: `<package>/dist/dashboard`, from src/web or dist/web. */
export const DEFAULT_DASHBOARD_DIR = resolve(import.meta.dirname, '..', '..', 'dist', 'dashboard');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

interface StaticFile {
  body: Buffer;
  gzipped: Buffer | null;
  contentType: string;
  etag: string;
  immutable: boolean;
}

/** The dashboard's files by URL path (`/index.html`, `/assets/index-abc.js`). */
export class DashboardFiles {
  private files: Map<string, StaticFile> | null = null;
  private readonly dir: string;

  constructor(dir: string = DEFAULT_DASHBOARD_DIR) {
    this.dir = dir;
  }

  /** Loads every file under the directory; an empty map when it was never built. */
  private load(): Map<string, StaticFile> {
    const files = new Map<string, StaticFile>();
    const walk = (d: string): void => {
      let names: string[];
      try {
        names = readdirSync(d);
      } catch {
        return;
      }
      for (const name of names) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) {
          walk(p);
          continue;
        }
        const body = readFileSync(p);
        const urlPath = '/' + relative(this.dir, p).split(sep).join('/');
        const ext = extname(name);
        const compressible = ext !== '.png' && ext !== '.woff2' && body.length > 512;
        files.set(urlPath, {
          body,
          gzipped: compressible ? gzipSync(body) : null,
          contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream',
          etag: `"${body.length.toString(16)}-${statSync(p).mtimeMs.toString(16)}"`,
          immutable: urlPath.startsWith('/assets/'),
        });
      }
    };
    walk(this.dir);
    return files;
  }

  /**
   * Answers a GET or HEAD for `path` when it is one of the dashboard's files (`/` is
   * `index.html`) and returns true; returns false to let the caller answer 404.
   */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    this.files ??= this.load();
    const file = this.files.get(path === '/' ? '/index.html' : path);
    if (file === undefined) {
      if (path === '/' && this.files.size === 0) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end(`The dashboard is not built (no ${this.dir}): run \`npm run build\`.\n`);
        return true;
      }
      return false;
    }
    const headers: Record<string, string> = {
      'Content-Type': file.contentType,
      ETag: file.etag,
      'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      Vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    const gzip = file.gzipped !== null && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
    const body = gzip ? file.gzipped! : file.body;
    if (gzip) headers['Content-Encoding'] = 'gzip';
    headers['Content-Length'] = String(body.length);
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}

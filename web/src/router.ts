/**
 * Hash routing (`#/targets`, `#/workload/demo/web?range=1h`): the collector serves one
 * `index.html` at `/`, and no route can collide with `/metrics`, `/federate` or `/api`.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** Path segments after `#/`, decoded: `['workload', 'demo', 'web']`. */
  segments: string[];
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  return {
    segments: path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent),
    params: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
  };
}

/** The link to a route. */
export function href(segments: string[], params?: Record<string, string>): string {
  const qs = params ? new URLSearchParams(params).toString() : '';
  return `#/${segments.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
}

/** Replaces the query part of the current route without adding a history entry. */
export function replaceParams(params: Record<string, string>): void {
  const r = parseHash(window.location.hash);
  history.replaceState(null, '', href(r.segments, { ...Object.fromEntries(r.params), ...params }));
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

/**
 * The states a page shows besides its data: loading, failed (with the API's message and the
 * request that failed, as a curl command to repeat it), empty (what is missing and why), and a
 * thin banner when a refresh fails while older data stays on screen.
 */
import type { ComponentChildren } from 'preact';
import { ApiError, curlOf } from '../api.js';

/** A loading placeholder: a line of text, or `rows` grey bars shaped like a table. */
export function Loading({ what = 'data', rows = 0 }: { what?: string; rows?: number }) {
  if (rows <= 0) return <div class="state loading">Loading {what}…</div>;
  return (
    <div class="skeleton" aria-busy="true" aria-label={`Loading ${what}`}>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} class="skeleton-row" />
      ))}
    </div>
  );
}

/** The curl command that repeats a failed request (`ApiError.request` is path and query). */
export function curlOfRequest(request: string): string {
  const q = request.indexOf('?');
  const path = q < 0 ? request : request.slice(0, q);
  const params: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(q < 0 ? '' : request.slice(q + 1)))
    (params[k] ??= []).push(v);
  return curlOf(path, params);
}

/** A failure: what the API said, and the request to try by hand. */
export function ErrorState({ error, title }: { error: Error; title?: string }) {
  const api = error instanceof ApiError ? error : null;
  return (
    <div class="state error" role="alert">
      <div class="state-title">{title ?? 'The request failed'}</div>
      <div class="error-message">
        {api && api.errorType !== 'http' && api.errorType !== 'network' ? (
          <span class="tag">{api.errorType}</span>
        ) : null}{' '}
        {error.message}
      </div>
      {api ? (
        <div class="error-request">
          <div class="muted">Request:</div>
          <pre class="mono">{curlOfRequest(api.request)}</pre>
        </div>
      ) : null}
    </div>
  );
}

/** Nothing to show yet: a headline and why. */
export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state empty">
      <div class="state-title">{title}</div>
      {children ? <div class="state-why">{children}</div> : null}
    </div>
  );
}

/** Shown above data kept from an earlier refresh when the latest one failed. */
export function StaleBanner({ error }: { error: Error | undefined }) {
  if (error === undefined) return null;
  const api = error instanceof ApiError ? error : null;
  return (
    <div class="banner warn" role="status">
      Refresh failed, showing older data: {error.message}
      {api ? <code class="banner-request">{api.request}</code> : null}
    </div>
  );
}

/**
 * Data loading for pages: runs `load` now and every `intervalMs`, keeps the last good data while
 * a refresh is in flight (no flicker), aborts what a page no longer needs, and reports errors.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Polled<T> {
  /** The last successful answer; kept while refreshing and after a later failure. */
  data: T | undefined;
  /** The last failure, cleared by the next success. */
  error: Error | undefined;
  /** True until the first answer (success or failure). */
  loading: boolean;
  /** When `data` was loaded (ms since the epoch). */
  updatedAt?: number;
}

/** The refresh interval for every page, in ms. */
export const REFRESH_MS = 10_000;

export function usePoll<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  intervalMs: number = REFRESH_MS,
): Polled<T> {
  const [state, setState] = useState<Polled<T>>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let ac = new AbortController();
    let stopped = false;
    setState((s) => ({ ...s, loading: s.data === undefined }));
    const run = async () => {
      ac.abort();
      ac = new AbortController();
      try {
        const data = await loadRef.current(ac.signal);
        if (!stopped) setState({ data, error: undefined, loading: false, updatedAt: Date.now() });
      } catch (e) {
        if ((e as Error).name === 'AbortError' || stopped) return;
        setState((s) => ({ ...s, error: e as Error, loading: false }));
      }
    };
    void run();
    const timer = intervalMs > 0 ? setInterval(() => void run(), intervalMs) : undefined;
    return () => {
      stopped = true;
      ac.abort();
      if (timer !== undefined) clearInterval(timer);
    };
  }, [...deps, intervalMs]);
  return state;
}

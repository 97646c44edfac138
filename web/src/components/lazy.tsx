/**
 * A page loaded on first visit (a separate chunk), so the editor and its grammar (most of the
 * bundle) are fetched only by the pages that use them and the workloads page opens fast.
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorState, Loading } from './states.js';

/** Wraps `load` (a dynamic import) into a component that shows "loading…" until it arrives. */
export function lazyPage<P extends object>(
  what: string,
  load: () => Promise<ComponentType<P>>,
): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  return function LazyPage(props: P) {
    const [Page, setPage] = useState<ComponentType<P> | null>(() => loaded);
    const [error, setError] = useState<Error | null>(null);
    useEffect(() => {
      if (Page !== null) return;
      let live = true;
      load().then(
        (c) => {
          loaded = c;
          if (live) setPage(() => c);
        },
        (e: Error) => live && setError(e),
      );
      return () => {
        live = false;
      };
    }, []);
    if (error !== null) return <ErrorState error={error} title={`Cannot load the ${what} page`} />;
    if (Page === null) return <Loading what={`the ${what} page`} />;
    return <Page {...props} />;
  };
}

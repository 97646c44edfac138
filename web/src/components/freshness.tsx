/** "Updated 4s ago": how old the data on screen is, so a quiet refresh is still visible. */
import { formatSeconds } from './format.js';
import { useNow } from './use-now.js';
import { REFRESH_MS } from '../poll.js';

export function Freshness({ updatedAt, failed }: { updatedAt?: number; failed?: boolean }) {
  const now = useNow(1000);
  if (updatedAt === undefined) return null;
  const age = Math.max(0, Math.round((now - updatedAt) / 1000));
  return (
    <span
      class={`freshness ${failed ? 'stale' : ''}`}
      title={`Refreshed every ${REFRESH_MS / 1000}s`}
    >
      <span class={`live-dot ${failed ? 'stale' : ''}`} />
      {age < 1 ? 'Updated just now' : `Updated ${formatSeconds(age)} ago`}
    </span>
  );
}

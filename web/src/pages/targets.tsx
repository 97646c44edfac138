/**
 * Targets (`#/targets?unhealthy=1&q=books`): every active scrape target of `/api/v1/targets`,
 * grouped by scrape pool, with health, labels, last error, last scrape and its duration;
 * groups collapse and show up/total; service discovery's dropped targets sit in a collapsed
 * section of their own with their discovered labels.
 */
import { useMemo, useState } from 'preact/hooks';
import { api, type ActiveTarget, type TargetsResult } from '../api.js';
import { usePoll } from '../poll.js';
import { replaceParams } from '../router.js';
import { formatAgo, formatSeconds } from '../components/format.js';
import { Freshness } from '../components/freshness.js';
import { HealthDot, HealthPill } from '../components/health.js';
import { EmptyState, ErrorState, Loading, StaleBanner } from '../components/states.js';
import { useNow } from '../components/use-now.js';

/** Does a target match the text filter (URL, labels, error)? */
export function targetMatches(t: ActiveTarget, needle: string): boolean {
  if (needle === '') return true;
  const hay = [
    t.scrapeUrl,
    t.scrapePool,
    t.lastError,
    t.health,
    ...Object.entries(t.labels).map(([k, v]) => `${k}=${v}`),
  ]
    .join('\n')
    .toLowerCase();
  return hay.includes(needle);
}

interface Pool {
  name: string;
  all: ActiveTarget[];
  shown: ActiveTarget[];
}

function Labels({ labels, skip = [] }: { labels: Record<string, string>; skip?: string[] }) {
  return (
    <>
      {Object.entries(labels)
        .filter(([k]) => !skip.includes(k))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => (
          <span key={k} class="label-chip">
            {k}="{v}"
          </span>
        ))}
    </>
  );
}

export function TargetsPage({ params }: { params: URLSearchParams }) {
  const unhealthyOnly = params.get('unhealthy') === '1';
  const text = params.get('q') ?? '';
  const targets = usePoll((signal) => api.targets(signal), []);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [showDropped, setShowDropped] = useState(false);
  const now = useNow(1000);

  const pools = useMemo((): Pool[] => {
    const d: TargetsResult | undefined = targets.data;
    if (d === undefined) return [];
    const needle = text.trim().toLowerCase();
    const byPool = new Map<string, Pool>();
    for (const t of d.activeTargets) {
      let p = byPool.get(t.scrapePool);
      if (p === undefined)
        byPool.set(t.scrapePool, (p = { name: t.scrapePool, all: [], shown: [] }));
      p.all.push(t);
      if ((!unhealthyOnly || t.health !== 'up') && targetMatches(t, needle)) p.shown.push(t);
    }
    return [...byPool.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }, [targets.data, text, unhealthyOnly]);

  const header = (
    <div class="page-header">
      <h1>Targets</h1>
      <span class="spacer" />
      <Freshness updatedAt={targets.updatedAt} failed={targets.error !== undefined} />
    </div>
  );
  if (targets.data === undefined) {
    return (
      <section class="page">
        {header}
        {targets.loading ? (
          <Loading what="targets" rows={4} />
        ) : (
          <ErrorState error={targets.error!} title="Cannot load the targets" />
        )}
      </section>
    );
  }
  const active = targets.data.activeTargets;
  const dropped = targets.data.droppedTargets;
  const up = active.filter((t) => t.health === 'up').length;
  const shownCount = pools.reduce((s, p) => s + p.shown.length, 0);
  const toggle = (name: string) =>
    setCollapsed((c) => {
      const n = new Set(c);
      if (n.has(name)) n.delete(name);
      else n.add(name);
      return n;
    });

  return (
    <section class="page">
      {header}
      <StaleBanner error={targets.error} />
      <div class="toolbar">
        <input
          type="search"
          class="filter"
          placeholder="Filter by URL, label or error…"
          aria-label="Filter targets"
          value={text}
          onInput={(e) => replaceParams({ q: (e.target as HTMLInputElement).value })}
        />
        <label class="check">
          <input
            type="checkbox"
            checked={unhealthyOnly}
            onChange={(e) =>
              replaceParams({ unhealthy: (e.target as HTMLInputElement).checked ? '1' : '0' })
            }
          />
          Unhealthy only
        </label>
        <span class="spacer" />
        <span class="muted summary">
          {up} of {active.length} up · {pools.length} scrape pool{pools.length === 1 ? '' : 's'} ·{' '}
          {dropped.length} dropped
        </span>
      </div>
      {active.length === 0 ? (
        <EmptyState title="No targets yet">
          Service discovery has found nothing to scrape
          {dropped.length > 0
            ? `, or relabelling dropped all of it (${dropped.length} dropped targets below)`
            : ''}
          . Check <code>scrape_configs</code> in the collector's configuration.
        </EmptyState>
      ) : shownCount === 0 ? (
        <EmptyState title="No target matches">
          {unhealthyOnly ? 'Every target is up' : 'Nothing matches'}
          {text ? ` "${text}"` : ''}.{' '}
          <button
            type="button"
            class="link"
            onClick={() => replaceParams({ q: '', unhealthy: '0' })}
          >
            Clear the filters.
          </button>
        </EmptyState>
      ) : null}
      {pools
        .filter((p) => p.shown.length > 0)
        .map((p) => {
          const poolUp = p.all.filter((t) => t.health === 'up').length;
          const open = !collapsed.has(p.name);
          return (
            <div
              key={p.name}
              class={`panel flush pool ${open ? '' : 'collapsed'}`}
              data-pool={p.name}
            >
              <button
                type="button"
                class="group-header"
                aria-expanded={open}
                onClick={() => toggle(p.name)}
              >
                <span class="caret">{open ? '▾' : '▸'}</span>
                <span class="group-name">{p.name}</span>
                <span class={`counts ${poolUp === p.all.length ? 'good' : 'bad'}`}>
                  {poolUp}/{p.all.length} up
                </span>
              </button>
              {open ? (
                <table class="data targets">
                  <thead>
                    <tr>
                      <th>Endpoint</th>
                      <th>Health</th>
                      <th>Labels</th>
                      <th>Last scrape</th>
                      <th class="num">Duration</th>
                      <th>Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {p.shown.map((t) => (
                      <tr key={t.scrapeUrl} data-target={t.scrapeUrl} data-health={t.health}>
                        <td>
                          <HealthDot health={t.health} />
                          <a href={t.scrapeUrl} target="_blank" rel="noreferrer" class="mono">
                            {t.scrapeUrl}
                          </a>
                        </td>
                        <td>
                          <HealthPill health={t.health} />
                        </td>
                        <td class="wrap labels">
                          <Labels labels={t.labels} skip={['job']} />
                        </td>
                        <td title={t.lastScrape}>{formatAgo(t.lastScrape, now)}</td>
                        <td class="num">{formatSeconds(t.lastScrapeDuration)}</td>
                        <td class={`wrap ${t.lastError ? 'bad' : 'muted'}`}>
                          {t.lastError || '—'}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : null}
            </div>
          );
        })}
      <div class={`panel flush dropped ${showDropped ? '' : 'collapsed'}`}>
        <button
          type="button"
          class="group-header"
          aria-expanded={showDropped}
          onClick={() => setShowDropped(!showDropped)}
        >
          <span class="caret">{showDropped ? '▾' : '▸'}</span>
          <span class="group-name">Dropped by service discovery</span>
          <span class="counts muted">{dropped.length}</span>
        </button>
        {showDropped ? (
          dropped.length === 0 ? (
            <div class="state empty inline">Relabelling dropped no discovered target.</div>
          ) : (
            <table class="data">
              <thead>
                <tr>
                  <th>Discovered labels (before relabelling)</th>
                </tr>
              </thead>
              <tbody>
                {dropped.map((t, i) => (
                  <tr key={i}>
                    <td class="wrap">
                      <Labels labels={t.discoveredLabels} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        ) : null}
      </div>
    </section>
  );
}

/**
 * The export page (`#/export`): everything a user pastes elsewhere to get this collector's
 * series out — a Prometheus federation job and a ServiceMonitor (the shapes of Linkerd's
 * docs, pointed at this collector), a remote_write section, and curl commands. The
 * `match[]` selectors come from the jobs this collector actually scrapes.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api.js';
import { usePoll } from '../../poll.js';
import { CodeBlock } from '../query/copy.js';
import {
  baseUrl,
  curlCommands,
  DOCS_MATCHERS,
  federationJob,
  jobMatcher,
  RECEIVER_NOTE,
  remoteWriteSection,
  serviceMonitor,
  type CollectorAddress,
} from './configs.js';
import './export.css';

/** The address the page was loaded from. */
function currentAddress(): CollectorAddress {
  const { protocol, host, pathname } = window.location;
  return {
    scheme: protocol.replace(/:$/, ''),
    host,
    prefix: pathname.replace(/[^/]*$/, ''),
  };
}

/** One scraped job: its `job` label value and how many of its targets are up. */
interface Job {
  job: string;
  up: number;
  total: number;
}

/** The jobs the docs federate; picked by default when the collector scrapes them. */
const LINKERD_JOBS = ['linkerd-proxy', 'linkerd-controller'];

export function ExportPage() {
  const address = currentAddress();
  const targets = usePoll((signal) => api.targets(signal), []);
  const jobs: Job[] = [];
  for (const t of targets.data?.activeTargets ?? []) {
    const name = t.labels.job ?? t.scrapePool;
    let j = jobs.find((x) => x.job === name);
    if (j === undefined) jobs.push((j = { job: name, up: 0, total: 0 }));
    j.total++;
    if (t.health === 'up') j.up++;
  }
  jobs.sort((a, b) => a.job.localeCompare(b.job));

  // The selection starts with the Linkerd jobs the collector has (or all of them), once.
  const [picked, setPicked] = useState<Set<string> | null>(null);
  const jobKey = jobs.map((j) => j.job).join('\n');
  useEffect(() => {
    if (picked !== null || jobs.length === 0) return;
    const linkerd = jobs.filter((j) => LINKERD_JOBS.includes(j.job)).map((j) => j.job);
    setPicked(new Set(linkerd.length > 0 ? linkerd : jobs.map((j) => j.job)));
  }, [jobKey]);

  const selected = jobs.filter((j) => picked?.has(j.job)).map((j) => jobMatcher(j.job));
  const matchers = selected.length > 0 ? selected : DOCS_MATCHERS;
  const toggle = (job: string) => {
    const next = new Set(picked ?? []);
    if (next.has(job)) next.delete(job);
    else next.add(job);
    setPicked(next);
  };

  return (
    <div class="ex-page">
      <header class="ex-head">
        <h1>Export</h1>
        <p>
          Get this collector's series into the store you already run: let a Prometheus federate from
          it, have it push with <code>remote_write</code>, or read the API with curl. This collector
          answers at <code data-testid="collector-url">{baseUrl(address)}</code>.
        </p>
      </header>

      <section class="panel ex-jobs">
        <h2>Series to export</h2>
        {targets.loading ? (
          <div class="ex-muted">Loading the scrape pools…</div>
        ) : targets.error !== undefined && jobs.length === 0 ? (
          <div class="state error">
            Cannot list the scrape pools ({targets.error.message}); the configs below use the docs'
            selectors.
          </div>
        ) : jobs.length === 0 ? (
          <div class="ex-muted">
            This collector scrapes no targets yet; the configs below use the docs' selectors{' '}
            <code>{DOCS_MATCHERS.join(', ')}</code>.
          </div>
        ) : (
          <>
            <p class="ex-muted">
              The jobs this collector scrapes (from <code>/api/v1/targets</code>). Each one picked
              becomes a <code>match[]</code> selector in the blocks below.
            </p>
            <div class="ex-job-list">
              {jobs.map((j) => (
                <label key={j.job} class={picked?.has(j.job) ? 'ex-job on' : 'ex-job'}>
                  <input
                    type="checkbox"
                    checked={picked?.has(j.job) ?? false}
                    onChange={() => toggle(j.job)}
                  />
                  <code>{jobMatcher(j.job)}</code>
                  <span class={j.up === j.total ? 'ex-up' : 'ex-down'}>
                    {j.up}/{j.total} up
                  </span>
                </label>
              ))}
            </div>
            {selected.length === 0 && (
              <div class="ex-muted">No job picked: the blocks use the docs' selectors.</div>
            )}
          </>
        )}
      </section>

      <section class="ex-section">
        <h2>Federation: a Prometheus scrapes this collector</h2>
        <p>
          The <code>linkerd</code> job of Linkerd's “Exporting Metrics” docs, with this collector as
          its target. <code>honor_labels: true</code> keeps each series' own <code>job</code> and{' '}
          <code>instance</code> labels.
        </p>
        <CodeBlock
          title="prometheus.yml"
          text={federationJob(address, matchers)}
          testId="federation-config"
        />
      </section>

      <section class="ex-section">
        <h2>Prometheus Operator: ServiceMonitor</h2>
        <p>
          The docs' <code>linkerd-federate</code> ServiceMonitor (30 s interval and timeout,{' '}
          <code>honorLabels</code>, the same <code>match[]</code>), with a Service and Endpoints
          that name this collector inside the cluster.
        </p>
        <CodeBlock
          title="servicemonitor.yaml"
          text={serviceMonitor(address, matchers)}
          testId="servicemonitor"
        />
      </section>

      <section class="ex-section">
        <h2>remote_write: this collector pushes to your store</h2>
        <p>
          Add this to the collector's configuration file and replace the placeholders. Samples wait
          in the collector's WAL while the store is unreachable and are sent when it is back. A
          Prometheus that receives them must run with the receiver enabled:
        </p>
        <CodeBlock title="receiving Prometheus" text={RECEIVER_NOTE} testId="receiver-flag" />
        <CodeBlock
          title="meshmetrics config"
          text={remoteWriteSection()}
          testId="remote-write-config"
        />
      </section>

      <section class="ex-section">
        <h2>curl: the HTTP API</h2>
        <p>
          The same answers as Prometheus's API: an instant query, a range query, and{' '}
          <code>/federate</code> with the selectors above.
        </p>
        <CodeBlock title="shell" text={curlCommands(address, matchers)} testId="curl-commands" />
      </section>
    </div>
  );
}

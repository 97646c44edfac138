// The PromQL benchmarks' data set: 20 proxies x 1,000 Linkerd-shaped series, 1h of samples
// at 10s, as a TSDB head (appended scrape by scrape through its appender, as the scraper
// does) or the in-memory test store, and the `viz stat` queries run over it.
import { Labels } from '../../src/model/labels.js';
import { MemStorage } from '../../src/promql/promqltest/memstore.js';
import { Head } from '../../src/tsdb/head.js';
import { LINKERD_LATENCY_BUCKETS_MS } from '../../test/fixtures/linkerd-body.js';

const PROXIES = 20;
const DEPLOYMENTS = 5;
const AUTHORITIES = 10;
const STATUS = ['200', '201', '404', '500', '503'];
// Linkerd's latency bucket bounds as `le` values.
const LE = [...LINKERD_LATENCY_BUCKETS_MS.map(String), '+Inf'];
const STEP_MS = 10_000;
/** End of the data (ms); instant queries run here, range queries over the hour before. */
export const END_MS = 3_600_000;

/** One series of the data set: its labels and its counter's mean increase per scrape. */
export interface SeriesSpec {
  labels: Labels;
  rate: number;
}

/** The counter value of a series at scrape `i`, given its value at scrape `i - 1`. */
function step(prev: number, rate: number, i: number): number {
  return prev + rate * (0.5 + (i % 7) / 7);
}

/** The series of the data set. */
export function specs(): SeriesSpec[] {
  const out: SeriesSpec[] = [];
  const add = (labels: Labels, rate: number): void => {
    out.push({ labels, rate });
  };
  for (let p = 0; p < PROXIES; p++) {
    const deployment = `web-${p % DEPLOYMENTS}`;
    const pod = `${deployment}-${p}`;
    let n = 0;
    const base = {
      namespace: 'emojivoto',
      deployment,
      pod,
      instance: `10.0.0.${p}:4191`,
      job: 'linkerd-proxy',
    };
    for (const direction of ['inbound', 'outbound']) {
      for (let a = 0; a < AUTHORITIES; a++) {
        const authority = `svc-${a}.emojivoto.svc.cluster.local:8080`;
        add(
          Labels.from({ __name__: 'request_total', ...base, direction, authority, tls: 'true' }),
          10,
        );
        n++;
        for (const status_code of STATUS) {
          for (const classification of ['success', 'failure']) {
            add(
              Labels.from({
                __name__: 'response_total',
                ...base,
                direction,
                authority,
                status_code,
                classification,
                tls: 'true',
              }),
              classification === 'success' ? 9 : 1,
            );
            n++;
          }
        }
        let cum = 0;
        for (const le of LE) {
          cum += 0.4;
          add(
            Labels.from({
              __name__: 'response_latency_ms_bucket',
              ...base,
              direction,
              authority,
              le,
              tls: 'true',
            }),
            Math.min(10, cum),
          );
          n++;
        }
        add(
          Labels.from({
            __name__: 'response_latency_ms_count',
            ...base,
            direction,
            authority,
            tls: 'true',
          }),
          10,
        );
        add(
          Labels.from({
            __name__: 'response_latency_ms_sum',
            ...base,
            direction,
            authority,
            tls: 'true',
          }),
          400,
        );
        n += 2;
      }
    }
    for (let i = 0; n < 1000; i++, n++) {
      add(
        Labels.from({
          __name__: 'tcp_open_total',
          ...base,
          direction: i % 2 ? 'inbound' : 'outbound',
          peer: `p${i}`,
        }),
        1,
      );
    }
  }
  return out;
}

/** Scrapes per series. */
export const SCRAPES = END_MS / STEP_MS + 1;

/** The in-memory test store, filled series by series. */
export function buildMemstore(all: SeriesSpec[]): MemStorage {
  const store = new MemStorage();
  for (const s of all) {
    let v = 0;
    for (let i = 0; i < SCRAPES; i++) {
      v = step(v, s.rate, i);
      store.append(s.labels, i * STEP_MS, Math.round(v));
    }
  }
  return store;
}

/** The TSDB head, filled scrape by scrape through its appender with cached series refs. */
export async function buildHead(all: SeriesSpec[]): Promise<Head> {
  const head = new Head();
  const refs = new Float64Array(all.length);
  const vals = new Float64Array(all.length);
  for (let i = 0; i < SCRAPES; i++) {
    const app = head.appender();
    for (let k = 0; k < all.length; k++) {
      vals[k] = step(vals[k], all[k].rate, i);
      refs[k] = app.append(
        refs[k],
        refs[k] === 0 ? all[k].labels : Labels.EMPTY,
        i * STEP_MS,
        Math.round(vals[k]),
      );
    }
    await app.commit();
  }
  return head;
}

/** The `viz stat` queries, by name. */
export const QUERIES: Record<string, string> = {
  'success rate':
    'sum(irate(response_total{classification="success", direction="inbound"}[30s])) by (deployment) / sum(irate(response_total{direction="inbound"}[30s])) by (deployment)',
  rps: 'sum(irate(response_total{direction="inbound"}[30s])) by (deployment)',
  p50: 'histogram_quantile(0.5, sum(irate(response_latency_ms_bucket{direction="inbound"}[30s])) by (le, deployment))',
  p95: 'histogram_quantile(0.95, sum(irate(response_latency_ms_bucket{direction="inbound"}[30s])) by (le, deployment))',
  p99: 'histogram_quantile(0.99, sum(irate(response_latency_ms_bucket{direction="inbound"}[30s])) by (le, deployment))',
};

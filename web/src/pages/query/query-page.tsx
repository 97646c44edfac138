/**
 * The query explorer (`#/query?expr=...&tab=graph&range=1h&end=...&step=...&stacked=1`):
 * a PromQL editor, a Table tab (instant query at an optional evaluation time) and a Graph
 * tab (range query). The expression and every option live in the URL, so a view can be
 * shared and survives a reload; each run shows the equivalent curl command.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, curlOf, toApiTime, type QueryResult } from '../../api.js';
import { href } from '../../router.js';
import { PromqlEditor, type EditorLoad } from './promql-editor.js';
import { ResultTable } from './result-table.js';
import { ResultGraph } from './result-graph.js';
import { CodeBlock } from './copy.js';
import { TimeInput } from './time-input.js';
import { loadHistory, rememberQuery } from './history.js';
import { autoStepSeconds, formatDuration, parseDurationMs, RANGES } from './format.js';
import './query.css';

type Tab = 'table' | 'graph';

/** Queries offered on an empty page, over the families every Linkerd proxy exports. */
const EXAMPLES: { title: string; expr: string }[] = [
  {
    title: 'Requests per second by deployment',
    expr: 'sum(rate(request_total[1m])) by (deployment)',
  },
  {
    title: 'Success rate by deployment',
    expr:
      'sum(rate(response_total{classification="success", direction="inbound"}[1m])) by (deployment)\n' +
      '/ sum(rate(response_total{direction="inbound"}[1m])) by (deployment)',
  },
  {
    title: 'p95 latency (ms) by deployment',
    expr: 'histogram_quantile(0.95, sum(rate(response_latency_ms_bucket{direction="inbound"}[1m])) by (le, deployment))',
  },
  { title: 'Open TCP connections', expr: 'sum(tcp_open_connections) by (deployment, direction)' },
];

/** The collector's base URL, the page's own origin and folder. */
function baseUrl(): string {
  return window.location.origin + window.location.pathname.replace(/[^/]*$/, '');
}

/** Replaces the route's parameters (empty values are dropped) without a history entry. */
function setParams(current: URLSearchParams, changes: Record<string, string>): void {
  const next: Record<string, string> = {};
  for (const [k, v] of current) next[k] = v;
  Object.assign(next, changes);
  for (const k of Object.keys(next)) if (next[k] === '') delete next[k];
  history.replaceState(null, '', href(['query'], next));
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** What one run of the query gave. */
interface Run {
  result?: QueryResult;
  error?: ApiError | Error;
  tookMs: number;
  /** The tab it ran for: a table's answer is not drawn as a graph while the graph loads. */
  tab: Tab;
  curl: string;
  /** For the graph: the steps the API evaluated. */
  startS: number;
  endS: number;
  stepS: number;
}

export function QueryPage({ params }: { params: URLSearchParams }) {
  const expr = params.get('expr') ?? '';
  const tab: Tab = params.get('tab') === 'graph' ? 'graph' : 'table';
  const range = params.get('range') ?? '1h';
  const rangeMs = parseDurationMs(range) ?? 3_600_000;
  const endParam = params.get('end') ?? '';
  const timeParam = params.get('time') ?? '';
  const stepParam = params.get('step') ?? '';
  const stacked = params.get('stacked') === '1';

  // The editor's text as typed (not state: typing needs no render) and what was last put in.
  const draft = useRef(expr);
  const [load, setLoad] = useState<EditorLoad>({ text: expr, seq: 0 });
  const put = (text: string) => {
    draft.current = text;
    setLoad((l) => ({ text, seq: l.seq + 1 }));
  };
  const [runSeq, setRunSeq] = useState(0);
  const [run, setRun] = useState<Run | null>(null);
  const [loading, setLoading] = useState(false);
  const [history, setHistory] = useState(loadHistory);
  const [showHistory, setShowHistory] = useState(false);

  // A link or a reload brings a new expression: the editor shows it.
  useEffect(() => {
    if (expr !== draft.current) put(expr);
  }, [expr]);

  const execute = (text = draft.current) => {
    const e = text.trim();
    if (e === '') return;
    setHistory(rememberQuery(e));
    setShowHistory(false);
    if (e !== expr) setParams(params, { expr: e });
    setRunSeq((n) => n + 1);
  };

  const stepMs = parseDurationMs(stepParam);
  const autoStep = autoStepSeconds(rangeMs);

  useEffect(() => {
    if (expr === '') {
      setRun(null);
      return;
    }
    const ac = new AbortController();
    const began = performance.now();
    setLoading(true);
    const finish = (r: Omit<Run, 'tookMs' | 'tab'>) => {
      if (ac.signal.aborted) return;
      setRun({ ...r, tab, tookMs: performance.now() - began });
      setLoading(false);
    };
    if (tab === 'table') {
      const timeMs = timeParam === '' ? undefined : parseFloat(timeParam) * 1000;
      const p: Record<string, string> = { query: expr };
      if (timeMs !== undefined) p.time = toApiTime(timeMs);
      const curl = curlOf('/api/v1/query', p);
      api.query(expr, timeMs, ac.signal).then(
        (result) => finish({ result, curl, startS: 0, endS: 0, stepS: 0 }),
        (error: Error) => finish({ error, curl, startS: 0, endS: 0, stepS: 0 }),
      );
    } else {
      const endMs = endParam === '' ? Date.now() : parseFloat(endParam) * 1000;
      const startMs = endMs - rangeMs;
      const stepS = stepMs !== undefined ? stepMs / 1000 : autoStep;
      const curl = curlOf('/api/v1/query_range', {
        query: expr,
        start: toApiTime(startMs),
        end: toApiTime(endMs),
        step: String(stepS),
      });
      const startS = Number(toApiTime(startMs));
      const endS = Number(toApiTime(endMs));
      api.queryRange(expr, startMs, endMs, stepS, ac.signal).then(
        (result) => finish({ result, curl, startS, endS, stepS }),
        (error: Error) => finish({ error, curl, startS, endS, stepS }),
      );
    }
    return () => ac.abort();
  }, [expr, tab, range, endParam, timeParam, stepParam, runSeq]);

  const error = run?.error;
  const result = run?.result;
  return (
    <div class="q-page">
      <section class="q-input panel">
        <div class="q-editor-row">
          <PromqlEditor
            load={load}
            onChange={(text) => (draft.current = text)}
            onRun={() => execute()}
            apiUrl={baseUrl()}
          />
          <button type="button" class="q-run" onClick={() => execute()} disabled={loading}>
            {loading ? 'Running…' : 'Execute'}
          </button>
        </div>
        <div class="q-under">
          <button
            type="button"
            class="q-link"
            onClick={() => setShowHistory(!showHistory)}
            disabled={history.length === 0}
          >
            History ({history.length})
          </button>
          <span class="q-hint">Enter runs · Shift+Enter new line · Ctrl+Space completes</span>
        </div>
        {showHistory && (
          <ul class="q-history">
            {history.map((h) => (
              <li key={h}>
                <button type="button" onClick={() => (put(h), execute(h))}>
                  {h}
                </button>
              </li>
            ))}
          </ul>
        )}
        {error !== undefined && (
          <div class="q-error" role="alert" data-testid="query-error">
            {error instanceof ApiError ? `${error.errorType}: ${error.message}` : error.message}
          </div>
        )}
      </section>

      <div class="q-tabs" role="tablist">
        {(['table', 'graph'] as const).map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            class={tab === t ? 'active' : ''}
            onClick={() => setParams(params, { tab: t })}
          >
            {t === 'table' ? 'Table' : 'Graph'}
          </button>
        ))}
        <div class="q-options">
          {tab === 'table' ? (
            <label>
              Evaluation time
              <TimeInput
                label="Evaluation time"
                value={timeParam}
                onChange={(time) => setParams(params, { time })}
              />
            </label>
          ) : (
            <>
              <label>
                Range
                <select
                  value={range}
                  onChange={(e) =>
                    setParams(params, { range: (e.target as HTMLSelectElement).value })
                  }
                >
                  {(RANGES.includes(range) ? RANGES : [range, ...RANGES]).map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                End
                <TimeInput
                  label="End"
                  value={endParam}
                  onChange={(end) => setParams(params, { end })}
                />
              </label>
              <label>
                Step
                <input
                  class="q-step"
                  type="text"
                  placeholder={`auto (${formatDuration(autoStep * 1000)})`}
                  value={stepParam}
                  onChange={(e) => {
                    const v = (e.target as HTMLInputElement).value.trim();
                    setParams(params, { step: parseDurationMs(v) === undefined ? '' : v });
                  }}
                />
              </label>
              <label class="q-check">
                <input
                  type="checkbox"
                  checked={stacked}
                  onChange={(e) =>
                    setParams(params, {
                      stacked: (e.target as HTMLInputElement).checked ? '1' : '',
                    })
                  }
                />
                Stacked
              </label>
            </>
          )}
        </div>
      </div>

      <section class="q-result panel" data-testid="query-result">
        {expr === '' ? (
          <div class="q-start">
            <p>Enter a PromQL expression above, or start from one of these:</p>
            <ul>
              {EXAMPLES.map((x) => (
                <li key={x.title}>
                  <button
                    type="button"
                    class="q-link"
                    onClick={() => (put(x.expr), execute(x.expr))}
                  >
                    {x.title}
                  </button>
                  <code>{x.expr.replace(/\n/g, ' ')}</code>
                </li>
              ))}
            </ul>
          </div>
        ) : run === null || run.tab !== tab ? (
          <div class="q-empty">Running…</div>
        ) : (
          <>
            <div class="q-stats" data-testid="query-stats">
              {result !== undefined && (
                <span>
                  <b>
                    {result.resultType === 'vector' || result.resultType === 'matrix'
                      ? result.result.length
                      : 1}
                  </b>{' '}
                  {result.resultType === 'vector' || result.resultType === 'matrix'
                    ? 'series'
                    : result.resultType}{' '}
                  ·{' '}
                </span>
              )}
              <span>
                {error !== undefined ? 'failed after' : 'took'} {Math.round(run.tookMs)} ms
              </span>
              {tab === 'graph' && result !== undefined && (
                <span>
                  {' '}
                  · step {formatDuration(run.stepS * 1000)} ·{' '}
                  {new Date(run.startS * 1000).toLocaleString()} →{' '}
                  {new Date(run.endS * 1000).toLocaleString()}
                </span>
              )}
              {loading && <span class="q-muted"> · refreshing…</span>}
            </div>
            {result !== undefined &&
              (tab === 'table' ? (
                <ResultTable result={result} />
              ) : result.resultType === 'matrix' ? (
                result.result.length === 0 ? (
                  <div class="q-empty">Empty result: no series matched in this range.</div>
                ) : (
                  <ResultGraph
                    series={result.result}
                    startS={run.startS}
                    endS={run.endS}
                    stepS={run.stepS}
                    stacked={stacked}
                  />
                )
              ) : (
                <div class="q-empty">
                  A {result.resultType} result has no graph; see the Table tab.
                </div>
              ))}
            {error !== undefined && (
              <div class="q-empty">No result: the query failed (see above).</div>
            )}
          </>
        )}
      </section>

      {run !== null && (
        <CodeBlock title="The same request with curl" text={run.curl} testId="query-curl" wrap />
      )}
    </div>
  );
}

/**
 * The Table tab: an instant query's result, one row per series with its labels in
 * `name{a="b"}` form and its value; a scalar or a string as a single row.
 */
import type { QueryResult } from '../../api.js';

/** Rows beyond this are not drawn (the count still says how many there are). */
export const MAX_TABLE_ROWS = 1000;

/** A series name with the metric name, label names and values styled apart. */
export function SeriesLabel({ metric }: { metric: Record<string, string> }) {
  const name = metric.__name__ ?? '';
  const labels = Object.entries(metric).filter(([k]) => k !== '__name__');
  return (
    <span class="q-series">
      {name !== '' && <span class="q-metric">{name}</span>}
      {(labels.length > 0 || name === '') && (
        <>
          {'{'}
          {labels.map(([k, v], i) => (
            <span key={k}>
              {i > 0 && ', '}
              <span class="q-lname">{k}</span>=<span class="q-lvalue">{JSON.stringify(v)}</span>
            </span>
          ))}
          {'}'}
        </>
      )}
    </span>
  );
}

export function ResultTable({ result }: { result: QueryResult }) {
  switch (result.resultType) {
    case 'scalar':
    case 'string':
      return (
        <table class="q-table">
          <tbody>
            <tr>
              <td class="q-kind">{result.resultType}</td>
              <td class="q-value mono">{result.result[1]}</td>
            </tr>
          </tbody>
        </table>
      );
    case 'vector':
    case 'matrix': {
      if (result.result.length === 0)
        return <div class="q-empty">Empty result: no series matched at this time.</div>;
      const total = result.result.length;
      const shownCount = Math.min(total, MAX_TABLE_ROWS);
      return (
        <>
          {total > shownCount && (
            <div class="q-note">
              Showing the first {shownCount} of {total} series.
            </div>
          )}
          <table class="q-table">
            <thead>
              <tr>
                <th>Series</th>
                <th class="q-value">Value</th>
              </tr>
            </thead>
            <tbody>
              {result.resultType === 'vector'
                ? result.result.slice(0, shownCount).map((s, i) => (
                    <tr key={i}>
                      <td>
                        <SeriesLabel metric={s.metric} />
                      </td>
                      <td class="q-value mono">{s.value[1]}</td>
                    </tr>
                  ))
                : result.result.slice(0, shownCount).map((s, i) => (
                    <tr key={i}>
                      <td>
                        <SeriesLabel metric={s.metric} />
                      </td>
                      <td class="q-value mono">
                        {s.values.map(([t, v]) => (
                          <div key={t}>
                            {v} <span class="q-at">@{t}</span>
                          </div>
                        ))}
                      </td>
                    </tr>
                  ))}
            </tbody>
          </table>
        </>
      );
    }
  }
}

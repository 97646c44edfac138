/**
 * The dashboard's shell: a top bar with the pages, and the page the hash route names.
 * Pages: overview (`#/`), workload (`#/workload/<namespace>/<deployment>`), targets, query, export.
 */
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { useRoute, href } from './router.js';
import { OverviewPage } from './pages/overview.js';
import { WorkloadPage } from './pages/workload.js';
import { TargetsPage } from './pages/targets.js';
import { lazyPage } from './components/lazy.js';
import './styles.css';

// The query editor (CodeMirror and the PromQL grammar) is most of the bundle: load it, and the
// export page that shares its code, on first visit.
const QueryPage = lazyPage('query', () =>
  import('./pages/query/query-page.js').then((m) => m.QueryPage),
);
const ExportPage = lazyPage('export', () =>
  import('./pages/export/export-page.js').then((m) => m.ExportPage),
);

const NAV: { segment: string; title: string }[] = [
  { segment: '', title: 'Workloads' },
  { segment: 'targets', title: 'Targets' },
  { segment: 'query', title: 'Query' },
  { segment: 'export', title: 'Export' },
];

function App() {
  const route = useRoute();
  const [first = '', ...rest] = route.segments;
  let page;
  switch (first) {
    case '':
      page = <OverviewPage params={route.params} />;
      break;
    case 'workload':
      // Keyed by workload: another workload's page starts empty instead of showing the last one's data.
      page = (
        <WorkloadPage
          key={`${rest[0]}/${rest[1]}`}
          namespace={rest[0] ?? ''}
          name={rest[1] ?? ''}
          params={route.params}
        />
      );
      break;
    case 'targets':
      page = <TargetsPage params={route.params} />;
      break;
    case 'query':
      page = <QueryPage params={route.params} />;
      break;
    case 'export':
      page = <ExportPage />;
      break;
    default:
      page = (
        <div class="state error">
          No page <code>#/{route.segments.join('/')}</code>. <a href="#/">Go to the workloads.</a>
        </div>
      );
  }
  const active = first === 'workload' ? '' : first;
  useEffect(() => {
    const where =
      first === 'workload'
        ? `${rest[1] ?? ''} · ${rest[0] ?? ''}`
        : (NAV.find((n) => n.segment === first)?.title ?? 'Not found');
    document.title = `${where} — meshmetrics`;
  }, [route]);
  return (
    <>
      <header class="topbar">
        <a class="brand" href="#/">
          meshmetrics
        </a>
        <nav>
          {NAV.map((n) => (
            <a
              key={n.segment}
              href={href(n.segment ? [n.segment] : [])}
              class={active === n.segment ? 'active' : ''}
            >
              {n.title}
            </a>
          ))}
        </nav>
      </header>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);

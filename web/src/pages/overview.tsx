export function OverviewPage(_props: { params: URLSearchParams }) {
  return <div class="state">The workloads page is being built.</div>;
}

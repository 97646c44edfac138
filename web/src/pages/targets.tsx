export function TargetsPage(_props: { params: URLSearchParams }) {
  return <div class="state">The targets page is being built.</div>;
}

export function QueryPage(_props: { params: URLSearchParams }) {
  return <div class="state">The query explorer is being built.</div>;
}

export function WorkloadPage(props: { namespace: string; name: string; params: URLSearchParams }) {
  return (
    <div class="state">
      Workload {props.namespace}/{props.name}: being built.
    </div>
  );
}

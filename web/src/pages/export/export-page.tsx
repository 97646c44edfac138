export function ExportPage() {
  return <div class="state">The export page is being built.</div>;
}

/** Where the canvas is: the server's graph, or a composite's subgraph inside it. */
export function Breadcrumb({ root, path, onGo }: { root: string; path: string[]; onGo: (depth: number) => void }) {
  return (
    <nav className="breadcrumb" data-testid="breadcrumb">
      <button type="button" className="crumb" onClick={() => onGo(0)} disabled={!path.length}>
        {root}
      </button>
      {path.map((id, i) => (
        <span key={`${i}-${id}`}>
          {" › "}
          <button type="button" className="crumb" onClick={() => onGo(i + 1)} disabled={i === path.length - 1}>
            {id}
          </button>
        </span>
      ))}
      {path.length > 0 && <span className="muted read-only"> (subgraph, read-only: edit it through the composite's graph parameter)</span>}
    </nav>
  );
}

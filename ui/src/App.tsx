/** The editor: palette, canvas, inspector and panels around the graph the server holds. */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useReactFlow } from "@xyflow/react";
import { api, onUnauthorized } from "./api";
import { Breadcrumb } from "./Breadcrumb";
import { Canvas, type Selection } from "./Canvas";
import { DocsPanel } from "./DocsPanel";
import { ErrorBanner, type Notice } from "./ErrorBanner";
import { GraphFile } from "./GraphFile";
import { Inspector } from "./Inspector";
import { Palette } from "./Palette";
import { TokenDialog } from "./TokenDialog";
import { useEvents } from "./useEvents";
import { useGraph } from "./useGraph";
import { NewComponentDialog } from "./NewComponentDialog";
import { fieldsOf, requiredFields } from "./paramsSchema";
import type { FilterClass, Graph, Position } from "./types";

const NOTICE_SECONDS = 15;

/** The graph shown for a path of composite ids (each one's `params.graph`), or where the path breaks. */
function subgraph(root: Graph, path: string[]): { graph: Graph; depth: number } {
  let graph = root;
  for (let depth = 0; depth < path.length; depth++) {
    const inner = graph.components.find((c) => c.id === path[depth])?.params?.graph as Partial<Graph> | undefined;
    if (!inner || typeof inner !== "object") return { graph, depth };
    graph = {
      pypes: 1,
      name: inner.name ?? path[depth],
      components: Array.isArray(inner.components) ? inner.components : [],
      wires: Array.isArray(inner.wires) ? inner.wires : [],
    };
  }
  return { graph, depth: path.length };
}

export function App() {
  const server = useGraph();
  const { refresh } = server;
  const { stats, connection } = useEvents(refresh);
  const [path, setPath] = useState<string[]>([]);
  const [selection, setSelection] = useState<Selection | null>(null);
  const [notices, setNotices] = useState<Notice[]>([]);
  const [showDocs, setShowDocs] = useState(false);
  const [tokenPrompt, setTokenPrompt] = useState<((token: string | null) => void) | null>(null);
  const noticeId = useRef(0);
  const { screenToFlowPosition } = useReactFlow();

  useEffect(() => {
    onUnauthorized(() => new Promise((resolve) => setTokenPrompt(() => resolve)));
  }, []);

  const notify = useCallback((text: string) => {
    const id = ++noticeId.current;
    setNotices((n) => [...n.slice(-4), { id, text }]);
    setTimeout(() => setNotices((n) => n.filter((x) => x.id !== id)), NOTICE_SECONDS * 1000);
  }, []);
  const dismiss = useCallback((id: number) => setNotices((n) => n.filter((x) => x.id !== id)), []);

  const classes = useMemo(() => new Map(server.classes.map((c) => [c.class, c])), [server.classes]);
  const view = useMemo(() => (server.graph ? subgraph(server.graph, path) : null), [server.graph, path]);
  useEffect(() => {
    if (view && view.depth < path.length) setPath(path.slice(0, view.depth)); // the composite went away
  }, [view, path]);
  const readOnly = path.length > 0;

  /** Runs one REST call, reports a refusal in the banner, and redraws from the server. */
  const act = useCallback(
    async (what: string, call: () => Promise<unknown>) => {
      try {
        await call();
      } catch (err) {
        notify(`${what}: ${(err as Error).message}`);
      } finally {
        await refresh();
      }
    },
    [notify, refresh],
  );

  const [pending, setPending] = useState<{ cls: FilterClass; position: Position } | null>(null);
  const onCreate = useCallback(
    (name: string, position: Position) => {
      const cls = classes.get(name);
      // A class with params that have no default cannot be created empty: ask for them first.
      if (cls && requiredFields(fieldsOf(cls.params_schema)).length) setPending({ cls, position });
      else void act(`Could not create ${name}`, () => api.createComponent(name, position));
    },
    [act, classes],
  );
  const onConnect = useCallback(
    (from: [string, string], to: [string, string]) =>
      void act(`Wire ${from.join(".")} → ${to.join(".")} refused`, () => api.createWire(from, to)),
    [act],
  );
  const onDelete = useCallback(
    (nodeIds: string[], wireIds: string[]) =>
      void act("Delete failed", async () => {
        for (const id of wireIds) await api.deleteWire(id);
        for (const id of nodeIds) await api.deleteComponent(id);
        setSelection(null);
      }),
    [act],
  );
  const onMove = useCallback((id: string, position: Position) => void act(`Could not move ${id}`, () => api.updateComponent(id, { position })), [act]);
  const onOpen = useCallback(
    (id: string) => {
      const spec = view?.graph.components.find((c) => c.id === id);
      if (spec && (classes.get(spec.class)?.type === "Composite" || spec.params?.graph)) {
        setSelection(null);
        setPath((p) => [...p, id]);
      }
    },
    [view, classes],
  );
  const addAtCentre = useCallback(
    (cls: string) => {
      const canvas = document.querySelector(".canvas")?.getBoundingClientRect();
      const p = canvas ? screenToFlowPosition({ x: canvas.x + canvas.width / 2, y: canvas.y + canvas.height / 2 }) : { x: 0, y: 0 };
      onCreate(cls, [Math.round(p.x), Math.round(p.y)]);
    },
    [onCreate, screenToFlowPosition],
  );

  const graph = server.graph;
  return (
    <div className="app">
      <header className="toolbar">
        <span className="brand">Pypes</span>
        <span className="graph-name" data-testid="graph-name">
          {graph ? `${graph.name} · rev ${graph.rev ?? "?"}` : "…"}
        </span>
        <span className={`connection connection-${connection}`} data-testid="connection" title="Live updates from /events">
          {connection}
        </span>
        <span className="spacer" />
        <button type="button" onClick={() => setShowDocs((s) => !s)} data-testid="docs-toggle" className={showDocs ? "active" : undefined}>
          Send documents
        </button>
        <GraphFile
          onImported={() => {
            setPath([]);
            setSelection(null);
            void refresh();
          }}
          onError={notify}
        />
        <a className="button" href="/api/docs" target="_blank" rel="noreferrer">
          API
        </a>
      </header>
      <ErrorBanner notices={server.loadError ? [{ id: 0, text: server.loadError }, ...notices] : notices} onDismiss={dismiss} />
      <div className="workspace">
        <Palette classes={server.classes} disabled={readOnly} onAdd={addAtCentre} />
        <main className="main">
          {graph && <Breadcrumb root={graph.name || "graph"} path={path} onGo={(depth) => setPath(path.slice(0, depth))} />}
          {view && (
            <Canvas
              graph={view.graph}
              classes={classes}
              stats={stats}
              readOnly={readOnly}
              viewKey={path.join("/")}
              onCreate={onCreate}
              onConnect={onConnect}
              onDelete={onDelete}
              onMove={onMove}
              onSelect={setSelection}
              onOpen={onOpen}
            />
          )}
        </main>
        {view && (
          <div className="side">
            {!selection && !showDocs && (
              <p className="muted side-help" data-testid="side-help">
                Drag a component from the palette onto the canvas, wire an output port to an input port, and select a
                component to edit its parameters. Delete removes the selection; double-click a composite to open its
                subgraph.
              </p>
            )}
            <Inspector
              selection={selection}
              graph={view.graph}
              classes={classes}
              stats={stats}
              readOnly={readOnly}
              onChanged={() => void refresh()}
              onDelete={onDelete}
              onOpen={onOpen}
            />
            {showDocs && <DocsPanel onClose={() => setShowDocs(false)} onSent={() => void refresh()} />}
          </div>
        )}
      </div>
      {pending && (
        <NewComponentDialog
          cls={pending.cls}
          position={pending.position}
          onCreated={() => {
            setPending(null);
            void refresh();
          }}
          onCancel={() => setPending(null)}
        />
      )}
      {tokenPrompt && (
        <TokenDialog
          onDone={(token) => {
            tokenPrompt(token);
            setTokenPrompt(null);
          }}
        />
      )}
    </div>
  );
}

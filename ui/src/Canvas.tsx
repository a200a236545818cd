/**
 * The canvas: React Flow drawing a graph the server holds. Every edit is a REST call
 * (the caller's handlers); the canvas redraws from the server's answer, so a refused
 * change leaves nothing behind.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import {
  applyEdgeChanges,
  applyNodeChanges,
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type NodeChange,
  type OnSelectionChangeParams,
} from "@xyflow/react";
import { ComponentNode, StatsContext, type ComponentNodeType } from "./ComponentNode";
import type { ComponentStats, FilterClass, Graph, Position, Stats } from "./types";

export const CLASS_MIME = "application/x-pypes-class";

const nodeTypes = { component: ComponentNode };

export interface Selection {
  kind: "node" | "edge";
  id: string;
}

interface Props {
  graph: Graph;
  classes: Map<string, FilterClass>;
  stats: Stats | null;
  /** A composite's subgraph: shown, not edited (its changes go through the composite's params). */
  readOnly: boolean;
  /** Changes whenever a different graph is shown, so the view is fitted again. */
  viewKey: string;
  onCreate: (cls: string, position: Position) => void;
  onConnect: (from: [string, string], to: [string, string]) => void;
  onDelete: (nodeIds: string[], wireIds: string[]) => void;
  onMove: (id: string, position: Position) => void;
  onSelect: (selection: Selection | null) => void;
  onOpen: (id: string) => void;
}

function toNodes(graph: Graph, classes: Map<string, FilterClass>, readOnly: boolean, previous: ComponentNodeType[]): ComponentNodeType[] {
  const before = new Map(previous.map((n) => [n.id, n]));
  return graph.components.map((spec) => {
    const old = before.get(spec.id);
    const position = old?.dragging ? old.position : { x: spec.position?.[0] ?? 0, y: spec.position?.[1] ?? 0 };
    return {
      id: spec.id,
      type: "component",
      position,
      selected: old?.selected ?? false,
      draggable: !readOnly,
      connectable: !readOnly,
      deletable: !readOnly,
      data: { spec, cls: classes.get(spec.class), live: !readOnly },
    };
  });
}

function toEdges(graph: Graph, readOnly: boolean, previous: Edge[]): Edge[] {
  const selected = new Set(previous.filter((e) => e.selected).map((e) => e.id));
  return graph.wires.map((w) => ({
    id: w.id,
    source: w.from[0],
    sourceHandle: w.from[1],
    target: w.to[0],
    targetHandle: w.to[1],
    selected: selected.has(w.id),
    deletable: !readOnly,
    className: w.from[1] === "error" ? "wire-error" : undefined,
  }));
}

export function Canvas(props: Props) {
  const { graph, classes, stats, readOnly, viewKey } = props;
  const { screenToFlowPosition, fitView } = useReactFlow();
  const [nodes, setNodes] = useState<ComponentNodeType[]>([]);
  const [edges, setEdges] = useState<Edge[]>([]);
  const handlers = useRef(props);
  handlers.current = props;

  useEffect(() => {
    setNodes((prev) => toNodes(graph, classes, readOnly, prev));
    setEdges((prev) => toEdges(graph, readOnly, prev));
  }, [graph, classes, readOnly]);

  const fittedKey = useRef<string | null>(null);
  useEffect(() => {
    if (fittedKey.current === viewKey || !nodes.length) return;
    fittedKey.current = viewKey;
    requestAnimationFrame(() => void fitView({ padding: 0.2, maxZoom: 1.25 }));
  }, [viewKey, nodes.length, fitView]);

  const onNodesChange = useCallback((changes: NodeChange<ComponentNodeType>[]) => {
    // Removal goes through onDelete → server → refetch; apply it locally only then.
    setNodes((prev) => applyNodeChanges(changes, prev));
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => setEdges((prev) => applyEdgeChanges(changes, prev)), []);

  const onConnect = useCallback((c: Connection) => {
    if (!c.sourceHandle || !c.targetHandle) return;
    handlers.current.onConnect([c.source, c.sourceHandle], [c.target, c.targetHandle]);
  }, []);

  const onDelete = useCallback(({ nodes: gone, edges: cut }: { nodes: ComponentNodeType[]; edges: Edge[] }) => {
    const nodeIds = gone.map((n) => n.id);
    const removed = new Set(nodeIds);
    // A deleted component takes its wires with it on the server; delete only the others.
    const wireIds = cut.filter((e) => !removed.has(e.source) && !removed.has(e.target)).map((e) => e.id);
    handlers.current.onDelete(nodeIds, wireIds);
  }, []);

  const onNodeDragStop = useCallback((_: unknown, _node: ComponentNodeType, dragged: ComponentNodeType[]) => {
    for (const n of dragged) handlers.current.onMove(n.id, [Math.round(n.position.x), Math.round(n.position.y)]);
  }, []);

  const onSelectionChange = useCallback(({ nodes: ns, edges: es }: OnSelectionChangeParams) => {
    if (ns.length === 1 && es.length === 0) handlers.current.onSelect({ kind: "node", id: ns[0].id });
    else if (es.length === 1 && ns.length === 0) handlers.current.onSelect({ kind: "edge", id: es[0].id });
    else handlers.current.onSelect(null);
  }, []);

  const onDragOver = useCallback((event: DragEvent) => {
    if (!event.dataTransfer.types.includes(CLASS_MIME)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback(
    (event: DragEvent) => {
      const cls = event.dataTransfer.getData(CLASS_MIME);
      if (!cls || handlers.current.readOnly) return;
      event.preventDefault();
      const p = screenToFlowPosition({ x: event.clientX, y: event.clientY });
      handlers.current.onCreate(cls, [Math.round(p.x), Math.round(p.y)]);
    },
    [screenToFlowPosition],
  );

  // A wire with documents waiting shows how many (and turns amber when it is filling up).
  const shownEdges = useMemo(() => {
    const fill = readOnly ? undefined : stats?.wires;
    if (!fill) return edges;
    return edges.map((e) => {
      const q = fill[e.id];
      if (!q || !q.queued) return e;
      const busy = q.capacity ? q.queued / q.capacity > 0.5 : false;
      return { ...e, label: `${q.queued} queued`, className: `${e.className ?? ""}${busy ? " wire-busy" : ""}` };
    });
  }, [edges, stats, readOnly]);

  const live: Record<string, ComponentStats> = useMemo(() => (readOnly ? {} : (stats?.components ?? {})), [readOnly, stats]);

  return (
    <StatsContext.Provider value={live}>
      <div className="canvas" data-testid="canvas" onDragOver={onDragOver} onDrop={onDrop}>
        <ReactFlow<ComponentNodeType, Edge>
          nodes={nodes}
          edges={shownEdges}
          nodeTypes={nodeTypes}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onConnect={onConnect}
          onDelete={onDelete}
          onNodeDragStop={onNodeDragStop}
          onSelectionChange={onSelectionChange}
          onNodeDoubleClick={(_, node) => handlers.current.onOpen(node.id)}
          nodesConnectable={!readOnly}
          nodesDraggable={!readOnly}
          deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
          zoomOnDoubleClick={false}
          defaultEdgeOptions={{ type: "smoothstep" }}
          minZoom={0.2}
        >
          <Background gap={20} />
          <Controls />
          <MiniMap pannable zoomable style={{ width: 160, height: 100 }} />
        </ReactFlow>
      </div>
    </StatsContext.Provider>
  );
}

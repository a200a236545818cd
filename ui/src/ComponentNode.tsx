/**
 * One component on the canvas: its id and class, input ports on the left, output ports
 * on the right (handle id = port name), live counters and a state badge from /stats.
 */
import { createContext, memo, useContext } from "react";
import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import type { ComponentSpec, ComponentStats, FilterClass, Port } from "./types";

export type ComponentNodeData = {
  spec: ComponentSpec;
  cls: FilterClass | undefined;
  live: boolean;
};

export type ComponentNodeType = Node<ComponentNodeData, "component">;

/** Per-component stats by id; provided by the canvas so stats ticks don't rebuild nodes. */
export const StatsContext = createContext<Record<string, ComponentStats>>({});

const FALLBACK_IN: Port[] = [{ name: "in", doc: "" }];
const FALLBACK_OUT: Port[] = [
  { name: "out", doc: "" },
  { name: "error", doc: "" },
];

export function portsOf(cls: FilterClass | undefined): { inputs: Port[]; outputs: Port[] } {
  if (!cls) return { inputs: FALLBACK_IN, outputs: FALLBACK_OUT };
  return { inputs: cls.inputs, outputs: cls.outputs };
}

function Counters({ stats }: { stats: ComponentStats }) {
  const item = (label: string, key: string, value: unknown) => (
    <span className={`counter counter-${key}`} data-testid={`counter-${key}`} title={label}>
      {label} <b>{typeof value === "number" ? value : 0}</b>
    </span>
  );
  return (
    <div className="counters">
      {item("in", "in", stats.in)}
      {item("out", "out", stats.out)}
      {item("err", "errors", stats.errors)}
      {item("q", "queued", stats.queued)}
    </div>
  );
}

function ComponentNodeView({ id, data, selected }: NodeProps<ComponentNodeType>) {
  const all = useContext(StatsContext);
  const stats = data.live ? all[id] : undefined;
  const { inputs, outputs } = portsOf(data.cls);
  const type = data.cls?.type ?? "Unknown";
  const isComposite = type === "Composite";
  const state = stats?.state;
  const reason = (stats?.reason as string | undefined) ?? (state === "failed" ? stats?.last_error : undefined);
  const workers = stats?.workers;
  const rows = Math.max(inputs.length, outputs.length);

  return (
    <div
      className={`pypes-node type-${type.toLowerCase()}${selected ? " selected" : ""}${state ? ` state-${state}` : ""}`}
      title={data.cls?.doc || data.spec.class}
      data-testid={`node-${id}`}
    >
      <div className="node-header">
        <span className="node-id">{id}</span>
        {state && (
          <span className={`badge badge-${state}`} data-testid="state-badge">
            {state}
          </span>
        )}
      </div>
      <div className="node-class">
        {data.spec.class}
        {isComposite && <span className="hint"> · double-click to open</span>}
      </div>
      <div className="ports">
        {Array.from({ length: rows }, (_, i) => (
          <div className="port-row" key={i}>
            <div className="port port-in">
              {inputs[i] && (
                <>
                  <Handle type="target" position={Position.Left} id={inputs[i].name} title={inputs[i].doc} />
                  <span className="port-name">{inputs[i].name}</span>
                </>
              )}
            </div>
            <div className="port port-out">
              {outputs[i] && (
                <>
                  <span className={`port-name${outputs[i].name === "error" ? " port-error" : ""}`}>{outputs[i].name}</span>
                  <Handle
                    type="source"
                    position={Position.Right}
                    id={outputs[i].name}
                    title={outputs[i].doc}
                    className={outputs[i].name === "error" ? "handle-error" : undefined}
                  />
                </>
              )}
            </div>
          </div>
        ))}
      </div>
      {stats && <Counters stats={stats} />}
      {isComposite && typeof workers === "number" && <div className="node-extra">workers {workers}</div>}
      {isComposite && Array.isArray(workers) && <div className="node-extra">workers {workers.length}</div>}
      {reason && (state === "failed" || isComposite) && (
        <div className="node-reason" data-testid="state-reason" title={String(reason)}>
          {String(reason)}
        </div>
      )}
    </div>
  );
}

export const ComponentNode = memo(ComponentNodeView);

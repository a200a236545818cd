/**
 * The palette: component classes grouped by type, filtered by a search box. Drag a class
 * onto the canvas to create it (or double-click it to add it in the middle).
 */
import { useMemo, useState, type DragEvent } from "react";
import { CLASS_MIME } from "./Canvas";
import { TYPES, type FilterClass } from "./types";

const GROUP_TITLES: Record<string, string> = {
  Adapter: "Adapters",
  Transformer: "Transformers",
  Filter: "Filters",
  Extractor: "Extractors",
  Operator: "Operators",
  Publisher: "Publishers",
  Composite: "Composite",
};

interface Props {
  classes: FilterClass[];
  disabled: boolean;
  onAdd: (cls: string) => void;
}

function matches(cls: FilterClass, query: string): boolean {
  if (!query) return true;
  const q = query.toLowerCase();
  return cls.class.toLowerCase().includes(q) || cls.type.toLowerCase().includes(q) || cls.doc.toLowerCase().includes(q);
}

export function Palette({ classes, disabled, onAdd }: Props) {
  const [query, setQuery] = useState("");
  const [hovered, setHovered] = useState<FilterClass | null>(null);
  const groups = useMemo(() => {
    const types = [...TYPES, ...new Set(classes.map((c) => c.type).filter((t) => !TYPES.includes(t)))];
    return types
      .map((type) => ({ type, items: classes.filter((c) => c.type === type && matches(c, query.trim())) }))
      .filter((g) => g.items.length > 0);
  }, [classes, query]);

  const onDragStart = (event: DragEvent, cls: string) => {
    event.dataTransfer.setData(CLASS_MIME, cls);
    event.dataTransfer.setData("text/plain", cls);
    event.dataTransfer.effectAllowed = "copy";
  };

  return (
    <aside className={`palette${disabled ? " disabled" : ""}`} data-testid="palette">
      <input
        className="palette-search"
        type="search"
        placeholder="Search components…"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        data-testid="palette-search"
        aria-label="Search components"
      />
      {groups.length === 0 && <p className="muted">{classes.length ? "No match." : "Loading…"}</p>}
      {groups.map((g) => (
        <section key={g.type} className="palette-group" data-testid={`palette-group-${g.type}`}>
          <h3>{GROUP_TITLES[g.type] ?? g.type}</h3>
          {g.items.map((c) => (
            <div
              key={c.class}
              className={`palette-item type-${c.type.toLowerCase()}`}
              draggable={!disabled}
              onDragStart={(e) => onDragStart(e, c.class)}
              onDoubleClick={() => !disabled && onAdd(c.class)}
              onMouseEnter={() => setHovered(c)}
              onMouseLeave={() => setHovered((h) => (h === c ? null : h))}
              title={c.doc || c.class}
              data-testid={`palette-${c.class}`}
            >
              <span className="palette-name">{c.class}</span>
              {c.doc && <span className="palette-doc">{c.doc.split("\n")[0]}</span>}
            </div>
          ))}
        </section>
      ))}
      {hovered && (
        <div className="palette-tip" data-testid="palette-doc">
          <strong>{hovered.class}</strong> <span className="muted">{hovered.type}</span>
          <pre>{hovered.doc || "(no description)"}</pre>
          <div className="muted">
            in: {hovered.inputs.map((p) => p.name).join(", ") || "—"} · out: {hovered.outputs.map((p) => p.name).join(", ") || "—"}
          </div>
        </div>
      )}
    </aside>
  );
}

/**
 * The inspector: the selected component's params as a form generated from its class's
 * `params_schema` (Save → PUT /filters/{id}; a 422 shows beside the field), its ports
 * and live figures; or the selected wire.
 */
import { Fragment, useEffect, useMemo, useState, type FormEvent } from "react";
import { api, ApiError } from "./api";
import { ParamField } from "./ParamField";
import { fieldErrors, fieldsOf, parseTexts, toText, type Field } from "./paramsSchema";
import type { ComponentSpec, ComponentStats, FilterClass, Graph, Stats, WireSpec } from "./types";
import type { Selection } from "./Canvas";

const STANDARD_STATS = new Set(["class", "type", "state", "reason", "in", "out", "errors", "queued", "last_error"]);

interface Props {
  selection: Selection | null;
  graph: Graph;
  classes: Map<string, FilterClass>;
  stats: Stats | null;
  readOnly: boolean;
  onChanged: () => void;
  onDelete: (nodeIds: string[], wireIds: string[]) => void;
  onOpen: (id: string) => void;
}

export function Inspector(props: Props) {
  const { selection, graph } = props;
  if (!selection) return null;
  if (selection.kind === "edge") {
    const wire = graph.wires.find((w) => w.id === selection.id);
    return wire ? <WireInspector wire={wire} {...props} /> : null;
  }
  const spec = graph.components.find((c) => c.id === selection.id);
  return spec ? <ComponentInspector key={spec.id} spec={spec} {...props} /> : null;
}

function WireInspector({ wire, stats, readOnly, onDelete }: Props & { wire: WireSpec }) {
  const live = stats?.wires?.[wire.id];
  return (
    <aside className="inspector" data-testid="inspector">
      <h2>Wire {wire.id}</h2>
      <p>
        <code>
          {wire.from[0]}.{wire.from[1]}
        </code>{" "}
        →{" "}
        <code>
          {wire.to[0]}.{wire.to[1]}
        </code>
      </p>
      {live && (
        <p className="muted">
          queued {live.queued} of {live.capacity}
        </p>
      )}
      {!readOnly && (
        <button className="danger" onClick={() => onDelete([], [wire.id])} data-testid="delete-wire">
          Delete wire
        </button>
      )}
    </aside>
  );
}

function initialTexts(fields: Field[], params: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    fields.map((f) => {
      const value = f.name in params ? params[f.name] : f.default;
      return [f.name, toText(f, value)];
    }),
  );
}

function ComponentInspector({ spec, classes, stats, readOnly, onChanged, onDelete, onOpen }: Props & { spec: ComponentSpec }) {
  const cls = classes.get(spec.class);
  const fields = useMemo(() => fieldsOf(cls?.params_schema), [cls]);
  const serverParams = JSON.stringify(spec.params ?? {});
  const [texts, setTexts] = useState(() => initialTexts(fields, spec.params ?? {}));
  const [dirty, setDirty] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState(false);

  // Take the server's params when they change underneath us, unless the user is editing.
  useEffect(() => {
    if (!dirty) setTexts(initialTexts(fields, JSON.parse(serverParams) as Record<string, unknown>));
  }, [serverParams, fields, dirty]);

  const live: ComponentStats | undefined = readOnly ? undefined : stats?.components?.[spec.id];

  const edit = (name: string, text: string) => {
    setTexts((t) => ({ ...t, [name]: text }));
    setDirty(true);
    setSaved(false);
    setErrors((e) => {
      const { [name]: _gone, ...rest } = e;
      return rest;
    });
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const { params: edited, errors: local } = parseTexts(fields, texts);
    // Keep params the schema does not describe (the form only edits what it knows).
    const known = new Set(fields.flatMap((f) => [f.name, `has_${f.name}`]));
    const kept = Object.entries(spec.params ?? {}).filter(([k]) => !known.has(k));
    const params = { ...Object.fromEntries(kept), ...edited };
    setErrors(local);
    if (Object.keys(local).length) {
      setFormError("Fix the marked fields.");
      return;
    }
    setSaving(true);
    setFormError(null);
    try {
      await api.updateComponent(spec.id, { params });
      setDirty(false);
      setSaved(true);
      onChanged();
    } catch (err) {
      const message = (err as Error).message;
      setFormError(message);
      if (err instanceof ApiError) setErrors(fieldErrors(err.detail, message, fields.map((f) => f.name)));
    } finally {
      setSaving(false);
    }
  };

  const revert = () => {
    setTexts(initialTexts(fields, spec.params ?? {}));
    setDirty(false);
    setErrors({});
    setFormError(null);
  };

  return (
    <aside className="inspector" data-testid="inspector" data-component={spec.id}>
      <h2>
        {spec.id} <span className="muted">{spec.class}</span>
      </h2>
      {cls?.doc && <p className="doc">{cls.doc}</p>}
      {!cls && <p className="field-error">Unknown class {spec.class}: not in this server's palette.</p>}
      {live && (
        <dl className="live" data-testid="inspector-stats">
          <dt>state</dt>
          <dd>{live.state ?? "—"}</dd>
          {live.reason != null && (
            <>
              <dt>reason</dt>
              <dd>{String(live.reason)}</dd>
            </>
          )}
          <dt>in / out</dt>
          <dd>
            {live.in ?? 0} / {live.out ?? 0}
          </dd>
          <dt>errors</dt>
          <dd>{live.errors ?? 0}</dd>
          <dt>queued</dt>
          <dd>{live.queued ?? 0}</dd>
          {Object.entries(live)
            .filter(([k, v]) => !STANDARD_STATS.has(k) && v != null && typeof v !== "object")
            .map(([k, v]) => (
              <Fragment key={k}>
                <dt>{k.replace(/_/g, " ")}</dt>
                <dd>{String(v)}</dd>
              </Fragment>
            ))}
          {live.last_error && (
            <>
              <dt>last error</dt>
              <dd className="field-error">{live.last_error}</dd>
            </>
          )}
        </dl>
      )}
      <form onSubmit={save} data-testid="params-form">
        <h3>Parameters</h3>
        {fields.length === 0 && <p className="muted">This component has no parameters.</p>}
        {fields.map((f) => (
          <ParamField key={f.name} field={f} isSet={Boolean(spec.params?.[`has_${f.name}`])} text={texts[f.name] ?? ""} error={errors[f.name]} disabled={readOnly} onChange={(t) => edit(f.name, t)} />
        ))}
        {formError && (
          <div className="form-error" data-testid="inspector-error" role="alert">
            {formError}
          </div>
        )}
        {saved && !dirty && (
          <div className="saved" data-testid="inspector-saved">
            Saved.
          </div>
        )}
        {!readOnly && (
          <div className="buttons">
            <button type="submit" disabled={saving || fields.length === 0} data-testid="inspector-save">
              {saving ? "Saving…" : "Save"}
            </button>
            <button type="button" onClick={revert} disabled={!dirty}>
              Revert
            </button>
            <button type="button" className="danger" onClick={() => onDelete([spec.id], [])} data-testid="delete-component">
              Delete
            </button>
          </div>
        )}
      </form>
      {cls?.type === "Composite" && (
        <button type="button" onClick={() => onOpen(spec.id)} data-testid="open-subgraph">
          Open subgraph
        </button>
      )}
    </aside>
  );
}

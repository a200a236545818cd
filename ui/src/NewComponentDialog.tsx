/**
 * Asks for the params a class cannot do without (required, no default) before
 * `POST /filters`, since the server refuses an instance that lacks them.
 */
import { useMemo, useState, type FormEvent } from "react";
import { api, ApiError } from "./api";
import { ParamField } from "./ParamField";
import { fieldErrors, fieldsOf, parseTexts, requiredFields } from "./paramsSchema";
import type { FilterClass, Position } from "./types";

interface Props {
  cls: FilterClass;
  position: Position;
  onCreated: (id: string) => void;
  onCancel: () => void;
}

export function NewComponentDialog({ cls, position, onCreated, onCancel }: Props) {
  const fields = useMemo(() => requiredFields(fieldsOf(cls.params_schema)), [cls]);
  const [id, setId] = useState("");
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { params, errors: local } = parseTexts(fields, texts);
    setErrors(local);
    if (Object.keys(local).length) {
      setFormError("Fill in the marked fields.");
      return;
    }
    setBusy(true);
    try {
      const created = await api.createComponent(cls.class, position, params, id.trim() || undefined);
      onCreated(created.id);
    } catch (err) {
      const message = (err as Error).message;
      setFormError(message);
      if (err instanceof ApiError) setErrors(fieldErrors(err.detail, message, fields.map((f) => f.name)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="modal-backdrop">
      <form className="modal" onSubmit={submit} data-testid="new-component-dialog">
        <h2>New {cls.class}</h2>
        <p className="muted">It needs these parameters; the inspector edits the rest later.</p>
        <div className="param">
          <label htmlFor="new-id">Id</label>
          <input id="new-id" value={id} onChange={(e) => setId(e.target.value)} placeholder="(chosen by the server)" data-testid="new-id" />
        </div>
        {fields.map((f) => (
          <ParamField
            key={f.name}
            field={f}
            text={texts[f.name] ?? ""}
            error={errors[f.name]}
            disabled={busy}
            onChange={(t) => setTexts((x) => ({ ...x, [f.name]: t }))}
          />
        ))}
        {formError && (
          <div className="form-error" role="alert" data-testid="new-component-error">
            {formError}
          </div>
        )}
        <div className="buttons">
          <button type="submit" disabled={busy} data-testid="new-component-create">
            Create
          </button>
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}

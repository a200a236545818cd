/** One params field in the inspector, edited as text and parsed on save. */
import type { Field } from "./paramsSchema";

interface Props {
  field: Field;
  /** For a secret: whether the server holds a value (it shows `has_<name>` instead). */
  isSet?: boolean;
  text: string;
  error: string | undefined;
  disabled: boolean;
  onChange: (text: string) => void;
}

export function ParamField({ field, isSet, text, error, disabled, onChange }: Props) {
  const id = `param-${field.name}`;
  const common = { id, name: field.name, disabled, "data-testid": id, "aria-invalid": error ? true : undefined };
  let control;
  switch (field.kind) {
    case "boolean":
      control = <input type="checkbox" {...common} checked={text === "true"} onChange={(e) => onChange(e.target.checked ? "true" : "false")} />;
      break;
    case "choice":
      control = (
        <select {...common} value={text} onChange={(e) => onChange(e.target.value)}>
          {(field.nullable || !field.required) && text === "" && <option value="">(default)</option>}
          {field.choices.map((c) => (
            <option key={JSON.stringify(c)} value={JSON.stringify(c)}>
              {typeof c === "string" ? c : JSON.stringify(c)}
            </option>
          ))}
        </select>
      );
      break;
    case "integer":
    case "number":
      control = (
        <input type="number" step={field.kind === "integer" ? 1 : "any"} {...common} value={text} onChange={(e) => onChange(e.target.value)} />
      );
      break;
    case "secret":
      control = (
        <input
          type="password"
          autoComplete="off"
          {...common}
          value={text}
          placeholder={isSet ? "(set; leave blank to keep)" : "(not set)"}
          onChange={(e) => onChange(e.target.value)}
        />
      );
      break;
    case "json":
      control = <textarea rows={Math.min(14, Math.max(3, text.split("\n").length))} spellCheck={false} {...common} value={text} onChange={(e) => onChange(e.target.value)} />;
      break;
    default:
      control = (
        <input
          type="text"
          {...common}
          value={text}
          placeholder={field.kind === "list" ? "comma, separated, values" : undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      );
  }
  return (
    <div className={`param param-${field.kind}${error ? " has-error" : ""}`}>
      <label htmlFor={id}>
        {field.title}
        {field.required && <span className="required">*</span>}
        {field.kind === "list" && <span className="muted"> (list)</span>}
        {field.kind === "json" && <span className="muted"> (JSON)</span>}
      </label>
      {control}
      {field.description && <div className="param-help">{field.description}</div>}
      {error && (
        <div className="field-error" data-testid={`field-error-${field.name}`} role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

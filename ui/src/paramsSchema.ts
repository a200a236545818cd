/**
 * Turns a class's `params_schema` (pydantic's JSON Schema) into form fields, and a
 * field's text back into a value. Anything the form cannot edit well becomes JSON.
 */
import type { JsonSchema } from "./types";

export type FieldKind = "text" | "secret" | "number" | "integer" | "boolean" | "choice" | "list" | "json";

export interface Field {
  name: string;
  kind: FieldKind;
  title: string;
  description: string;
  required: boolean;
  nullable: boolean;
  choices: unknown[];
  default: unknown;
  hasDefault: boolean;
}

type Schema = { [key: string]: unknown };

function resolve(schema: unknown, root: Schema, depth = 0): Schema {
  if (!schema || typeof schema !== "object") return {};
  const s = schema as Schema;
  const ref = s.$ref;
  if (typeof ref === "string" && ref.startsWith("#/") && depth < 20) {
    let target: unknown = root;
    for (const part of ref.slice(2).split("/")) target = (target as Schema | undefined)?.[part];
    const { $ref: _ignored, ...rest } = s;
    return { ...resolve(target, root, depth + 1), ...rest };
  }
  return s;
}

/** Unwraps `anyOf: [X, {type: "null"}]` (an Optional field) into X plus nullable. */
function unwrapNullable(schema: Schema, root: Schema): { schema: Schema; nullable: boolean } {
  const variants = (schema.anyOf ?? schema.oneOf) as unknown[] | undefined;
  if (Array.isArray(variants)) {
    const resolved = variants.map((v) => resolve(v, root));
    const nonNull = resolved.filter((v) => v.type !== "null");
    if (nonNull.length === 1 && resolved.length === 2) {
      const { anyOf: _a, oneOf: _o, ...rest } = schema;
      return { schema: { ...nonNull[0], ...rest }, nullable: true };
    }
  }
  if (Array.isArray(schema.type) && schema.type.includes("null")) {
    const types = (schema.type as string[]).filter((t) => t !== "null");
    return { schema: { ...schema, type: types.length === 1 ? types[0] : types }, nullable: true };
  }
  return { schema, nullable: false };
}

function kindOf(schema: Schema, root: Schema): { kind: FieldKind; choices: unknown[] } {
  if (Array.isArray(schema.enum)) return { kind: "choice", choices: schema.enum };
  if ("const" in schema) return { kind: "choice", choices: [schema.const] };
  switch (schema.type) {
    case "string":
      return { kind: schema.writeOnly || schema.format === "password" ? "secret" : "text", choices: [] };
    case "integer":
      return { kind: "integer", choices: [] };
    case "number":
      return { kind: "number", choices: [] };
    case "boolean":
      return { kind: "boolean", choices: [] };
    case "array": {
      const items = resolve(schema.items, root);
      if (items.type === "string" && !Array.isArray(items.enum)) return { kind: "list", choices: [] };
      return { kind: "json", choices: [] };
    }
    default:
      return { kind: "json", choices: [] };
  }
}

/** The editable fields of a params schema, in declaration order. */
export function fieldsOf(paramsSchema: JsonSchema | undefined): Field[] {
  const root = resolve(paramsSchema ?? {}, (paramsSchema ?? {}) as Schema);
  const properties = (root.properties ?? {}) as Record<string, unknown>;
  const required = new Set(Array.isArray(root.required) ? (root.required as string[]) : []);
  return Object.entries(properties).map(([name, raw]) => {
    const { schema, nullable } = unwrapNullable(resolve(raw, root), root);
    const { kind, choices } = kindOf(schema, root);
    return {
      name,
      kind,
      title: typeof schema.title === "string" ? schema.title : name,
      description: typeof schema.description === "string" ? schema.description : "",
      required: required.has(name),
      nullable,
      choices,
      default: schema.default,
      hasDefault: "default" in schema,
    };
  });
}

/** The text a field shows for a value (a list is comma-separated, JSON is pretty). */
export function toText(field: Field, value: unknown): string {
  if (value === undefined || value === null || field.kind === "secret") return "";
  switch (field.kind) {
    case "list":
      return Array.isArray(value) ? value.join(", ") : String(value);
    case "json":
      return JSON.stringify(value, null, 2);
    case "choice":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    default:
      return String(value);
  }
}

/**
 * The value for a field's text; `undefined` means "leave it out" (the server's default).
 * Throws an Error with a message for the user when the text is not a valid value.
 */
export function fromText(field: Field, text: string): unknown {
  const blank = text.trim() === "";
  if (field.kind === "secret") return blank ? undefined : text; // blank keeps the server's value
  if (blank && field.kind !== "text" && field.kind !== "boolean") {
    return field.nullable && !field.hasDefault ? null : undefined;
  }
  switch (field.kind) {
    case "text":
      return blank && field.nullable ? null : text;
    case "integer": {
      const n = Number(text);
      if (!Number.isInteger(n)) throw new Error("must be a whole number");
      return n;
    }
    case "number": {
      const n = Number(text);
      if (!Number.isFinite(n)) throw new Error("must be a number");
      return n;
    }
    case "boolean":
      return text === "true";
    case "choice":
      return JSON.parse(text);
    case "list":
      return text
        .split(/[,\n]/)
        .map((s) => s.trim())
        .filter((s) => s !== "");
    case "json":
      try {
        return JSON.parse(text);
      } catch (err) {
        throw new Error(`not valid JSON: ${(err as Error).message}`);
      }
  }
}

/** Which field a server validation message is about, if any (422 detail formats vary). */
export function fieldErrors(detail: unknown, message: string, names: string[]): Record<string, string> {
  const found: Record<string, string> = {};
  const add = (name: string, text: string) => {
    if (names.includes(name) && !found[name]) found[name] = text;
  };
  const items = Array.isArray(detail) ? detail : detail != null ? [detail] : [];
  for (const item of items) {
    if (item && typeof item === "object") {
      const o = item as { loc?: unknown[]; field?: unknown; msg?: unknown; message?: unknown };
      const text = String(o.msg ?? o.message ?? message);
      if (typeof o.field === "string") add(o.field, text);
      for (const part of o.loc ?? []) if (typeof part === "string") add(part, text);
    } else if (typeof item === "string") {
      for (const name of mentioned(item, names)) add(name, item);
    }
  }
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    for (const [key, value] of Object.entries(detail as Record<string, unknown>)) {
      if (typeof value === "string") add(key, value);
    }
  }
  if (!Object.keys(found).length) for (const name of mentioned(message, names)) add(name, message);
  return found;
}

/** Field names a message is about: quoted ones ('case', "case", params.case) first, else bare words. */
function mentioned(text: string, names: string[]): string[] {
  const escape = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const quoted = names.filter((n) => new RegExp(`['"\`.]${escape(n)}(['"\`]|\\b)`).test(text));
  if (quoted.length) return quoted;
  return names.filter((n) => new RegExp(`(^|[^A-Za-z0-9_])${escape(n)}([^A-Za-z0-9_]|$)`).test(text));
}

/** Fields the server needs a value for because the schema gives no default. */
export function requiredFields(fields: Field[]): Field[] {
  return fields.filter((f) => f.required && !f.hasDefault);
}

/** Parses every field's text into a params object, or says which fields are wrong. */
export function parseTexts(fields: Field[], texts: Record<string, string>): { params: Record<string, unknown>; errors: Record<string, string> } {
  const params: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    try {
      const value = fromText(f, texts[f.name] ?? "");
      if (value !== undefined) params[f.name] = value;
      else if (f.required && !f.hasDefault) errors[f.name] = "required";
    } catch (err) {
      errors[f.name] = (err as Error).message;
    }
  }
  return { params, errors };
}

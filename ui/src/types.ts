/** The shapes of the Pypes HTTP API (DESIGN.md §6 and §7) that the editor reads. */

export interface Port {
  name: string;
  doc: string;
}

export type JsonSchema = { [key: string]: unknown };

export interface FilterClass {
  class: string;
  type: string;
  doc: string;
  inputs: Port[];
  outputs: Port[];
  params_schema: JsonSchema;
}

export type Position = [number, number];

export interface ComponentSpec {
  id: string;
  class: string;
  params: Record<string, unknown>;
  position: Position;
}

export type Endpoint = [string, string];

export interface WireSpec {
  id: string;
  from: Endpoint;
  to: Endpoint;
}

export interface Graph {
  pypes: number;
  name: string;
  rev?: number;
  components: ComponentSpec[];
  wires: WireSpec[];
}

export interface ComponentStats {
  class?: string;
  type?: string;
  state?: string;
  in?: number;
  out?: number;
  errors?: number;
  queued?: number;
  last_error?: string | null;
  reason?: string | null;
  [extra: string]: unknown;
}

export interface Stats {
  rev?: number;
  components: Record<string, ComponentStats>;
  wires?: Record<string, { queued: number; capacity: number }>;
}

export interface DocsResult {
  accepted: number;
  processed?: number;
  errors?: unknown;
  results?: unknown[];
  [extra: string]: unknown;
}

/** The palette groups, in the order the palette shows them. */
export const TYPES = ["Adapter", "Transformer", "Filter", "Extractor", "Operator", "Publisher", "Composite"];

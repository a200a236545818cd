/**
 * The REST client: every editor action is one of these calls, relative to the page's
 * origin. A 401 asks the user for a bearer token (kept in localStorage) and retries.
 */
import type { ComponentSpec, DocsResult, FilterClass, Graph, Position, Stats, WireSpec } from "./types";

const TOKEN_KEY = "pypes.token";

/** A 4xx/5xx answer: `error` is the server's message, `detail` whatever it added. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly detail: unknown,
  ) {
    super(describe(error, detail));
  }
}

function describe(error: string, detail: unknown): string {
  if (detail == null || detail === "" || detail === error) return error;
  if (typeof detail === "string") return `${error}: ${detail}`;
  if (Array.isArray(detail) && detail.every((d) => typeof d === "string")) {
    const extra = detail.filter((d) => !error.includes(d));
    return extra.length ? `${error}: ${extra.join("; ")}` : error;
  }
  return `${error}: ${JSON.stringify(detail)}`;
}

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage may be disabled; the token then lasts for this page only */
  }
  memoryToken = token;
}

let memoryToken: string | null = getToken();
let askToken: (() => Promise<string | null>) | null = null;
let pendingAsk: Promise<string | null> | null = null;

/** The UI registers how to ask the user for a token when the server answers 401. */
export function onUnauthorized(ask: () => Promise<string | null>): void {
  askToken = ask;
}

async function tokenFromUser(): Promise<string | null> {
  if (!askToken) return null;
  pendingAsk ??= askToken().finally(() => {
    pendingAsk = null;
  });
  const token = await pendingAsk;
  if (token) setToken(token);
  return token;
}

export function authHeaders(): Record<string, string> {
  return memoryToken ? { Authorization: `Bearer ${memoryToken}` } : {};
}

/** fetch with the token; on 401 asks for a new one and tries again. */
export async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const headers = { ...(init.headers as Record<string, string>), ...authHeaders() };
    const response = await fetch(path, { ...init, headers });
    if (response.status !== 401) return response;
    const token = await tokenFromUser();
    if (!token) return response;
  }
}

async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const init: RequestInit = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    if (typeof body === "string") {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    }
  }
  const response = await authorizedFetch(path, init);
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const obj = (data && typeof data === "object" ? data : {}) as { error?: string; detail?: unknown };
    const message = obj.error ?? (typeof data === "string" && data ? data : `${response.status} ${response.statusText}`);
    throw new ApiError(response.status, message, obj.detail ?? null);
  }
  return data as T;
}

export const api = {
  classes: () => call<FilterClass[]>("GET", "/filters"),
  graph: () => call<Graph>("GET", "/graph"),
  replaceGraph: (graph: unknown) => call<Graph>("PUT", "/graph", graph),
  createComponent: (cls: string, position: Position, params?: Record<string, unknown>, id?: string) =>
    call<ComponentSpec>("POST", "/filters", { class: cls, position, ...(params ? { params } : {}), ...(id ? { id } : {}) }),
  updateComponent: (id: string, change: { params?: Record<string, unknown>; position?: Position }) =>
    call<ComponentSpec>("PUT", `/filters/${encodeURIComponent(id)}`, change),
  deleteComponent: (id: string) => call<unknown>("DELETE", `/filters/${encodeURIComponent(id)}`),
  createWire: (from: [string, string], to: [string, string]) => call<WireSpec>("POST", "/wires", { from, to }),
  deleteWire: (id: string) => call<unknown>("DELETE", `/wires/${encodeURIComponent(id)}`),
  stats: () => call<Stats>("GET", "/stats"),
  sendDocs: (body: string, contentType: string) =>
    call<DocsResult>("POST", "/docs?wait=true", body, { "Content-Type": contentType }),
};

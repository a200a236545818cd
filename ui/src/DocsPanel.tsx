/**
 * "Send documents": paste JSON (an object or an array) or NDJSON, or pick a file, and
 * POST it to /docs?wait=true; shows what reached the Collect publishers and the errors.
 */
import { useRef, useState, type ChangeEvent } from "react";
import { api } from "./api";
import type { DocsResult } from "./types";

const EXAMPLE = '{"text": "Write to Alice@Example.com"}';

/** JSON when the whole text parses, else NDJSON (one document per line). */
export function contentTypeOf(text: string): string {
  try {
    JSON.parse(text);
    return "application/json";
  } catch {
    return "application/x-ndjson";
  }
}

export function DocsPanel({ onClose, onSent }: { onClose: () => void; onSent: () => void }) {
  const [text, setText] = useState(EXAMPLE);
  const [sending, setSending] = useState(false);
  const [result, setResult] = useState<DocsResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const send = async () => {
    setSending(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.sendDocs(text, contentTypeOf(text)));
      onSent();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setSending(false);
    }
  };

  const pick = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (file) setText(await file.text());
    event.target.value = "";
  };

  const errors = result?.errors;
  const errorList = Array.isArray(errors) ? errors : [];
  const errorCount = typeof errors === "number" ? errors : errorList.length;

  return (
    <section className="docs-panel" data-testid="docs-panel">
      <header>
        <h2>Send documents</h2>
        <button type="button" className="close" onClick={onClose} aria-label="Close">
          ×
        </button>
      </header>
      <p className="muted">A JSON object, a JSON array (one document per element) or NDJSON (one per line).</p>
      <textarea value={text} onChange={(e) => setText(e.target.value)} rows={7} spellCheck={false} data-testid="docs-input" />
      <div className="buttons">
        <button type="button" onClick={send} disabled={sending || !text.trim()} data-testid="docs-send">
          {sending ? "Sending…" : "Send"}
        </button>
        <button type="button" onClick={() => fileInput.current?.click()}>
          From file…
        </button>
        <input ref={fileInput} type="file" accept=".json,.ndjson,.jsonl,application/json" hidden onChange={pick} data-testid="docs-file" />
        <span className="muted">{contentTypeOf(text) === "application/json" ? "JSON" : "NDJSON"}</span>
      </div>
      {error && (
        <div className="form-error" data-testid="docs-error" role="alert">
          {error}
        </div>
      )}
      {result && (
        <div className="docs-results" data-testid="docs-results">
          <p data-testid="docs-summary">
            accepted <b>{result.accepted}</b> · processed <b>{result.processed ?? "—"}</b> · errors <b>{errorCount}</b>
          </p>
          {errorList.length > 0 && (
            <pre className="field-error" data-testid="docs-errors">
              {errorList.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join("\n")}
            </pre>
          )}
          <h3>Results ({result.results?.length ?? 0})</h3>
          <pre data-testid="docs-result-list">{(result.results ?? []).map((d) => JSON.stringify(d)).join("\n") || "(none reached a Collect publisher)"}</pre>
        </div>
      )}
    </section>
  );
}

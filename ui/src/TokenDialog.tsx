/** Asks for a bearer token when the server answers 401; the token is kept in localStorage. */
import { useState, type FormEvent } from "react";

export function TokenDialog({ onDone }: { onDone: (token: string | null) => void }) {
  const [token, setToken] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onDone(token.trim() || null);
  };
  return (
    <div className="modal-backdrop">
      <form className="modal" onSubmit={submit} data-testid="token-dialog">
        <h2>This server needs a token</h2>
        <p className="muted">It is sent as <code>Authorization: Bearer …</code> and kept in this browser.</p>
        <input type="password" autoFocus value={token} onChange={(e) => setToken(e.target.value)} placeholder="token" data-testid="token-input" />
        <div className="buttons">
          <button type="submit" data-testid="token-submit">
            Use token
          </button>
          <button type="button" onClick={() => onDone(null)}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}
